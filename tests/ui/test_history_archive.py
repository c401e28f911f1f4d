"""The TUI's history: weekly and monthly groupings, and sessions whose transcript Claude Code deleted (kept,
marked; hidden from the live dashboard; the detail says what is no longer available)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from textual.pilot import Pilot
from textual.widgets import DataTable, Select, Static

from ctxtop.services.monitor import Monitor
from ctxtop.ui.app import CtxtopApp
from ctxtop.ui.screens.history import HistoryScreen
from tests.ui.conftest import World, loaded, wait_for
from tests.ui.test_screens import SID


def delete_a_transcript(world: World) -> None:
    """Index the fixtures, then delete one session's transcript as Claude Code's cleanup would."""
    monitor = Monitor.open([str(world.claude)], str(world.api_logs), str(world.cache_dir))
    monitor.refresh()
    monitor.index.close()
    next(world.claude.glob(f"projects/*/{SID}.jsonl")).unlink()


async def open_history(pilot: Pilot, app: CtxtopApp) -> HistoryScreen:
    """Press ``h`` and wait for the history's first load."""
    await pilot.press("h")
    screen = app.screen
    assert isinstance(screen, HistoryScreen)
    await wait_for(pilot, lambda: screen.message is not None)
    return screen


def report(world: World, kind: str, *options: str) -> list[dict]:
    """The CLI's report from the same index as the app (it holds the deleted session's history)."""
    out = subprocess.run(
        [sys.executable, "-m", "ctxtop", "report", kind, "--json", *options, "--claude-dir", str(world.claude),
         "--data-dir", str(world.cache_dir)],
        capture_output=True, text=True, check=True, env={**os.environ, **world.env},
    )  # fmt: skip
    return json.loads(out.stdout)


async def test_history_weekly_monthly_and_a_deleted_transcript(world: World) -> None:
    delete_a_transcript(world)
    app = world.app()
    async with app.run_test(size=(120, 36)) as pilot:
        await loaded(pilot, app, 2)
        await pilot.pause(0.3)
        assert SID not in {v.stats.session_id for v in app.views.values()} and len(app.views) == 2
        screen = await open_history(pilot, app)
        rows = {r["_key"]: r for r in screen.rows}
        assert len(rows) == 3 and rows[SID]["project"].endswith(" · transcript deleted")
        assert sum(1 for r in rows.values() if r["project"].endswith("transcript deleted")) == 1
        for group, label in (("week", "week"), ("month", "month")):
            screen.query_one("#group", Select).value = group
            await wait_for(pilot, lambda g=group: screen.message.group_by == g)
            await pilot.pause()
            want = {r[label]: r["cost_usd"] for r in report(world, f"{group}ly")}
            assert {r["_key"]: r["_export"]["cost_usd"] for r in screen.rows} == want
            assert screen.query_one("#history", DataTable).row_count == len(want)
        app.open_detail(SID)
        await wait_for(pilot, lambda: type(app.screen).__name__ == "DetailScreen")
        detail = app.screen
        await wait_for(pilot, lambda: detail.message is not None)
        await pilot.pause()
        text = str(detail.query_one("#tools", Static).render())
        assert "Transcript deleted" in text and "no longer available" in text


async def test_the_history_hides_and_shows_archived_sessions_with_a_key(world: World) -> None:
    # Shown and marked by default; `a` leaves the archived requests out (the numbers of
    # `report --present-only`), the footer says what the key does next, and `a` again brings them back.
    delete_a_transcript(world)
    app = world.app()
    async with app.run_test(size=(120, 36)) as pilot:
        await loaded(pilot, app, 2)
        screen = await open_history(pilot, app)

        def footer() -> set[str]:
            return {b.binding.description for b in screen.active_bindings.values() if b.binding.show}

        assert {r["_key"] for r in screen.rows} == {s["session_id"] for s in report(world, "sessions")}
        assert len(screen.rows) == 3 and "Hide archived" in footer() and "Show archived" not in footer()
        await pilot.press("a")
        await wait_for(pilot, lambda: screen.message.present_only)
        await pilot.pause()
        present = report(world, "sessions", "--present-only")
        assert {r["_key"] for r in screen.rows} == {s["session_id"] for s in present} and len(present) == 2
        assert SID not in {r["_key"] for r in screen.rows}
        assert {r["_key"]: r["_export"]["cost_usd"] for r in screen.rows} == {
            s["session_id"]: s["cost_usd"] for s in present
        }
        assert screen.query_one("#history", DataTable).row_count == 2
        assert "archived hidden" in str(screen.query_one("#totals", Static).render())
        assert "Show archived" in footer() and "Hide archived" not in footer()
        # Grouped, the totals are those of the report without the archive.
        screen.query_one("#group", Select).value = "day"
        await wait_for(pilot, lambda: screen.message.group_by == "day")
        await pilot.pause()
        want = {r["date"]: r["cost_usd"] for r in report(world, "daily", "--present-only")}
        assert {r["_key"]: r["_export"]["cost_usd"] for r in screen.rows} == want
        assert want != {r["date"]: r["cost_usd"] for r in report(world, "daily")}
        # The choice is kept for the next time the history opens, and `a` shows the archive again.
        await pilot.press("escape")
        screen = await open_history(pilot, app)
        assert screen.present_only
        await pilot.press("a")
        await wait_for(pilot, lambda: not screen.message.present_only)
        await pilot.pause()
        want = {r["date"]: r["cost_usd"] for r in report(world, "daily")}
        assert {r["_key"]: r["_export"]["cost_usd"] for r in screen.rows} == want
        assert "Hide archived" in footer()
