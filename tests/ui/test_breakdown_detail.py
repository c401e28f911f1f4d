"""The detail screen's breakdown: the bar of what fills the window, the costliest re-reads, per-tool totals,
showing the figures ``ctxtop report context`` prints (one function behind both)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from decimal import Decimal
from typing import Any

from rich.console import Console

from ctxtop.core import format as fmt
from ctxtop.ui.widgets.breakdown_bar import BreakdownBar
from tests.support.fixtures import scenario
from tests.ui.conftest import World, loaded, wait_for

SID = scenario("refactor").session_id


def _report(world: World, *args: str) -> Any:
    out = subprocess.run(
        [sys.executable, "-m", "ctxtop", "report", *args, "--json", "--claude-dir", str(world.claude),
         "--cache-dir", str(world.root / "report-cache")],
        capture_output=True, text=True, check=True, env={**os.environ, **world.env},
    )  # fmt: skip
    return json.loads(out.stdout)


def _text(renderable: object) -> str:
    console = Console(width=120, record=True, file=io.StringIO())
    console.print(renderable)
    return console.export_text()


async def test_detail_breaks_the_window_down_as_the_report_does(world: World) -> None:
    doc = _report(world, "context", SID)
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


async def test_detail_compactions_panel_scores_what_survived(world: World) -> None:
    app = world.app()
    async with app.run_test(size=(120, 36)) as pilot:
        await loaded(pilot, app, 3)
        app.open_detail(SID)
        await wait_for(pilot, lambda: getattr(app.screen, "message", None) is not None)
        await pilot.pause()
        [r] = app.screen.message.retention
        panel = _text(app.screen.query_one("#compactions").content)
        # The refactor session's generic summary drops the open task; the re-attached files keep models.py.
        assert r.score in panel and "lost task: Refactor inventory records to dataclasses" in panel
        assert r.lost_open_tasks and any(f.text.endswith("models.py") for f, _ in r.kept)


async def test_a_compaction_that_lost_an_open_task_alerts(world: World) -> None:
    # The refactor session, written up to just before its compaction; then the rest arrives while ctxtop runs.
    path = world.claude / scenario("refactor").relpath()
    lines = path.read_bytes().splitlines(keepends=True)
    cut = next(i for i, line in enumerate(lines) if b'"compact_boundary"' in line)
    path.write_bytes(b"".join(lines[:cut]))
    app = world.app(watch=True)
    async with app.run_test(size=(120, 36)) as pilot:
        await loaded(pilot, app, 3)
        assert not app.alert_log
        with path.open("ab") as fh:
            fh.write(b"".join(lines[cut:]))
        await wait_for(pilot, lambda: any("lost 1 open task" in a for a in app.alert_log))
        [alert] = [a for a in app.alert_log if "lost" in a]
        assert "Refactor inventory records to dataclasses" in alert and "kept 2 of 3" in alert
        assert "ctxtop claude install" in alert  # the fixture ran without ctxtop's hooks


async def test_history_groups_rereads_by_tool_as_report_tools_does(world: World) -> None:
    from textual.widgets import DataTable, Select

    from ctxtop.ui.screens.history import HistoryScreen

    want = _report(world, "tools")
    app = world.app()
    async with app.run_test(size=(120, 36)) as pilot:
        await loaded(pilot, app, 3)
        await pilot.press("h")
        screen = app.screen
        assert isinstance(screen, HistoryScreen)
        # The fixtures are older than the default 30 days: widen the range.
        screen.query_one("#since").value = "2020-01-01"
        screen.query_one(Select).value = "tool"
        await wait_for(pilot, lambda: screen.message is not None and screen.message.group_by == "tool"
                       and screen.rows)  # fmt: skip
        assert [r["_export"] for r in screen.rows] == want
        assert screen.query_one("#history", DataTable).row_count == len(want)
        # Enter drills into the project's sessions.
        await pilot.press("enter")
        await wait_for(pilot, lambda: screen.group_by == "session" and screen.message.group_by == "session")
        assert screen.drill == ("project", want[0]["project"])
        await pilot.press("escape")  # back to the tool grouping it came from
        await wait_for(pilot, lambda: screen.group_by == "tool" and screen.message.group_by == "tool")
