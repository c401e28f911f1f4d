"""Rendered report rows kept in the index: a warm ``report sessions --json`` splices stored bytes.

A row is the JSON object the report prints for one session (orjson, indented as it sits in the report's
list). It is served again only while everything it was rendered from is unchanged: the session's cached
stats text and its archived/deleted flags (compared in SQL, so nothing is decoded), and ``inputs``, the
caller's key for the rest (config, settings files, environment, what Claude Code reported, ctxtop's code).
Anything else is rendered afresh by the caller and stored back.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

from ctxtop.adapters.index import Index

SCHEMA = """
CREATE TABLE IF NOT EXISTS rows (
    session_id TEXT PRIMARY KEY, stats TEXT, archived INTEGER, deleted INTEGER,
    inputs TEXT, cwd TEXT, first_ts REAL, body BLOB
)
"""
"""``stats``/``archived``/``deleted``: the session's as rendered; ``cwd`` and ``first_ts`` those of its stats
(what ``--project`` and ``--until`` test), so a stored row is filtered without decoding anything."""


class Stored:
    """One session in the report's order, with its stored row when that row is still current."""

    __slots__ = ("session_id", "source", "archived", "inputs", "cwd", "first_ts", "body")

    def __init__(
        self,
        session_id: str,
        source: str | None,
        archived: int,
        inputs: str | None,
        cwd: str | None,
        first_ts: float | None,
        body: bytes | None,
    ) -> None:
        self.session_id = session_id
        self.source = source
        self.archived = archived
        self.inputs = inputs
        """None: no row, or one rendered from other stats (render afresh)."""
        self.cwd = cwd
        self.first_ts = first_ts
        self.body = body


def stored(index: Index, since: float | None = None) -> list[Stored]:
    """The sessions ``Index.sessions`` would list (scope, ``since``), in its order, each with its stored row
    where the row was rendered from the session's current stats and flags (``report_fast.stored_rows``, the
    one query both paths serve rows with)."""
    from ctxtop.report_fast import stored_rows

    return [Stored(*row) for row in stored_rows(index.conn, index.scope, since)]


def store(index: Index, rendered: Iterable[tuple[str, str, str | None, float | None, bytes]]) -> bool:
    """Keep rows rendered now: (session_id, inputs, cwd, first_ts, body), each with the session's stats and
    flags as the caller's open read transaction sees them (it commits). False when another process wrote
    the index since that transaction began: then nothing is kept this time (the rows may be stale)."""
    items = list(rendered)
    if not items:
        return True
    conn = index.conn
    try:
        conn.execute(SCHEMA)
        conn.executemany(
            "INSERT OR REPLACE INTO rows SELECT s.session_id, s.stats, s.archived, s.deleted, ?, ?, ?, ? "
            "FROM sessions s WHERE s.session_id = ?",
            [(inputs, cwd, first_ts, body, sid) for sid, inputs, cwd, first_ts, body in items],
        )
    except sqlite3.OperationalError:
        return False  # busy (a newer snapshot exists) or read-only: the caller rolls back
    return True
