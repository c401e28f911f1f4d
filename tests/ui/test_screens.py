"""History, notes, compact now, the indexing progress bar and the no-terminal fallback."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys

from textual.widgets import DataTable, Input, ProgressBar

from ctxtop.adapters import notes_store
from ctxtop.ui.messages import IndexProgressed
from ctxtop.ui.screens.history import GROUPS, HistoryScreen
from ctxtop.ui.screens.notes import NotesScreen
from tests.support.fixtures import scenario
from tests.ui.conftest import FIXED_NOW, World, loaded, wait_for

SID = scenario("refactor").session_id


def report(world: World, kind: str) -> list[dict]:
    out = subprocess.run(
        [sys.executable, "-m", "ctxtop", "report", kind, "--json", "--claude-dir", str(world.claude),
         "--cache-dir", str(world.root / "report-cache")],
        capture_output=True, text=True, check=True, env={**os.environ, **world.env},
    )  # fmt: skip
    return json.loads(out.stdout)


async def test_history_groups_sorts_and_exports(world: World, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    app = world.app()
    async with app.run_test(size=(120, 36)) as pilot:
        await loaded(pilot, app, 3)
        await pilot.press("h")
        screen = app.screen
        assert isinstance(screen, HistoryScreen)
        await wait_for(pilot, lambda: screen.message is not None)
        table = screen.query_one("#history", DataTable)
        assert table.row_count == 3
        # Sort by cost (click-free: the `o` key cycles the sort column), then reverse.
        while screen.sort_column != "cost":
            await pilot.press("o")
        costs = [r["cost"] for r in screen.rows]
        shown = [str(k.value) for k in table.rows]
        assert shown == [r["_key"] for r in sorted(screen.rows, key=lambda r: r["cost"], reverse=True)]
        assert sorted(costs, reverse=True)
        await pilot.press("e")
        answer = app.screen.query_one("#answer", Input)
        answer.value = str(tmp_path / "sessions.json")
        await pilot.press("enter")
        await wait_for(pilot, lambda: (tmp_path / "sessions.json").exists())
        exported = json.loads((tmp_path / "sessions.json").read_text())
        assert [r["session_id"] for r in exported] == shown
        by_id = {r["session_id"]: r for r in report(world, "sessions")}
        assert all(r == by_id[r["session_id"]] for r in exported)
        # Group by day: the same totals as `ctxtop report daily`.
        await pilot.press("g")
        await wait_for(pilot, lambda: screen.group_by == "day" and screen.message.group_by == "day")
        await pilot.pause()
        await pilot.press("e")
        app.screen.query_one("#answer", Input).value = str(tmp_path / "days.csv")
        await pilot.press("enter")
        await wait_for(pilot, lambda: (tmp_path / "days.csv").exists())
        rows = list(csv.DictReader((tmp_path / "days.csv").open()))
        daily = report(world, "daily")
        assert {r["date"]: r["cost_usd"] for r in rows} == {d["date"]: d["cost_usd"] for d in daily}
        # Enter on a grouped row does not open a session; back to sessions, Enter opens the detail.
        for _ in range(len(GROUPS) - 1):
            await pilot.press("g")
        await wait_for(pilot, lambda: screen.group_by == "session" and screen.message.group_by == "session")
        await pilot.pause()
        screen.query_one("#history", DataTable).focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "DetailScreen")


async def test_notes_pin_and_edit(world: World) -> None:
    app = world.app()
    async with app.run_test(size=(120, 36)) as pilot:
        await loaded(pilot, app, 3)
        app.open_notes(SID)
        await wait_for(pilot, lambda: isinstance(app.screen, NotesScreen))
        screen = app.screen
        await wait_for(pilot, lambda: notes_store.load_notes(SID) is not None)
        field = screen.query_one("#new-pin", Input)
        field.focus()
        field.value = "Never touch the public API"
        await pilot.press("enter")
        await wait_for(pilot, lambda: screen.pins == ["Never touch the public API"])
        assert notes_store.load_pins(SID) == ["Never touch the public API"]
        assert "Never touch the public API" in (notes_store.load_notes(SID) or "")
        area = screen.query_one("#notes")
        area.load_text("my own notes\n")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: notes_store.load_notes(SID) == "my own notes\n")


async def test_indexing_progress_bar_shows_and_hides(world: World) -> None:
    app = world.app()
    async with app.run_test(size=(120, 36)) as pilot:
        await loaded(pilot, app, 3)
        box = app.screen.query_one("#indexing")
        app.post_message(IndexProgressed(3, 10, 5_000_000, 20_000_000))
        await wait_for(pilot, lambda: box.display)
        assert app.screen.query_one(ProgressBar).progress == 5_000_000
        await pilot.press("h")  # still interactive while indexing
        assert isinstance(app.screen, HistoryScreen)
        await pilot.press("escape")
        app.post_message(IndexProgressed(10, 10, 20_000_000, 20_000_000))
        await wait_for(pilot, lambda: not box.display)


def test_without_a_terminal_ctxtop_prints_the_sessions_report(world: World) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "ctxtop", "--claude-dir", str(world.claude)],
        capture_output=True, text=True, env={**os.environ, **world.env}, stdin=subprocess.DEVNULL, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0
    assert "not a terminal" in done.stderr
    assert SID[:8] in done.stdout


async def test_detail_shows_the_noise_the_filter_removed(world: World) -> None:
    from ctxtop.adapters import filter_log

    filter_log.append({"source": "post-tool-use", "session_id": SID, "command": "pytest -q", "raw_chars": 48210,
                       "raw_tokens": 13012, "filtered_chars": 2890, "filtered_tokens": 790}, now=FIXED_NOW - 2400)  # fmt: skip
    app = world.app()
    async with app.run_test(size=(120, 36)) as pilot:
        await loaded(pilot, app, 3)
        app.open_detail(SID)
        await wait_for(pilot, lambda: getattr(app.screen, "message", None) is not None)
        await pilot.pause()
        noise = app.screen.query_one("#noise")
        assert noise.display
        from rich.console import Console

        console = Console(width=120, record=True, file=io.StringIO())
        console.print(noise.content)
        text = console.export_text()
    # The noise report's figures, not a raw/kept percentage: 48,210 chars would have reached the model as
    # Claude Code's preview (round(13,012 x 2,000 / 48,210) + 40 = 580 tokens), so filtering cost 210 tokens.
    from ctxtop.core.pricing import fmt_usd
    from ctxtop.services.noise import build_rows

    monitor = world.factory()(app.config)
    try:
        [row] = [r for r in build_rows(monitor.index) if r.session_id == SID]
    finally:
        monitor.close()
    assert row.removed_tokens == -210 and row.worth_usd is not None
    assert "pytest -q" in text and "13K" in text and "-210 (negative)" in text
    assert fmt_usd(row.worth_usd, 4) in text
