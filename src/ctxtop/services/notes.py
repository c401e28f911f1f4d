"""Compaction notes as every front end uses them (hooks, ``ctxtop notes``, the TUI, the MCP server): the
session's transcript found, the notes rebuilt from it with the user's pins and own lines, and a short id
resolved. The files are ``adapters.notes_store``'s; what a transcript says is ``sources.claude_code.notes``'.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ctxtop.adapters import notes_store
from ctxtop.core import notes as core_notes
from ctxtop.sources.claude_code.notes import build_notes, iter_transcript

TYPE_CHECKING = False  # the compaction hooks import this: not the index (sqlite3, the registry) on their path
if TYPE_CHECKING:
    from ctxtop.adapters.index import Index
    from ctxtop.services.monitor import Monitor


def transcript_of(index: Index | None, session_id: str) -> Path | None:
    """The session's main transcript: where the index has it (``Index.transcript_path``, ctxtop's one
    session -> file lookup), else where a hook last named it (a session not indexed yet, or under a config
    dir not in scope)."""
    from ctxtop.sources.claude_code.source import ClaudeCode

    # Notes are a Claude Code feature: another source's log is not a transcript they can read.
    found = index.transcript_path(session_id, ClaudeCode.name) if index is not None else None
    return Path(found) if found else notes_store.hook_transcript(session_id)


def rebuild(session_id: str, transcript: str | Path | None = None) -> str | None:
    """Build the newest notes from the transcript (default: the one a hook last named) plus the pins, store
    them and return the text. None when there is no readable transcript: the stored notes stay as they are."""
    path = Path(transcript) if transcript else notes_store.hook_transcript(session_id)
    if path is None or not path.is_file():
        return None
    own = notes_store.keep_own_lines(session_id)
    notes = build_notes(
        iter_transcript(path), pins=notes_store.load_pins(session_id), session_id=session_id, own=own
    )
    text = core_notes.render(notes)
    notes_store.save_notes(session_id, text, str(path))
    return text


def current(index: Index | None, session_id: str) -> str | None:
    """The session's notes rebuilt now from its transcript, else the stored ones (None: neither)."""
    transcript = transcript_of(index, session_id)
    return (rebuild(session_id, transcript) if transcript else None) or notes_store.load_notes(session_id)


def match_sessions(index: Index, prefix: str) -> list[str]:
    """Session ids starting with ``prefix`` (a short id ctxtop shows): the index's, and the sessions with notes."""
    return notes_store.match_sessions(prefix, index.match_sessions(prefix))


def transcript_opening(open_monitor: Callable[[], Monitor], session_id: str) -> Path | None:
    """``transcript_of`` on an index opened for this call and closed after it: for a thread that does not own
    a connection (the TUI's engine keeps its own in its thread)."""
    monitor = open_monitor()
    try:
        return transcript_of(monitor.index, session_id)
    finally:
        monitor.close()
