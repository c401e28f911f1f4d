"""A Codex session's title: the first request typed, read from the head of its rollout.

Codex writes what the user typed twice: as an ``event_msg`` ``user_message`` (older versions) and as a
``response_item`` user message, next to user messages it writes itself (``<environment_context>``,
``<user_instructions>``, AGENTS.md): those start with ``<`` or ``#`` and are skipped.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

HEAD_BYTES = 256 * 1024
LIMIT = 80


def _typed(obj: object) -> str | None:
    if not isinstance(obj, dict) or not isinstance(obj.get("payload"), dict):
        return None
    payload = obj["payload"]
    if obj.get("type") == "event_msg" and payload.get("type") == "user_message":
        text = payload.get("message")
    elif (
        obj.get("type") == "response_item"
        and payload.get("type") == "message"
        and payload.get("role") == "user"
    ):
        parts = payload.get("content")
        text = "".join(
            p["text"] for p in parts if isinstance(p, dict) and p.get("type") == "input_text" and isinstance(p.get("text"), str)
        ) if isinstance(parts, list) else None  # fmt: skip
    else:
        return None
    if not isinstance(text, str) or not text.strip() or text.lstrip()[:1] in ("<", "#"):
        return None
    return text


def session_title(paths: Sequence[str]) -> str | None:
    """The first request typed in the session's rollout (one line, at most ``LIMIT`` characters), or None."""
    for path in sorted(paths)[:1]:
        try:
            with open(path, "rb") as fh:
                head = fh.read(HEAD_BYTES)
        except OSError:
            return None
        for raw in head.split(b"\n"):
            if b'"user' not in raw:
                continue
            try:
                text = _typed(json.loads(raw))
            except ValueError:
                continue
            if text:
                line = " ".join(text.split())
                return line if len(line) <= LIMIT else line[: LIMIT - 1].rstrip() + "…"
    return None
