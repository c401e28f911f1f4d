"""Find the tmux pane a Claude Code process runs in and type a command into it.

A pane is identified by walking the process tree up from Claude Code's pid to a pane's shell pid
(``#{pane_pid}``), after checking that the pid really is Claude Code. A pane whose current path equals the
session's cwd is used only when it is the only one and Claude Code runs in it (found by walking its process
tree down): typing into a shell would run the text as a command.

Text is typed with ``send-keys -l`` (literal: no key names) after every control character was taken out
(:func:`printable`), and Enter is a separate key; a control character that still arrives is refused.
tmux is found the way tmux finds it: ``$TMUX`` names the server (tests point it at a private socket).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

LIST_FORMAT = "#{pane_id} #{pane_pid} #{pane_current_path}"
CLAUDE_NAMES = frozenset({"claude", "claude.exe"})
# Line breaks that are not C0 controls, and bidirectional overrides (they make the confirmed text differ
# from what is typed).
_SPACE_LIKE = frozenset("\u0085\u2028\u2029")
_INVISIBLE = frozenset("\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


@dataclass(frozen=True, slots=True)
class Pane:
    pane_id: str
    pid: int
    path: str


def printable(text: str) -> str:
    """``text`` safe to type into a terminal: tabs and line breaks become spaces, other controls go."""
    out = []
    for char in text:
        if char in "\t\n\r\v\f" or char in _SPACE_LIKE:
            out.append(" ")
        elif char in _INVISIBLE or unicodedata.category(char) == "Cc":
            continue
        else:
            out.append(char)
    return "".join(out)


def available() -> bool:
    return shutil.which("tmux") is not None


def _run(
    args: list[str], timeout: float = 2.0, stdin: str | None = None
) -> subprocess.CompletedProcess[str] | None:
    # Never the TUI's own stdin: tmux would read the user's keystrokes.
    feed = {"input": stdin} if stdin is not None else {"stdin": subprocess.DEVNULL}
    try:
        return subprocess.run(
            ["tmux", *args], capture_output=True, text=True, timeout=timeout, check=False, **feed
        )
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


def ancestors(pid: int, parent: Callable[[int], int | None] = parent_pid, limit: int = 64) -> list[int]:
    chain = [pid]
    while len(chain) < limit:
        up = parent(chain[-1])
        if not up or up in chain or up == 1:
            break
        chain.append(up)
    return chain


def is_claude_code(pid: int, proc: Path = Path("/proc")) -> bool:
    """Whether ``pid`` runs Claude Code: its program (or the script an interpreter runs) is ``claude``."""
    try:
        argv = (proc / str(pid) / "cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    words = [os.fsdecode(a) for a in argv[:2] if a]
    if any(os.path.basename(w) in CLAUDE_NAMES for w in words):
        return True
    # npm's package path (node cli.js), or the native installer's ~/.local/share/claude/versions/<version>.
    if any("@anthropic-ai/claude-code" in w or "/claude/versions/" in w for w in words):
        return True
    try:
        return (proc / str(pid) / "comm").read_text().strip() in CLAUDE_NAMES
    except OSError:
        return False


def descendants(pid: int, proc: Path = Path("/proc")) -> list[int]:
    """Every process below ``pid`` (Linux /proc); empty elsewhere."""
    children: dict[int, list[int]] = {}
    try:
        entries = [e for e in os.listdir(proc) if e.isdigit()]
    except OSError:
        return []
    for entry in entries:
        up = parent_pid(int(entry), proc)
        if up is not None:
            children.setdefault(up, []).append(int(entry))
    found: list[int] = []
    todo = list(children.get(pid, []))
    while todo and len(found) < 10_000:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


def runs_claude_code(pane: Pane, proc: Path = Path("/proc")) -> bool:
    """Whether Claude Code runs in ``pane`` (its own process or one below it)."""
    return any(is_claude_code(p, proc) for p in [pane.pid, *descendants(pane.pid, proc)])


def find_pane(
    pid: int | None,
    cwd: str | None,
    panes: list[Pane],
    parent: Callable[[int], int | None] = parent_pid,
    runs_claude: Callable[[Pane], bool] = runs_claude_code,
    is_claude: Callable[[int], bool] = is_claude_code,
) -> Pane | None:
    """The pane running Claude Code process ``pid``, else the only pane at ``cwd`` that runs Claude Code.

    Never a pane in which Claude Code does not run: a shell there would execute the typed text.
    """
    if pid and is_claude(pid):
        by_pid = {p.pid: p for p in panes}
        for ancestor in ancestors(pid, parent):
            if ancestor in by_pid:
                return by_pid[ancestor]
    if cwd:
        target = os.path.realpath(cwd)
        matches = [p for p in panes if p.path and os.path.realpath(p.path) == target]
        running = [p for p in matches if runs_claude(p)]
        if len(running) == 1:
            return running[0]
    return None


def _literal(text: str) -> str:
    # tmux reads an argument that ends in ';' as the end of a command: "\;" at the end is a literal ';'.
    return text[:-1] + "\\;" if text.endswith(";") else text


def send_line(pane_id: str, text: str) -> str | None:
    """Type ``text`` literally into the pane and press Enter; returns an error message or None."""
    if printable(text) != text:
        return "refused: the text holds control characters"
    typed = _run(["send-keys", "-t", pane_id, "-l", "--", _literal(text)])
    if typed is None or typed.returncode != 0:
        return (typed.stderr.strip() if typed else "") or "tmux send-keys failed"
    entered = _run(["send-keys", "-t", pane_id, "Enter"])
    if entered is None or entered.returncode != 0:
        return (entered.stderr.strip() if entered else "") or "tmux send-keys failed"
    return None


def set_buffer(text: str) -> str | None:
    """Put ``text`` in a new tmux paste buffer (prefix ] pastes it); an error message or None."""
    done = _run(["load-buffer", "-"], stdin=text)
    if done is None or done.returncode != 0:
        return (done.stderr.strip() if done else "") or "tmux load-buffer failed"
    return None


def show_buffer() -> str | None:
    """The newest tmux paste buffer, or None."""
    done = _run(["show-buffer"])
    return done.stdout if done is not None and done.returncode == 0 else None
