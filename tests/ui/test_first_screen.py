"""The dashboard of a big history (issue 16): rows from the first batch while later files are still being
indexed, a progress line that goes away, and an age tick that redraws only the cells time changed."""

from __future__ import annotations

import pytest
from textual.widgets import ProgressBar

from ctxtop.services import live
from ctxtop.ui.screens.dashboard import DashboardScreen
from ctxtop.ui.widgets.session_table import SessionTable
from tests.support.history import replicate
from tests.ui.conftest import FIXED_NOW, World, loaded, wait_for


async def test_rows_appear_while_the_rest_is_indexed(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(live, "FIRST_BATCH_BYTES", 400_000)  # batches of about one copy of the fixtures
    copies = replicate(world.claude, 6)
    seen: list[tuple[int, int, int, bool, str]] = []
    real = DashboardScreen.index_progressed

    def spy(screen: DashboardScreen, message) -> None:  # type: ignore[no-untyped-def]
        real(screen, message)
        label = str(screen.query_one("#indexing-label").render())
        shown = screen.query_one("#indexing").display
        seen.append(
            (message.files, message.total_files, screen.query_one(SessionTable).row_count, shown, label)
        )

    monkeypatch.setattr(DashboardScreen, "index_progressed", spy)
    app = world.app()
    async with app.run_test(size=(120, 36)) as pilot:
        everything = 3 + sum(len(ids) for ids in copies)  # the fixtures themselves, and the copies
        await wait_for(pilot, lambda: bool(seen) and seen[-1][0] >= seen[-1][1], timeout=60)
        while_indexing = [s for s in seen if s[0] < s[1] and s[2] > 0]
        assert while_indexing, f"no rows before the last file was read: {seen}"
        files, total, rows, shown, label = while_indexing[0]
        assert shown and rows < everything
        assert f"Indexing {files:,}/{total:,} files" in label and "newest first" in label
        assert set(copies[0]) <= set(app.views)  # the newest copy is on the first screen
        await loaded(pilot, app, everything)
        await wait_for(pilot, lambda: not app.screen.query("#indexing").first().display)
        assert not app.screen.query(ProgressBar)  # gone with the line: no timer left ticking
        assert app.screen.query_one(SessionTable).row_count == everything


async def test_the_age_tick_redraws_only_what_time_changed(world: World) -> None:
    now = [FIXED_NOW]
    app = world.app(clock=lambda: now[0])
    async with app.run_test(size=(120, 36)) as pilot:
        await loaded(pilot, app, 3)
        screen = app.screen
        assert isinstance(screen, DashboardScreen)
        table = screen.query_one(SessionTable)
        updated: list[tuple[str, str]] = []
        real = table.update_cell

        def update_cell(row_key, column_key, value, **kwargs):  # type: ignore[no-untyped-def]
            updated.append((str(row_key), str(column_key)))
            return real(row_key, column_key, value, **kwargs)

        table.update_cell = update_cell  # type: ignore[method-assign]
        screen.age_tick()
        screen.render_rows()  # a full redraw with nothing new changes no cell either
        assert updated == []
        now[0] += 2 * 3600  # "30m" becomes "2h" in every row; nothing else moved
        screen.age_tick()
        assert updated and {column for _, column in updated} == {"last"}
        assert len(updated) == table.row_count
        await pilot.pause()
