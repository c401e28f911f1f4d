"""Directory listings kept in the index: a warm update lists again only the directories that changed.

What a walk of the sources' roots found in each directory (``sources.base.Listings``) is stored with the
directory's stamp; the next update stats every directory it walks and lists only those whose stamp moved (a
new file in an old directory, a new directory). Every known file is still stat'ed for appends.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

from ctxtop.adapters.tree import Listings

SCHEMA = """
CREATE TABLE IF NOT EXISTS dirs (
    path TEXT PRIMARY KEY, dev INTEGER, ino INTEGER, mtime_ns INTEGER, ctime_ns INTEGER, dirs TEXT, files TEXT
)
"""
"""``dirs``/``files``: the directory's entries, joined by "/" (the one character no name holds)."""


def _split(names: str) -> list[str]:
    return names.split("/") if names else []


def load(conn: sqlite3.Connection) -> Listings:
    """The listings stored by earlier updates (none in an index from before they were kept)."""
    if conn.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='dirs'").fetchone() is None:
        return Listings({})
    return Listings(
        {
            path: ((dev, ino, mtime, ctime), _split(dirs), _split(files))
            for path, dev, ino, mtime, ctime, dirs, files in conn.execute("SELECT * FROM dirs")
        }
    )


def save(conn: sqlite3.Connection, listings: Listings, roots: Iterable[str], *, wait: bool = True) -> bool:
    """Store what changed, and forget the directories under ``roots`` that the walk no longer reached.

    Best effort, in its own short transaction: when another process holds the index, the next update lists
    those directories again (a listing is a fact about the file system, right whichever process stored it).
    ``wait=False``: not at all (the write lock is known to be taken: no second wait for it). False when
    the lock was taken (nothing stored)."""
    roots = sorted(roots)
    prefixes = tuple(r.rstrip("/") + "/" for r in roots)
    gone = [p for p in listings.known if p.startswith(prefixes) and p not in listings.visited]
    gone += [p for p, v in listings.changed.items() if v is None]
    fresh = [
        (path, *stamp, "/".join(dirs), "/".join(files))
        for path, value in listings.changed.items()
        if value is not None
        for stamp, dirs, files in (value,)
    ]
    # Whether every directory this walk reached is kept: only then does the kept set alone say what a walk
    # of these roots would find (``report_fast`` trusts it; anything else sends it to the full path).
    complete = all(p in listings.known for p in listings.visited)
    state = "\0".join(roots) if complete else ""
    row = conn.execute("SELECT value FROM meta WHERE key='walk_complete'").fetchone()
    if not fresh and not gone and (row[0] if row else None) == state:
        return True
    own = not conn.in_transaction
    if own and not wait:
        return False
    try:
        if own:
            conn.execute("BEGIN IMMEDIATE")
        conn.execute(SCHEMA)
        conn.executemany("DELETE FROM dirs WHERE path=?", [(p,) for p in gone])
        conn.executemany("INSERT OR REPLACE INTO dirs VALUES (?,?,?,?,?,?,?)", fresh)
        conn.execute("INSERT OR REPLACE INTO meta VALUES ('walk_complete', ?)", (state,))
        if own:
            conn.execute("COMMIT")
    except sqlite3.OperationalError as exc:
        if own and conn.in_transaction:
            conn.execute("ROLLBACK")
        from ctxtop.adapters.index import _busy

        return not _busy(exc)
    return True
