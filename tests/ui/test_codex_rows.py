"""Codex sessions in the TUI: their rows carry the report's numbers, they follow a growing rollout, and the
Claude Code features (notes, Compact now, the threshold) say they do not apply instead of misbehaving."""

from __future__ import annotations

import shutil
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest

from ctxtop.core.pricing import fmt_usd
from ctxtop.services.monitor import Monitor
from ctxtop.ui.widgets.gauge import Gauge
from ctxtop.ui.widgets.session_table import SessionTable
from tests.sources.codex.expected import CODEX_HOME, COST, FILES, TOKENS, A
from tests.ui.conftest import World, loaded, wait_for

# Half an hour after session A's last event (2026-11-20 09:20 UTC): A is the one active session.
NOW = datetime.fromisoformat("2026-11-20T09:50:00+00:00").timestamp()


class CodexWorld(World):
    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.codex = root / "codex"

    def factory(self):  # type: ignore[no-untyped-def]
        def make(config):  # type: ignore[no-untyped-def]
            return Monitor.open([str(self.claude)], str(self.api_logs), str(self.cache_dir), config,
                                codex_dirs=[str(self.codex)])  # fmt: skip

        return make


@pytest.fixture
def codex_world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CodexWorld:
    w = CodexWorld(tmp_path)
    w.claude.mkdir()
    rel = FILES[A]
    (w.codex / rel).parent.mkdir(parents=True)
    shutil.copyfile(CODEX_HOME / rel, w.codex / rel)
    for key, value in w.env.items():
        monkeypatch.setenv(key, value)
    return w


async def test_codex_row_follows_the_rollout_and_refuses_claude_features(codex_world: CodexWorld) -> None:
    path = codex_world.codex / FILES[A]
    lines = path.read_bytes().splitlines(keepends=True)
    # Up to the end of the first turn: two of A's three responses.
    cut = next(n for n, raw in enumerate(lines) if b"2026-11-20T09:20:11" in raw)
    path.write_bytes(b"".join(lines[:cut]))
    app = codex_world.app(watch=True, clock=lambda: NOW)
    async with app.run_test(size=(120, 36)) as pilot:
        await loaded(pilot, app, 1)
        view = app.views[A]
        assert (view.stats.source, view.stats.requests) == ("codex", 2)
        table = app.screen.query_one(SessionTable)
        assert A in table._order
        assert app.titles[A] == "list the failing tests"  # the first request typed, not Codex's own context
        # Codex finishes the second turn: the row follows.
        with path.open("ab") as fh:
            fh.write(b"".join(lines[cut:]))
        await wait_for(pilot, lambda: app.views[A].stats.requests == TOKENS[A][0])
        await pilot.pause()
        view = app.views[A]
        assert (view.stats.tokens.input, view.stats.tokens.output, view.stats.tokens.cache_read) == TOKENS[A][
            1:4
        ]
        assert view.window == 258400 and view.threshold_tokens is None and view.compaction.compact_at is None
        cells = [cell.plain for cell in table.get_row(A)]
        assert fmt_usd(COST[A]) in cells and "gpt-5-cod" in " ".join(cells)  # clipped to the column
        assert f"{10100 / 258400 * 100:.0f}%" in " ".join(cells)
        # Notes and Compact now are Claude Code's: a notice, no screen.
        screens = len(app.screen_stack)
        await pilot.press("n")
        await pilot.press("c")
        await pilot.pause()
        assert len(app.screen_stack) == screens
        notices = [n.message for n in app._notifications]
        assert sum("Codex compacts by itself" in m for m in notices) == 2
        # The detail view opens, with the window Codex recorded and no threshold.
        await pilot.press("enter")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "DetailScreen")
        await wait_for(pilot, lambda: app.screen.query_one(Gauge).view is not None)
        gauge = app.screen.query_one(Gauge)
        legend = gauge.legend(gauge.view).plain
        assert (
            "Codex compacts by itself" in legend and "threshold" not in legend and "Claude Code" not in legend
        )
        assert Decimal(str(view.stats.cost_usd)) == COST[A]
