"""Issue 15.3: "Compact now" types only printable text, and only into a pane where Claude Code runs.

Against a real tmux server on a private socket, with a stand-in ``claude`` that records what reaches it.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ctxtop.adapters import clipboard, notes_store, tmux
from ctxtop.services import compact
from tests.support.tmux_server import TmuxServer, private_server, wait_for_file

SID = "5e551015-0000-4000-8000-000000000001"


@pytest.fixture
def tmux_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[TmuxServer]:
    yield from private_server(monkeypatch)


NASTY = "Tasks:\n- [pending] run it\x03 again\n- see \x1b[31mred\x1b[0m and \x1b]0;title\x07 done\r\n- tab\there \x00 ;\u202e\n"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CTXTOP_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(tmp_path / "no-claude"))
    folder = tmp_path / "proj"
    folder.mkdir()
    return folder


def test_printable_takes_out_every_control_character() -> None:
    text = "".join(chr(c) for c in range(0x00, 0xA0)) + "\u2028\u202e ok ✓"
    clean = tmux.printable(text)
    assert all(ch.isprintable() for ch in clean)
    assert clean.endswith(" ok ✓") and ' !"#' in clean
    command = compact.compact_command(NASTY)
    assert tmux.printable(command) == command and "\x1b" not in command and "  " not in command
    assert "run it again" in command and "see [31mred[0m" in command


def test_a_shell_pane_at_the_sessions_cwd_receives_nothing(tmux_server: TmuxServer, project: Path) -> None:
    shell = tmux_server.shell(project)
    not_claude = subprocess.Popen(["sleep", "30"])  # a live pid that is not Claude Code and not in tmux
    try:
        notes_store.save_notes(SID, NASTY)
        plan = compact.plan(SID, None, not_claude.pid, str(project))
    finally:
        not_claude.kill()
        not_claude.wait()
    assert plan.pane is None  # the only pane at that cwd runs a shell, not Claude Code
    assert tmux.send_line(shell, "echo x\x03") == "refused: the text holds control characters"
    time.sleep(0.2)
    assert "compact" not in tmux_server.screen(shell) and "echo" not in tmux_server.screen(shell)


def test_the_claude_pane_gets_exactly_the_confirmed_text(tmux_server: TmuxServer, project: Path) -> None:
    tmux_server.shell(project)  # a shell at the same cwd is never chosen
    pane, pid, received = tmux_server.claude(project)
    notes_store.save_notes(SID, NASTY)
    plan = compact.plan(SID, None, pid, str(project))
    assert plan.pane == pane
    assert tmux.send_line(plan.pane, plan.command) is None
    typed = wait_for_file(received, lambda t: t.endswith("\n"))
    assert typed == plan.command + "\n"  # the program saw the text and one Enter, nothing else
    assert tmux.send_line(pane, "ends with a semicolon;") is None  # tmux would read a final ';' as its own
    assert wait_for_file(received, lambda t: t.count("\n") == 2).endswith("ends with a semicolon;\n")


def test_cwd_fallback_only_to_the_one_pane_running_claude(tmux_server: TmuxServer, project: Path) -> None:
    tmux_server.shell(project)
    pane, _pid, _ = tmux_server.claude(project)
    assert compact.plan(SID, None, None, str(project)).pane == pane
    tmux_server.claude(project, name="second")  # two Claude Code panes at one cwd: ambiguous, none
    assert compact.plan(SID, None, None, str(project)).pane is None


def test_tmux_buffer_copy_is_verified(tmux_server: TmuxServer, project: Path, monkeypatch) -> None:
    tmux_server.shell(project)
    attempts = clipboard.copy("/compact keep this", env={"TMUX": tmux_server.env, "PATH": "/usr/bin:/bin"})
    assert [(a.method, a.ok) for a in attempts] == [("tmux buffer", True)]
    assert tmux_server.tmux("show-buffer") == "/compact keep this"


def test_clipboard_tools_report_by_exit_code(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "xclip").write_text("#!/bin/sh\necho 'Error: cannot open display' >&2\nexit 1\n")
    (bin_dir / "wl-copy").write_text(f"#!/bin/sh\n/bin/cat > {tmp_path / 'wl.txt'}\n")
    for tool in bin_dir.iterdir():
        tool.chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))
    attempts = clipboard.copy("text", env={"DISPLAY": ":9", "WAYLAND_DISPLAY": "w"})
    assert [(a.method, a.ok) for a in attempts] == [("wl-copy", True), ("xclip", False)]
    assert "exit status 1" in attempts[1].detail and (tmp_path / "wl.txt").read_text() == "text"
    assert clipboard.copy("text", env={}) == []  # no display, no tmux: nothing to try
    report = compact.copy_report([])
    assert report.startswith("No clipboard confirmed") and "cannot tell" in report
