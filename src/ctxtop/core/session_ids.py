"""Short session ids: what every surface shows of a session id, and what every command accepts back.

Claude Code's session ids are random UUIDs (version 4): their first 8 characters tell sessions apart. Codex
names its sessions with time-ordered UUIDs (version 7): the first 12 hex digits are the start time in
milliseconds, so sessions started within a minute or so share their first 8 characters. Of those the
random tail (the last 8 characters) is shown instead. Where two shown ids still look the same, both are
lengthened until they differ. A short id is accepted wherever a session id is: a prefix of any id, or the
tail of a version-7 id.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

SHORT = 8
"""Characters of a short id (the session column of the TUI and the reports is this wide)."""

_UUID7 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$", re.IGNORECASE)


def time_ordered(session_id: str) -> bool:
    """``session_id`` is a version-7 UUID (its head is a timestamp, its tail random)."""
    return _UUID7.match(session_id) is not None


def short_id(session_id: str, length: int = SHORT) -> str:
    """The id as shown: the random tail of a version-7 UUID, else the head."""
    if time_ordered(session_id):
        return session_id[-length:]
    return session_id[:length]


def short_ids(session_ids: Iterable[str], length: int = SHORT) -> dict[str, str]:
    """Each id's short form, unique among ``session_ids`` (ids that would look the same are lengthened)."""
    ids = list(dict.fromkeys(session_ids))
    out = {sid: short_id(sid, length) for sid in ids}
    clash = _clashes(out)
    n = length
    while clash:
        n += 1
        for sid in clash:
            out[sid] = short_id(sid, n)
        clash = {sid for sid in _clashes(out) if len(out[sid]) < len(sid)}
    return out


def _clashes(shown: dict[str, str]) -> set[str]:
    seen: dict[str, list[str]] = {}
    for sid, text in shown.items():
        seen.setdefault(text, []).append(sid)
    return {sid for group in seen.values() if len(group) > 1 for sid in group}


def matches(session_id: str, text: str) -> bool:
    """``text`` (typed by a user) names ``session_id``: a prefix of it, or the tail of a version-7 id (the
    empty text names every session: the caller lists them as ambiguous)."""
    return session_id.startswith(text) or (time_ordered(session_id) and session_id.endswith(text))


def resolve(session_ids: Iterable[str], text: str) -> list[str]:
    """The ids ``text`` names (sorted); an exact id wins over the longer ones it also starts."""
    found = sorted({sid for sid in session_ids if matches(sid, text)})
    return [text] if text in found else found
