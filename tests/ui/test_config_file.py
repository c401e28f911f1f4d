"""The TUI never rewrites a hand-written config.toml on its own, says what it did not understand, and keeps
working with a bad value (issue 11, items 3 and 7)."""

from __future__ import annotations

from textual.widgets import Input

from ctxtop.ui.app import CtxtopApp
from tests.ui.conftest import FIXED_NOW, World, loaded, wait_for

HAND_WRITTEN = """\
# my ctxtop settings
[ui]
theme = "mine-typo"   # installed later
[prices."claude-opus-4-8"]
input = "x"
output = 25
[mine]
kept = true
"""


def app_with_saved_theme(world: World) -> CtxtopApp:
    # No fixed theme: the configured one is applied, as `ctxtop` does.
    return CtxtopApp(world.factory(), config_dir=world.config_dir, clock=lambda: FIXED_NOW, watch=False,
                     claude_dirs=[str(world.claude)], engine_options={"poll_interval": 0.2})  # fmt: skip


async def test_starting_never_rewrites_the_config_and_says_what_it_did_not_understand(world: World) -> None:
    path = world.config_dir / "config.toml"
    path.write_text(HAND_WRITTEN)
    app = app_with_saved_theme(world)
    async with app.run_test(size=(120, 36)) as pilot:
        await loaded(pilot, app, 3)  # a bad price override no longer leaves the TUI on "Reading the index…"
        await pilot.pause(0.3)
        notes = [n.message for n in app._notifications]
        assert [n.title for n in app._notifications].count("Config values not understood") == 1
        assert app.theme == "ctxtop-dark"
        assert path.read_text() == HAND_WRITTEN
        assert sum('theme = "mine-typo": no such theme (using ctxtop-dark)' in n for n in notes) == 1
        assert sum('[prices."claude-opus-4-8"] input = "x"' in n for n in notes) == 1
        assert all(v.stats.cost_usd is not None for v in app.views.values())

        # Changing one setting edits that key only: comments, the unknown theme and [mine] stay.
        await pilot.press("s")
        field = app.screen.query_one("#set-compaction-threshold", Input)
        field.focus()
        field.value = ""
        await pilot.press("4", "5", "enter")
        await wait_for(pilot, lambda: "threshold" in path.read_text())
        await pilot.pause(0.2)
    assert path.read_text() == HAND_WRITTEN + "\n[compaction]\nthreshold = 45.0\n"


async def test_picking_a_theme_saves_it_in_place(world: World) -> None:
    path = world.config_dir / "config.toml"
    path.write_text('[ui]\ntheme = "ctxtop-dark"  # dark by day\n')
    app = app_with_saved_theme(world)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause(0.3)
        assert path.read_text() == '[ui]\ntheme = "ctxtop-dark"  # dark by day\n'
        app.theme = "ctxtop-light"  # as Textual's own theme picker does
        await wait_for(pilot, lambda: "light" in path.read_text())
    assert path.read_text() == '[ui]\ntheme = "ctxtop-light"  # dark by day\n'
