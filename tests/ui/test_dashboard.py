"""The dashboard shows the same numbers as `ctxtop report sessions --json`, and follows appended lines."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from decimal import Decimal

from ctxtop.core.pricing import fmt_usd
from ctxtop.ui.widgets.session_table import SessionTable
from tests.support.fixtures import scenario
from tests.ui.conftest import FIXED_NOW, World, loaded, wait_for


def report(world: World) -> list[dict]:
    out = subprocess.run(
        [sys.executable, "-m", "ctxtop", "report", "sessions", "--json", "--claude-dir", str(world.claude),
         "--api-logs", str(world.api_logs), "--cache-dir", str(world.root / "report-cache")],
        capture_output=True, text=True, check=True, env={**os.environ, **world.env},
    )  # fmt: skip
    return json.loads(out.stdout)


def row_text(table: SessionTable, session_id: str) -> list[str]:
    return [cell.plain for cell in table.get_row(session_id)]


async def test_dashboard_lists_corpus_with_report_numbers(world: World) -> None:
    expected = report(world)
    assert len(expected) == 3
    app = world.app()
    async with app.run_test(size=(120, 36)) as pilot:
        await loaded(pilot, app, len(expected))
        table = app.screen.query_one(SessionTable)
        assert table.row_count == len(expected)
        # Newest activity first, as the report orders them.
        assert list(table._order) == [r["session_id"] for r in expected]
        for row in expected:
            sid = row["session_id"]
            assert app.views[sid].as_dict() == row
            cells = row_text(table, sid)
            assert fmt_usd(Decimal(row["cost_usd"])) in cells
            assert any(c.endswith(f"{row['fill'] * 100:.0f}%") for c in cells)
            assert f"{row['reread_ratio'] * 100:.0f}%" in cells


async def test_appending_transcript_lines_updates_the_row(world: World) -> None:
    path = world.claude / scenario("refactor").relpath()
    lines = path.read_bytes().splitlines(keepends=True)
    cut = len(lines) // 2
    path.write_bytes(b"".join(lines[:cut]))
    sid = path.stem
    app = world.app(watch=True)
    async with app.run_test(size=(120, 36)) as pilot:
        await loaded(pilot, app, 3)
        before = app.views[sid].stats
        updates = app.updates
        with path.open("ab") as fh:
            fh.write(b"".join(lines[cut:]))
        await wait_for(pilot, lambda: app.updates > updates and app.views[sid].stats.turns > before.turns)
        await pilot.pause()
        full = {r["session_id"]: r for r in report(world)}[sid]
        assert app.views[sid].as_dict() == full
        table = app.screen.query_one(SessionTable)
        assert fmt_usd(Decimal(full["cost_usd"])) in row_text(table, sid)


async def test_enter_opens_detail_and_escape_returns(world: World) -> None:
    from ctxtop.ui.screens.dashboard import DashboardScreen
    from ctxtop.ui.screens.detail import DetailScreen

    app = world.app()
    async with app.run_test(size=(120, 36)) as pilot:
        await loaded(pilot, app, 3)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, DetailScreen) and app.screen.message is not None)
        detail = app.screen
        assert detail.message.view.as_dict() == app.views[detail.session_id].as_dict()
        await pilot.press("escape")
        assert isinstance(app.screen, DashboardScreen)


async def test_live_sessions_are_marked_and_the_table_fits_100_columns(world: World) -> None:
    sid = scenario("refactor").session_id
    sessions = world.claude / "sessions"
    sessions.mkdir()
    (sessions / f"{os.getpid()}.json").write_text(
        json.dumps({"pid": os.getpid(), "sessionId": sid, "cwd": "/tmp", "status": "waiting"})
    )
    (sessions / "999999999.json").write_text(json.dumps({"sessionId": "dead", "status": "busy"}))
    app = world.app()
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot, app, 3)
        await wait_for(pilot, lambda: sid in app.live)
        await pilot.pause()
        table = app.screen.query_one(SessionTable)
        assert row_text(table, sid)[0].startswith("◆")
        assert list(app.live) == [sid]
        assert table.virtual_size.width <= 100
        assert "Live 1" in str(app.screen.query_one("#summary").render())


async def test_sessions_ageing_out_leave_the_most_recent_on_screen(world: World) -> None:
    now = [FIXED_NOW]
    app = world.app(clock=lambda: now[0])
    async with app.run_test(size=(120, 36)) as pilot:
        await loaded(pilot, app, 3)
        assert not app.recent_only and len(app.dashboard_views()) == 3
        now[0] += 13 * 3600  # past the 12 h window
        app.screen.render_rows()
        await pilot.pause()
        assert app.recent_only
        assert app.screen.query_one(SessionTable).row_count == 3
        assert "most recent" in str(app.screen.query_one("#empty").render())
