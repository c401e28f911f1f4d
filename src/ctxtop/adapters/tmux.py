"""Find the tmux pane a Claude Code process runs in and type a command into it.

A pane is identified by walking the process tree up from Claude Code's pid to a pane's shell pid
(``#{pane_pid}``); a pane whose current path equals the process's cwd is used only when it is the only one.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

LIST_FORMAT = "#{pane_id} #{pane_pid} #{pane_current_path}"


@dataclass(frozen=True, slots=True)
class Pane:
    pane_id: str
    pid: int
    path: str


def available() -> bool:
    return shutil.which("tmux") is not None


def _run(args: list[str], timeout: float = 2.0) -> subprocess.CompletedProcess[str] | None:
    try:
        return subprocess.run(["tmux", *args], capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.SubprocessError):
        return None


def parse_panes(text: str) -> list[Pane]:
    panes: list[Pane] = []
    for line in text.splitlines():
        parts = line.split(" ", 2)
        if len(parts) < 2:
            continue
        try:
            pid = int(parts[1])
        except ValueError:
            continue
        panes.append(Pane(parts[0], pid, parts[2] if len(parts) > 2 else ""))
    return panes


def list_panes() -> list[Pane]:
    if not available():
        return []
    done = _run(["list-panes", "-a", "-F", LIST_FORMAT])
    if done is None or done.returncode != 0:
        return []
    return parse_panes(done.stdout)


def parent_pid(pid: int, proc: Path = Path("/proc")) -> int | None:
    """The parent of ``pid`` from /proc (Linux); None elsewhere or when it is gone."""
    try:
        stat = (proc / str(pid) / "stat").read_text()
    except OSError:
        return None
    # The command name is in parentheses and may contain spaces: split after the last ')'.
    fields = stat[stat.rfind(")") + 2 :].split()
    try:
        return int(fields[1])
    except (IndexError, ValueError):
        return None


def ancestors(pid: int, parent=parent_pid, limit: int = 64) -> list[int]:  # type: ignore[no-untyped-def]
    chain = [pid]
    while len(chain) < limit:
        up = parent(chain[-1])
        if not up or up in chain or up == 1:
            break
        chain.append(up)
    return chain


def find_pane(pid: int | None, cwd: str | None, panes: list[Pane], parent=parent_pid) -> Pane | None:  # type: ignore[no-untyped-def]
    """The pane running ``pid`` (by process ancestry), else the only pane whose path is ``cwd``."""
    if pid:
        by_pid = {p.pid: p for p in panes}
        for ancestor in ancestors(pid, parent):
            if ancestor in by_pid:
                return by_pid[ancestor]
    if cwd:
        target = os.path.realpath(cwd)
        matches = [p for p in panes if p.path and os.path.realpath(p.path) == target]
        if len(matches) == 1:
            return matches[0]
    return None


def send_line(pane_id: str, text: str) -> str | None:
    """Type ``text`` literally into the pane and press Enter; returns an error message or None."""
    typed = _run(["send-keys", "-t", pane_id, "-l", text])
    if typed is None or typed.returncode != 0:
        return (typed.stderr.strip() if typed else "") or "tmux send-keys failed"
    entered = _run(["send-keys", "-t", pane_id, "Enter"])
    if entered is None or entered.returncode != 0:
        return (entered.stderr.strip() if entered else "") or "tmux send-keys failed"
    return None
