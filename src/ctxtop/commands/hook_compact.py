"""The PreCompact and SessionStart(compact) hook handlers: keep the working state across compaction.

``ctxtop.commands.hook`` calls these with the hook's stdin JSON and prints what they return; it also owns
the fail-open contract (any exception or the time budget -> exit 0, no output), so these may raise.
"""

from __future__ import annotations

import json
from typing import Any

from ctxtop.adapters import notes_store
from ctxtop.core import notes as core_notes
from ctxtop.services import notes


def _session(payload: dict[str, Any]) -> tuple[str, str | None]:
    session_id = payload.get("session_id")
    transcript = payload.get("transcript_path")
    if not isinstance(session_id, str) or not session_id:
        raise ValueError("hook payload has no session_id")
    return session_id, transcript if isinstance(transcript, str) and transcript else None


def pre_compact(payload: dict[str, Any]) -> str | None:
    """Rebuild and store the notes; return the instructions appended to the summariser's prompt."""
    session_id, transcript = _session(payload)
    text = notes.rebuild(session_id, transcript)
    if text is None:
        return None
    return core_notes.summariser_instructions(text)


def session_start(payload: dict[str, Any]) -> str | None:
    """After a compaction, hand the newest notes back to the model as ``additionalContext``."""
    if payload.get("source") != "compact":
        return None
    session_id, transcript = _session(payload)
    text = notes.rebuild(session_id, transcript) or notes_store.load_notes(session_id)
    if not text:
        return None
    reply = {
        "hookSpecificOutput": {
            "hookEventName": "SessionStart",
            "additionalContext": core_notes.additional_context(text),
        }
    }
    return json.dumps(reply, ensure_ascii=False)
