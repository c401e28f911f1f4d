"""A private tmux server for tests (its own socket, never the user's), and a stand-in for Claude Code.

The stand-in is a script named ``claude`` that appends every line typed into its pane to a file, so a test
reads exactly what reached the program; its pid is written beside it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

FAKE_CLAUDE = """#!{python}
import os, sys
with open(sys.argv[2], "w") as fh:
    fh.write(str(os.getpid()))
with open(sys.argv[1], "a", encoding="utf-8", errors="surrogateescape") as out:
    for line in sys.stdin:
        out.write(line)
        out.flush()
"""


class TmuxServer:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.socket = folder / "sock"
        self.bin = folder / "bin"
        self.bin.mkdir()
        claude = self.bin / "claude"
        claude.write_text(FAKE_CLAUDE.format(python=sys.executable))
        claude.chmod(0o755)
        self.env = f"{self.socket},{os.getpid()},0"
        """The value of ``$TMUX`` that points tmux (and ctxtop) at this server."""

    def tmux(self, *args: str) -> str:
        done = subprocess.run(["tmux", "-S", str(self.socket), "-f", "/dev/null", *args],
                              capture_output=True, text=True, timeout=10, check=True)  # fmt: skip
        return done.stdout

    def _open(self, cwd: Path, command: str) -> str:
        if self.socket.exists():
            out = self.tmux("new-window", "-d", "-P", "-F", "#{pane_id}", "-c", str(cwd), command)
        else:
            out = self.tmux("new-session", "-d", "-P", "-F", "#{pane_id}", "-x", "200", "-y", "50",
                            "-c", str(cwd), command)  # fmt: skip
        return out.strip()

    def shell(self, cwd: Path) -> str:
        """A pane running a plain shell at ``cwd``; returns its pane id."""
        return self._open(cwd, "sh")

    def claude(self, cwd: Path, name: str = "claude") -> tuple[str, int, Path]:
        """A pane running the stand-in at ``cwd``: (pane id, its pid, the file of what it received)."""
        received, pidfile = self.folder / f"{name}.typed", self.folder / f"{name}.pid"
        pane = self._open(cwd, f"{self.bin / 'claude'} {received} {pidfile}")
        deadline = time.monotonic() + 10
        while not (pidfile.exists() and pidfile.read_text()):
            if time.monotonic() > deadline:
                raise AssertionError("the stand-in for Claude Code did not start")
            time.sleep(0.02)
        return pane, int(pidfile.read_text()), received

    def screen(self, pane: str) -> str:
        return self.tmux("capture-pane", "-p", "-t", pane)


def private_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[TmuxServer]:
    """Body of a ``tmux_server`` fixture: a fresh server, ``$TMUX`` pointing at it, killed afterwards."""
    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed")
    folder = Path(tempfile.mkdtemp(prefix="ctxtop-tmux-", dir="/tmp"))  # a socket path must be short
    folder.chmod(0o700)
    server = TmuxServer(folder)
    monkeypatch.setenv("TMUX", server.env)
    try:
        yield server
    finally:
        subprocess.run(["tmux", "-S", str(server.socket), "kill-server"], capture_output=True, check=False)
        shutil.rmtree(folder, ignore_errors=True)


def wait_for_file(path: Path, predicate, timeout: float = 10.0) -> str:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while True:
        text = path.read_text(encoding="utf-8", errors="surrogateescape") if path.exists() else ""
        if predicate(text):
            return text
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out; {path.name} holds {text!r}")
        time.sleep(0.02)
