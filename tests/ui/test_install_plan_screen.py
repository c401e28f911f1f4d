"""The settings screen renders the install plan (``services.install``), then applies exactly that plan."""

from __future__ import annotations

import json

from tests.ui.conftest import World, loaded, wait_for


async def test_the_dialog_shows_each_key_then_a_second_install_has_no_change(world: World) -> None:
    from ctxtop.ui.screens.confirm import ConfirmScreen

    target = world.claude / "settings.json"
    target.write_text(json.dumps({"model": "opus", "env": {"FOO": "1"}}))
    app = world.app()
    async with app.run_test(size=(120, 36)) as pilot:
        await loaded(pilot, app, 3)
        await pilot.press("s", "i")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        body = app.screen.body
        # Per key, before -> after, ahead of the diff; the user's own keys are not listed as changing.
        assert "env.CLAUDE_AUTOCOMPACT_PCT_OVERRIDE: (none) -> 66.667" in body
        assert "hooks.PreCompact: (none) -> " in body and "env.FOO" not in body
        assert "Afterwards: Claude Code compacts at" in body
        await pilot.press("y")
        await wait_for(
            pilot, lambda: any(n.title == "Installed into Claude Code" for n in app._notifications)
        )
        written = target.read_text()
        assert json.loads(written)["env"]["CLAUDE_AUTOCOMPACT_PCT_OVERRIDE"] == "66.667"
        # Installed already: the plan is empty, said so without a dialog (no stdout searched for "no change").
        await pilot.press("i")
        await wait_for(pilot, lambda: any(n.message.startswith("no change to") for n in app._notifications))
        assert not isinstance(app.screen, ConfirmScreen) and target.read_text() == written


async def test_an_edit_made_while_the_dialog_is_open_is_kept(world: World) -> None:
    from ctxtop.ui.screens.confirm import ConfirmScreen

    target = world.claude / "settings.json"
    target.write_text(json.dumps({"env": {"FOO": "1"}}))
    app = world.app()
    async with app.run_test(size=(120, 36)) as pilot:
        await loaded(pilot, app, 3)
        await pilot.press("s", "i")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        target.write_text(json.dumps({"env": {"FOO": "2"}}))  # another editor saves meanwhile
        await pilot.press("y")
        await wait_for(
            pilot, lambda: any("changed since this plan was made" in n.message for n in app._notifications)
        )
        assert json.loads(target.read_text()) == {"env": {"FOO": "2"}}
