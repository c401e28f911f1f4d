"""One SVG snapshot per screen (fixed size, clock, theme, corpus). Update with ``--snapshot-update``."""

from __future__ import annotations

from tests.ui.conftest import World, wait_for

SIZE = (120, 36)


async def _ready(pilot) -> None:  # type: ignore[no-untyped-def]
    app = pilot.app
    await wait_for(pilot, lambda: len(app.views) >= 3 and app.screen.query("SessionTable"))
    await pilot.pause()


def test_dashboard_snapshot(world: World, snap_compare) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(world.app(), terminal_size=SIZE, run_before=_ready)


def test_detail_snapshot(world: World, snap_compare) -> None:  # type: ignore[no-untyped-def]
    async def open_detail(pilot) -> None:  # type: ignore[no-untyped-def]
        await _ready(pilot)
        await pilot.press("down", "enter")
        await wait_for(pilot, lambda: getattr(pilot.app.screen, "message", None) is not None)
        await pilot.pause()

    assert snap_compare(world.app(), terminal_size=SIZE, run_before=open_detail)


def test_history_snapshot(world: World, snap_compare) -> None:  # type: ignore[no-untyped-def]
    async def open_history(pilot) -> None:  # type: ignore[no-untyped-def]
        await _ready(pilot)
        await pilot.press("h")
        await wait_for(pilot, lambda: getattr(pilot.app.screen, "message", None) is not None)
        await pilot.pause()

    assert snap_compare(world.app(), terminal_size=SIZE, run_before=open_history)


def test_settings_snapshot(world: World, snap_compare) -> None:  # type: ignore[no-untyped-def]
    async def open_settings(pilot) -> None:  # type: ignore[no-untyped-def]
        await _ready(pilot)
        await pilot.press("s")
        await pilot.pause()

    assert snap_compare(world.app(), terminal_size=SIZE, run_before=open_settings)


def test_notes_snapshot(world: World, snap_compare) -> None:  # type: ignore[no-untyped-def]
    async def open_notes(pilot) -> None:  # type: ignore[no-untyped-def]
        await _ready(pilot)
        await pilot.press("down", "n")
        await wait_for(pilot, lambda: pilot.app.screen.query("#path") and
                       ".md" in str(pilot.app.screen.query_one("#path").render()))  # fmt: skip
        # A blinking cursor is drawn or not depending on when the picture is taken: hold it still.
        pilot.app.screen.query_one("#notes").cursor_blink = False
        await pilot.pause()

    assert snap_compare(world.app(), terminal_size=SIZE, run_before=open_notes)
