"""Settings are written to the TOML and applied live; themes load from TOML files; broken ones are reported."""

from __future__ import annotations

import tomllib

from textual.widgets import Input, Select

from ctxtop.ui.screens.settings import SettingsScreen
from ctxtop.ui.widgets.session_table import SessionTable
from tests.support.fixtures import scenario
from tests.ui.conftest import World, loaded, wait_for


def saved(world: World) -> dict:
    path = world.config_dir / "config.toml"
    return tomllib.loads(path.read_text()) if path.exists() else {}


async def test_threshold_setting_changes_toml_and_display(world: World) -> None:
    # Against a 200K window (2.1.197 would otherwise run its default opus-4-8 with 1M).
    world.write_config('[windows]\n"claude-opus-4-8" = 200000\n')
    app = world.app()
    async with app.run_test(size=(120, 36)) as pilot:
        await loaded(pilot, app, 3)
        sid = scenario("refactor").session_id  # 38% full: under 60, over 20
        table = app.screen.query_one(SessionTable)
        assert "▲" not in table.get_row(sid)[0].plain
        await pilot.press("s")
        assert isinstance(app.screen, SettingsScreen)
        field = app.screen.query_one("#set-compaction-threshold", Input)
        field.focus()
        field.value = ""
        await pilot.press("2", "0", "enter")
        await wait_for(pilot, lambda: saved(world).get("compaction", {}).get("threshold") == 20.0)
        await wait_for(pilot, lambda: app.views[sid].threshold_pct == 20.0)
        await pilot.press("escape")
        await pilot.pause()
        table = app.screen.query_one(SessionTable)
        assert "▲" in table.get_row(sid)[0].plain
        assert "20% threshold" in str(app.screen.query_one("#legend").render())


async def test_invalid_setting_is_refused(world: World) -> None:
    app = world.app()
    async with app.run_test(size=(120, 36)) as pilot:
        await loaded(pilot, app, 3)
        await pilot.press("s")
        field = app.screen.query_one("#set-compaction-threshold", Input)
        field.focus()
        field.value = ""
        await pilot.press("9", "9", "enter")
        await pilot.pause()
        assert app.config.threshold == 60.0
        assert not (world.config_dir / "config.toml").exists()
        assert "between 5 and 95" in str(app.screen.query_one("#set-compaction-threshold-help").render())


async def test_theme_setting_switches_and_saves(world: World) -> None:
    from ctxtop.ui.app import CtxtopApp

    app = CtxtopApp(world.factory(), config_dir=world.config_dir, clock=lambda: 0.0, watch=False)
    async with app.run_test(size=(120, 36)) as pilot:
        assert app.theme == "ctxtop-dark"
        await pilot.press("s")
        select = app.screen.query_one("#set-ui-theme", Select)
        select.value = "ctxtop-light"
        await wait_for(pilot, lambda: saved(world).get("ui", {}).get("theme") == "ctxtop-light")
        assert app.theme == "ctxtop-light"


async def test_bundled_and_user_themes_load_and_broken_ones_are_reported_once(world: World) -> None:
    themes = world.config_dir / "themes"
    themes.mkdir()
    (themes / "mine.toml").write_text('name = "mine"\nprimary = "#ff8800"\ndark = true\n')
    (themes / "broken.toml").write_text("name = 'oops\n")
    (themes / "badcolour.toml").write_text('name = "bad"\nprimary = "not-a-colour"\n')
    # A bad [variables] value used to crash the app at start-up once the theme was the saved one.
    (themes / "badvar.toml").write_text(
        'name = "badvar"\nprimary = "#ff0000"\n[variables]\nfooter-key-foreground = "notacolour"\n'
    )
    (world.config_dir / "config.toml").write_text('[ui]\ntheme = "badvar"\n')
    app = world.app()
    notes: list[str] = []
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        notes = [n.message for n in app._notifications]
        for name in ("ctxtop-dark", "ctxtop-light", "ctxtop-high-contrast", "mine"):
            assert name in app.available_themes
        assert "bad" not in app.available_themes and "badvar" not in app.available_themes
        assert app.theme == "ctxtop-dark"
    reported = [n for n in notes if "broken.toml" in n]
    assert len(reported) == 1 and "badcolour.toml" in reported[0] and "badvar.toml" in reported[0]


async def test_install_into_claude_code_shows_the_diff_then_writes(world: World) -> None:
    import json

    from ctxtop.ui.screens.confirm import ConfirmScreen

    target = world.claude / "settings.json"
    target.write_text(json.dumps({"model": "opus", "env": {"FOO": "1"}}))
    app = world.app()
    async with app.run_test(size=(120, 36)) as pilot:
        await loaded(pilot, app, 3)
        await pilot.press("s")
        await pilot.press("i")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert "CLAUDE_AUTOCOMPACT_PCT_OVERRIDE" in app.screen.body
        assert json.loads(target.read_text()) == {"model": "opus", "env": {"FOO": "1"}}  # nothing written yet
        await pilot.press("y")
        await wait_for(pilot, lambda: "CLAUDE_AUTOCOMPACT_PCT_OVERRIDE" in target.read_text())
        data = json.loads(target.read_text())
        assert data["model"] == "opus" and data["env"]["FOO"] == "1"
        assert data["env"]["CLAUDE_AUTOCOMPACT_PCT_OVERRIDE"] == "66.667"
        assert "PreCompact" in data["hooks"]
