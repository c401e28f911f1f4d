"""Alerts while running (notification + row badge), the command palette's entries and the `?` key."""

from __future__ import annotations

from ctxtop.ui import messages as m
from ctxtop.ui.widgets.session_table import SessionTable
from tests.support.fixtures import scenario
from tests.ui.conftest import World, loaded, wait_for

SID = scenario("refactor").session_id


async def test_crossing_the_threshold_alerts_once_and_badges_the_row(world: World) -> None:
    # Against a 200K window (2.1.197 would otherwise run its default opus-4-8 with 1M).
    world.write_config('[compaction]\nthreshold = 20\n[windows]\n"claude-opus-4-8" = 200000\n')
    path = next(world.claude.glob(f"projects/*/{SID}.jsonl"))
    lines = path.read_bytes().splitlines(keepends=True)
    # Keep the first two model calls (20K and 30K of context, under the 40K threshold).
    assistant = [i for i, line in enumerate(lines) if b'"type":"assistant"' in line]
    cut = assistant[1] + 1
    path.write_bytes(b"".join(lines[:cut]))
    app = world.app(watch=True)
    async with app.run_test(size=(120, 36)) as pilot:
        await loaded(pilot, app, 3)
        before = app.views[SID]
        assert before.stats.context_tokens < before.threshold_tokens
        table = app.screen.query_one(SessionTable)
        assert "▲" not in table.get_row(SID)[0].plain
        with path.open("ab") as fh:
            fh.write(b"".join(lines[cut:]))
        await wait_for(pilot, lambda: app.views[SID].stats.turns > before.stats.turns)
        await pilot.pause()
        assert app.views[SID].stats.context_tokens >= app.views[SID].threshold_tokens
        crossed = [m for m in app.alert_log if "passed the 20% compaction threshold" in m]
        assert len(crossed) == 1
        assert any("passed the 20%" in n.message for n in app._notifications)
        assert "▲" in table.get_row(SID)[0].plain


async def test_a_compaction_that_lost_open_tasks_is_alerted_in_the_tui(world: World) -> None:
    # The engine's event as it arrives from the live thread (services.live posts it after a compaction).
    app = world.app()
    async with app.run_test(size=(120, 36)) as pilot:
        await loaded(pilot, app, 3)
        app.post_message(
            m.CompactionLostTasks(SID, "/work/app", "kept 1 of 3", ["write the tests", "ship it"], False)
        )
        await wait_for(pilot, lambda: bool(app.alert_log))
        [said] = app.alert_log
        assert "lost 2 open tasks (kept 1 of 3 of ctxtop's notes): write the tests; ship it" in said
        assert app.unacknowledged == [said]
        assert any(n.message == said for n in app._notifications)


async def test_palette_has_every_action_and_question_mark_shows_keys(world: World) -> None:
    app = world.app()
    async with app.run_test(size=(120, 36)) as pilot:
        await loaded(pilot, app, 3)
        titles = {c.title for c in app.get_system_commands(app.screen)}
        for title in ("Dashboard", "History", "Settings", "Re-index", "Keys", "Session detail", "Notes",
                      "Compact now", "Theme: light", "Theme: high-contrast"):  # fmt: skip
            assert title in titles, title
        await pilot.press("question_mark")
        assert app.screen.query("HelpPanel")
        await pilot.press("question_mark")
        assert not app.screen.query("HelpPanel")
        await pilot.press("ctrl+p")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "CommandPalette")
        await pilot.press(*"history", "enter")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "HistoryScreen")


def test_core_and_adapters_never_import_textual() -> None:
    import subprocess
    import sys

    code = (
        "import sys, ctxtop.core.report, ctxtop.adapters.watcher, ctxtop.adapters.tmux, "
        "ctxtop.sources.claude_code.live, ctxtop.services.monitor, ctxtop.core.alerts, ctxtop.core.format; "
        "print('textual' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
