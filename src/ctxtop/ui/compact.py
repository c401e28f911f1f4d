""" "Compact now": type ``/compact <instructions from the notes>`` into the session's tmux pane, or copy it."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ctxtop.adapters import notes_store, tmux

if TYPE_CHECKING:
    from ctxtop.ui.app import CtxtopApp

MAX_INSTRUCTIONS = 1500
"""Characters of notes carried in the command (one line: a newline would submit it early)."""


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
    """``/compact`` with instructions that keep the notes, on a single line (Enter would submit it early)."""
    if not notes_text or not notes_text.strip():
        return "/compact Keep the current task list, files edited, failing commands and decisions."
    body = flatten_notes(notes_text)
    if len(body) > MAX_INSTRUCTIONS:
        body = body[: MAX_INSTRUCTIONS - 1] + "…"
    return f"/compact Keep this working state verbatim (tasks with status, files, failures, decisions, pins). {body}"


def find_transcript(claude_dirs: list[str] | None, session_id: str) -> Path | None:
    """The session's main transcript in the dirs ctxtop was started with, else where the notes store finds it."""
    for folder in claude_dirs or ():
        for candidate in (Path(folder).expanduser() / "projects").glob(f"*/{session_id}.jsonl"):
            return candidate
    return notes_store.find_transcript(session_id)


def plan(
    session_id: str, transcript_path: Path | None, pid: int | None, cwd: str | None
) -> tuple[str, str | None]:
    """(command, tmux pane id or None). Blocking: run it in a thread worker."""
    text = None
    try:
        text = notes_store.rebuild(session_id, transcript_path) or notes_store.load_notes(session_id)
    except Exception:  # noqa: BLE001 - without notes the command still helps
        text = notes_store.load_notes(session_id)
    command = compact_command(text)
    pane = tmux.find_pane(pid, cwd, tmux.list_panes()) if pid or cwd else None
    return command, pane.pane_id if pane else None


def start_compact(app: CtxtopApp, session_id: str) -> None:
    live = app.live.get(session_id)
    view = app.views.get(session_id)
    cwd = live.cwd if live else (view.stats.cwd if view else None)
    app.run_worker(
        lambda: _worker(app, session_id, live.pid if live else None, cwd if live else None),
        thread=True, group="compact", exclusive=True,
    )  # fmt: skip


def _worker(app: CtxtopApp, session_id: str, pid: int | None, cwd: str | None) -> None:
    transcript = find_transcript(app.claude_dirs, session_id)
    command, pane = plan(session_id, transcript, pid, cwd)
    app.call_from_thread(_decide, app, session_id, command, pane)


def _decide(app: CtxtopApp, session_id: str, command: str, pane: str | None) -> None:
    from ctxtop.ui.screens.confirm import ConfirmScreen

    if pane is None:
        app.copy_to_clipboard(command)
        app.notify(
            "No tmux pane found for this session, so the /compact command (with the notes as instructions) was "
            "copied to the clipboard: paste it into the Claude Code prompt.",
            title="Compact now", timeout=12,
        )  # fmt: skip
        return

    def send(yes: bool | None) -> None:
        if not yes:
            return
        app.run_worker(lambda: _send(app, pane, command), thread=True, group="compact")

    preview = command if len(command) < 400 else command[:400] + "…"
    app.push_screen(ConfirmScreen(f"Type this into tmux pane {pane} and press Enter?", preview, "Send"), send)


def _send(app: CtxtopApp, pane: str, command: str) -> None:
    error = tmux.send_line(pane, command)
    if error:
        app.call_from_thread(app.copy_to_clipboard, command)
        app.call_from_thread(app.notify, f"tmux failed ({error}); the command was copied to the clipboard.",
                             severity="error", timeout=12)  # fmt: skip
    else:
        app.call_from_thread(app.notify, f"Sent /compact to tmux pane {pane}.", title="Compact now")
