""" "Compact now": type ``/compact <instructions from the notes>`` into the session's tmux pane, or show it.

The text is built from the notes with every control character taken out (notes keep what commands printed),
shown in full before anything is typed, and typed only into a pane in which Claude Code runs. Without such a
pane the command is shown to select and copy, and the copy says which clipboards really took it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ctxtop.adapters import clipboard, notes_store, tmux
from ctxtop.services import notes

MAX_INSTRUCTIONS = 1500
"""Characters of notes carried in the command (one line: a newline would submit it early)."""


@dataclass(frozen=True, slots=True)
class CompactPlan:
    session_id: str
    command: str
    """Exactly what would be typed: one line, no control characters."""
    pane: str | None
    """The tmux pane Claude Code runs in, or None: the command is only shown."""
    busy: bool
    """The session's live marker says busy: typing now lands while Claude Code is answering."""


def flatten_notes(notes_text: str) -> str:
    """The notes on one line: "Heading: item; item. Next heading: item"."""
    sections: list[tuple[str, list[str]]] = []
    for raw in notes_text.splitlines():
        line = raw.strip().lstrip("#").strip()
        if not line:
            continue
        if line.startswith(("- ", "* ")) and sections:
            sections[-1][1].append(line[2:].strip())
        elif line.endswith(":"):
            sections.append((line[:-1], []))
        else:
            sections.append((line, []))
    parts = [f"{head}: {'; '.join(items)}" if items else head for head, items in sections]
    return ". ".join(p.rstrip(".") for p in parts) + "."


def compact_command(notes_text: str | None) -> str:
    """``/compact`` with instructions that keep the notes, on one line of printable characters."""
    if not notes_text or not notes_text.strip():
        return "/compact Keep the current task list, files edited, failing commands and decisions."
    body = " ".join(tmux.printable(flatten_notes(notes_text)).split())
    if len(body) > MAX_INSTRUCTIONS:
        body = body[: MAX_INSTRUCTIONS - 1] + "…"
    return f"/compact Keep this working state verbatim (tasks with status, files, failures, decisions, pins). {body}"


def plan(
    session_id: str, transcript_path: Path | None, pid: int | None, cwd: str | None, busy: bool = False
) -> CompactPlan:
    """What "Compact now" would type, and where. Blocking: run it in a thread worker."""
    text = None
    try:
        text = notes.rebuild(session_id, transcript_path) or notes_store.load_notes(session_id)
    except Exception:  # noqa: BLE001 - without notes the command still helps
        text = notes_store.load_notes(session_id)
    command = compact_command(text)
    pane = tmux.find_pane(pid, cwd, tmux.list_panes()) if pid or cwd else None
    return CompactPlan(session_id, command, pane.pane_id if pane else None, busy)


def send(compact: CompactPlan) -> str | None:
    """Type the plan's command into its pane; why not, when tmux did not take it (None: typed)."""
    return tmux.send_line(compact.pane or "", compact.command)


def copy_report(attempts: list[clipboard.Attempt]) -> str:
    """What the copy did, honestly: verified methods, failed ones, and OSC 52 as sent but unconfirmed."""
    lines = [f"{'✓' if a.ok else '✗'} {a.method}: {a.detail}" for a in attempts]
    lines.append(
        "→ OSC 52: sent to the terminal; ctxtop cannot tell whether the terminal (or tmux) accepted it"
    )
    if any(a.ok for a in attempts):
        head = "Copied (" + ", ".join(a.method for a in attempts if a.ok) + ")."
    else:
        head = "No clipboard confirmed the copy: select the text above and copy it yourself."
    return "\n".join([head, *lines])
