"""What ``ctxtop budget allow`` grants and what the budget hook has already asked, kept in the data dir.

``<data dir>/budgets/`` (0700) holds one empty file (0600) per grant, so granting and taking never race on a
shared file: ``allow-session-<id>`` lets that session's next held-back prompt through and is removed when
used (``os.unlink`` succeeds for exactly one taker); ``allow-day-<YYYY-MM-DD>`` lets every prompt through
for that local day and is pruned after it. ``asked-compact-<id>`` records that the session was already asked
to compact before its hard limit, so it is asked once.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from ctxtop.adapters import paths

SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def state_dir() -> Path:
    return paths.data_dir() / "budgets"


def _touch(name: str) -> Path:
    folder = paths.ensure_private_dir(state_dir())
    path = folder / name
    fd = paths.open_private(path, os.O_WRONLY | os.O_CREAT, 0o600)
    os.close(fd)
    return path


def _check_id(session_id: str) -> str:
    if not SAFE_ID.match(session_id):
        raise ValueError(f"not a session id: {session_id!r}")
    return session_id


def allow_session(session_id: str) -> Path:
    """Let ``session_id``'s next held-back prompt through (once)."""
    return _touch(f"allow-session-{_check_id(session_id)}")


def allow_day(day: str) -> Path:
    """Let every prompt through on the local day ``day`` (``YYYY-MM-DD``); older grants are pruned."""
    if not _DAY.match(day):
        raise ValueError(f"not a day: {day!r}")
    path = _touch(f"allow-day-{day}")
    for old in state_dir().glob("allow-day-*"):
        if old.name[len("allow-day-") :] < day:
            old.unlink(missing_ok=True)
    return path


def day_allowed(day: str) -> bool:
    return (state_dir() / f"allow-day-{day}").is_file()


def take_session_allowance(session_id: str) -> bool:
    """True once per ``allow_session``: the grant is used up by this call."""
    if not SAFE_ID.match(session_id):
        return False
    try:
        os.unlink(state_dir() / f"allow-session-{session_id}")
    except FileNotFoundError:
        return False
    return True


def pending(session_id: str | None = None) -> list[str]:
    """The grants not used yet (file names), for ``ctxtop budget status``."""
    try:
        names = sorted(p.name for p in state_dir().glob("allow-*"))
    except OSError:
        return []
    if session_id is not None:
        names = [n for n in names if n == f"allow-session-{session_id}" or n.startswith("allow-day-")]
    return names


def asked_compact(session_id: str) -> bool:
    return SAFE_ID.match(session_id) is not None and (state_dir() / f"asked-compact-{session_id}").is_file()


def mark_asked_compact(session_id: str) -> None:
    _touch(f"asked-compact-{_check_id(session_id)}")
