"""Where the context goes and what survived each compaction, for many sessions at once: the roll-ups the
report commands, the TUI's history and its alerts share (one function per figure, so they always agree)."""

from __future__ import annotations

from collections.abc import Iterable

from ctxtop.adapters.index import Index
from ctxtop.core.breakdown import Rollup, rollup
from ctxtop.core.forensics import Retention
from ctxtop.core.metrics import SessionStats
from ctxtop.services.context_io import session_groups, session_retention


def tool_rollup(index: Index, sessions: Iterable[SessionStats]) -> list[Rollup]:
    """Re-read cost per project and tool (or category) over ``sessions`` with a transcript on disk."""
    chosen = list(sessions)
    groups = session_groups(index, [s.session_id for s in chosen])
    return rollup((s.cwd or "?", groups[s.session_id]) for s in chosen if s.session_id in groups)


def compaction_retention(
    index: Index, sessions: Iterable[SessionStats]
) -> list[tuple[SessionStats, list[Retention] | None]]:
    """Each session, oldest first, with what survived its compactions (None: no transcript on disk)."""
    return [
        (s, session_retention(index, s.session_id)) for s in sorted(sessions, key=lambda s: s.first_ts or 0)
    ]


def lost_open_tasks(index: Index, session_id: str) -> Retention | None:
    """The session's latest compaction when it lost open tasks of ctxtop's notes, else None."""
    found = session_retention(index, session_id) or []
    latest = found[-1] if found else None
    return latest if latest is not None and latest.lost_open_tasks else None
