"""Rendered report rows kept in the index: a warm ``report sessions --json`` splices stored bytes.

A row is the JSON object the report prints for one session (orjson, indented as it sits in the report's
list). It is served again only while everything it was rendered from is unchanged: the session's cached
stats text and its archived/deleted flags (compared in SQL, so nothing is decoded), and ``inputs``, the
caller's key for the rest (config, settings files, environment, what Claude Code reported, ctxtop's code).
Anything else is rendered afresh by the caller and stored back.

The whole output of an unfiltered run is kept too (``store_output``), for ``report_fast`` to print as it is:
triggers drop it at the first row written in a table it was rendered from (``report_fast.WATCHED``), so it
is never older than the index.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import Any

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
    where the row was rendered from the session's current stats and flags."""
    from ctxtop.report_fast import scope_sql

    conn = index.conn
    kept = conn.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='rows'").fetchone()
    # An index from before rows were kept has no such table: every session is rendered (and stored).
    columns = "r.inputs, r.cwd, r.first_ts, r.body" if kept else "NULL, NULL, NULL, NULL"
    join = (
        "LEFT JOIN rows r ON r.session_id = s.session_id AND r.stats = s.stats "
        "AND r.archived IS s.archived AND r.deleted IS s.deleted "
        if kept
        else ""
    )
    sql = (
        f"SELECT s.last_ts, s.session_id, s.source, s.archived, {columns} FROM sessions s {join}"
        "WHERE s.stats IS NOT NULL AND s.last_ts IS NOT NULL"
    )
    args: list[object] = []
    if since is not None:
        sql += " AND s.last_ts >= ?"
        args.append(since)
    scope, scope_args = scope_sql(index.scope, "s.session_id", exists=True)
    rows = conn.execute(sql + scope, args + scope_args).fetchall()
    # Sorted here as Index.sessions' ORDER BY sorts (last_ts descending, then session_id), not by SQLite:
    # its sorter would carry every stored row's bytes (at 1 GB it spilled 3 MB to a temporary file).
    rows.sort(key=lambda r: (-r[0], r[1]))
    return [Stored(*row[1:]) for row in rows]


def store(index: Index, rendered: Iterable[tuple[str, str, str | None, float | None, bytes]]) -> bool:
    """Keep rows rendered now: (session_id, inputs, cwd, first_ts, body), each with the session's stats and
    flags as the caller's open read transaction sees them (it commits). False when another process wrote
    the index since that transaction began: then nothing is kept this time (the rows may be stale)."""
    items = list(rendered)
    if not items:
        return True
    if index.lock_elsewhere:
        # Another ctxtop holds the write lock: not a second wait for it (the next run keeps them).
        return False
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


def store_output(index: Index, name: str, checks: dict[str, Any] | None, body: bytes) -> bool:
    """Keep ``body``, the output of report ``name`` (``report_fast.output_name``) with no filter, rendered in
    the caller's open transaction from the sessions in ``index.scope``, with ``checks``
    (``report_fast.output_checks``; None: none may be kept, and none is), for ``report_fast`` to print while
    nothing changes. The caller commits. False: another process wrote the index meanwhile (nothing kept)."""
    from ctxtop.adapters.atomic import write_atomic
    from ctxtop.report_fast import OUTPUT, TRIGGERS, dumps, loads, output_file, output_key, read_output, stamp

    conn = index.conn
    if checks is None or index.scope is None:
        return True  # nothing to keep (one kept before is still what it says, or gone with a change)
    if index.lock_elsewhere:
        return False  # another ctxtop holds the write lock: not a second wait for it
    file = output_file(str(index.path), name)
    key = output_key(name)
    roots = list(index.scope)
    try:
        if conn.execute("SELECT 1 FROM sessions WHERE dirty=1 LIMIT 1").fetchone() is not None:
            return True  # figures not worked out yet: the next update renders them
        row = conn.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        kept = loads(row[0]) if row else None
        if (
            isinstance(kept, dict)
            and kept.get("roots") == roots
            and kept.get("checks") == checks
            and read_output(file, kept.get("file")) == body
        ):
            return True  # as kept
        have = dict(conn.execute("SELECT name, sql FROM sqlite_master WHERE type='trigger'").fetchall())
        if any(have.get(trigger) != sql for trigger, (_table, sql) in TRIGGERS.items()):
            for trigger, (_table, sql) in TRIGGERS.items():
                conn.execute(f"DROP TRIGGER IF EXISTS {trigger}")
                conn.execute(sql)
            conn.execute(f"DROP TABLE IF EXISTS {OUTPUT}")  # where a first version kept the output
            conn.execute("DELETE FROM meta WHERE key = ?", (OUTPUT,))  # and its second
        conn.execute("DELETE FROM meta WHERE key=?", (key,))
        # A new file (a new inode): a stamp kept before names no file any more, whichever run commits.
        # The stamp names the file by its inode: were the replace lost in a crash, the old file there would
        # not be taken for this one, so the directory need not be synced (~15 ms of a cold report).
        write_atomic(Path(file), body, mode=0o600, sync_dir=False)
        written = stamp(file)
        if written is None or written[2] != len(body):
            return True
        conn.execute(
            "INSERT INTO meta VALUES (?, ?)",
            (key, dumps({"roots": roots, "checks": checks, "file": written})),
        )
    except sqlite3.OperationalError:
        return False  # busy (a newer snapshot exists) or read-only: the caller rolls back
    except OSError:
        return True  # the data dir cannot be written: no output kept, the rows are
    return True
