"""The detail screen's breakdown: the bar of what fills the window, the costliest re-reads, per-tool totals,
showing the figures ``ctxtop report context`` prints (one function behind both)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from decimal import Decimal

from rich.console import Console

from ctxtop.core import format as fmt
from ctxtop.ui.widgets.breakdown_bar import BreakdownBar
from tests.support.fixtures import scenario
from tests.ui.conftest import World, loaded, wait_for

SID = scenario("refactor").session_id


def _text(renderable: object) -> str:
    console = Console(width=120, record=True, file=io.StringIO())
    console.print(renderable)
    return console.export_text()


async def test_detail_breaks_the_window_down_as_the_report_does(world: World) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "ctxtop", "report", "context", SID, "--json", "--claude-dir", str(world.claude),
         "--cache-dir", str(world.root / "report-cache")],
        capture_output=True, text=True, check=True, env={**os.environ, **world.env},
    )  # fmt: skip
    doc = json.loads(out.stdout)
    app = world.app()
    async with app.run_test(size=(120, 36)) as pilot:
        await loaded(pilot, app, 3)
        app.open_detail(SID)
        await wait_for(pilot, lambda: getattr(app.screen, "message", None) is not None)
        await pilot.pause()
        screen = app.screen
        bar = screen.query_one(BreakdownBar)
        assert bar.breakdown is not None
        assert sum(bar.breakdown.by_kind().values()) == screen.message.view.stats.context_tokens
        assert bar.breakdown.by_kind() == doc["by_kind"]
        drawn = _text(bar.render())
        assert "█" in drawn and "tool results" in drawn
        costliest = _text(screen.query_one("#costliest").content)
        top = doc["items"][0]
        assert top["group"] in costliest and fmt.usd(Decimal(top["reread_cost_usd"]), 4) in costliest
        assert fmt.usd(Decimal(doc["reread_cost_usd"]), 4) in costliest
        per_tool = _text(screen.query_one("#per-tool").content)
        assert "Bash" in per_tool and "Read" in per_tool
