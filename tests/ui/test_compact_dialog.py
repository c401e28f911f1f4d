"""Issue 11.4 and 15.3 in the TUI: "Compact now" shows exactly what it would type, types it only into a
Claude Code pane (a real tmux server on a private socket), warns when the session is busy, and a copy says
which clipboards really took the text."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.widgets import Button, Static, TextArea

from ctxtop.adapters import notes_store
from ctxtop.services.compact import compact_command
from tests.support.fixtures import scenario
from tests.support.tmux_server import TmuxServer, private_server
from tests.ui.conftest import World, loaded, wait_for

SID = scenario("refactor").session_id


@pytest.fixture
def tmux_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[TmuxServer]:
    yield from private_server(monkeypatch)


def _dialog(app):  # type: ignore[no-untyped-def]
    from ctxtop.ui.screens.compact import CompactScreen

    screen = app.screen
    # Pushed and composed (the buttons come last).
    return screen if isinstance(screen, CompactScreen) and screen.query("#close") else None


def _status(app) -> str:  # type: ignore[no-untyped-def]
    return str(app.screen.query_one("#compact-status", Static).render())


async def test_without_a_pane_the_command_is_shown_and_the_copy_is_honest(world: World, monkeypatch) -> None:
    for var in ("TMUX", "DISPLAY", "WAYLAND_DISPLAY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("PATH", str(world.root / "empty-bin"))  # no tmux, xclip, wl-copy, pbcopy
    app = world.app()
    async with app.run_test(size=(120, 36)) as pilot:
        await loaded(pilot, app, 3)
        app.compact_now(SID)
        await wait_for(pilot, lambda: _dialog(app) is not None)
        area = app.screen.query_one("#compact-command", TextArea)
        assert area.read_only and area.text == compact_command(notes_store.load_notes(SID))
        assert "No tmux pane" in str(app.screen.query_one("#compact-question", Static).render())
        assert not app.screen.query("#send")  # nothing can be typed anywhere
        assert app.clipboard == ""  # nothing claimed before the user asks
        app.screen.query_one("#copy", Button).press()
        await wait_for(pilot, lambda: "OSC 52" in _status(app))
        assert _status(app).startswith("No clipboard confirmed the copy")
        assert app.clipboard == area.text  # OSC 52 was sent, and reported as unconfirmed
        assert not any("copied to the clipboard" in n.message for n in app._notifications)
        await pilot.press("escape")
        assert _dialog(app) is None


async def test_a_busy_session_in_tmux_is_warned_then_gets_exactly_the_shown_text(
    world: World, tmux_server: TmuxServer
) -> None:
    (world.root / "proj").mkdir()
    shell = tmux_server.shell(world.root / "proj")  # a shell at the same cwd must never be typed into
    pane, received = _claude_session(world, tmux_server, "busy")
    notes_store.pin(SID, "keep \x03 this \x1b[31mred\x1b[0m line\r")
    app = world.app()
    async with app.run_test(size=(120, 36)) as pilot:
        await _open_dialog(pilot, app)
        assert pane in str(app.screen.query_one("#compact-question", Static).render())
        assert "● busy" in str(app.screen.query_one("#compact-busy", Static).render())
        send = app.screen.query_one("#send", Button)
        assert str(send.label) == "Send anyway"
        shown = app.screen.query_one("#compact-command", TextArea).text
        assert "keep this [31mred[0m line" in shown and "\x1b" not in shown and "\x03" not in shown
        send.press()
        await wait_for(pilot, lambda: received.exists() and received.read_text().endswith("\n"))
        typed = received.read_text()
        assert typed == shown + "\n"
        assert "compact" not in tmux_server.screen(shell)
        await wait_for(pilot, lambda: any("Typed /compact" in n.message for n in app._notifications))


async def test_cancel_types_nothing(world: World, tmux_server: TmuxServer) -> None:
    _pane, received = _claude_session(world, tmux_server, "idle")
    app = world.app()
    async with app.run_test(size=(120, 36)) as pilot:
        await _open_dialog(pilot, app)
        assert (
            not app.screen.query("#compact-busy")
            and str(app.screen.query_one("#send", Button).label) == "Send"
        )
        assert app.screen.focused is app.screen.query_one("#close", Button)  # the safe choice has focus
        await pilot.press("enter")
        await pilot.pause(0.3)
    assert not received.exists() or received.read_text() == ""


def _claude_session(world: World, server: TmuxServer, status: str) -> tuple[str, Path]:
    """The stand-in Claude Code in a pane at ``<world>/proj``, announced as session SID with ``status``."""
    project = world.root / "proj"
    project.mkdir(exist_ok=True)
    pane, pid, received = server.claude(project)
    (world.claude / "sessions").mkdir(exist_ok=True)
    live = {"pid": pid, "sessionId": SID, "cwd": str(project), "status": status}
    (world.claude / "sessions" / f"{pid}.json").write_text(json.dumps(live))
    return pane, received


async def _open_dialog(pilot, app) -> None:  # type: ignore[no-untyped-def]
    await loaded(pilot, app, 3)
    await wait_for(pilot, lambda: SID in app.live)
    app.compact_now(SID)
    await wait_for(pilot, lambda: _dialog(app) is not None)
