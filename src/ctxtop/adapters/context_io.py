"""A session's context breakdown, read from its main transcript on demand (nothing of it is cached).

The index knows which file is a session's main transcript; this reads it once, skipping (and counting) the
lines that do not decode, and hands the decoded lines to ``core.context_pieces`` and ``core.breakdown``.
"""

from __future__ import annotations

from dataclasses import dataclass

from ctxtop.adapters.index import Index
from ctxtop.adapters.jsonl import decode_line
from ctxtop.adapters.tailer import open_regular
from ctxtop.core.breakdown import Breakdown, build
from ctxtop.core.context_pieces import claude_events


@dataclass(slots=True)
class SessionBreakdown:
    session_id: str
    path: str
    breakdown: Breakdown
    malformed: int = 0
    """Lines of the transcript that did not decode (skipped)."""


def match_sessions(index: Index, prefix: str) -> list[str]:
    """Session ids of the index starting with ``prefix`` (an exact id wins over longer ones)."""
    rows = [r[0] for r in index.conn.execute(
        "SELECT session_id FROM sessions WHERE session_id >= ? AND session_id < ? ORDER BY session_id",
        (prefix, prefix + "\U0010ffff"),
    )]  # fmt: skip
    return [prefix] if prefix in rows else rows


def read_lines(path: str) -> tuple[list[object], int]:
    """The decoded lines of a transcript and how many did not decode."""
    lines: list[object] = []
    malformed = 0
    with open(open_regular(path), "rb") as fh:  # never a FIFO planted under the name
        for raw in fh:
            if not raw.strip():
                continue
            try:
                lines.append(decode_line(raw))
            except ValueError:
                malformed += 1
    return lines, malformed


def session_breakdown(index: Index, session_id: str, *, keep_steps: bool = False) -> SessionBreakdown | None:
    """The breakdown of a Claude Code session's main chain; None when its main transcript is not on disk."""
    path = index.transcript_path(session_id)
    if path is None:
        return None
    try:
        lines, malformed = read_lines(path)
    except OSError:
        return None
    bd = build(claude_events(lines), index.prices, keep_steps=keep_steps)
    return SessionBreakdown(session_id, path, bd, malformed)
