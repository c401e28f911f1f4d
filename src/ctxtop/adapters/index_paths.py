"""Rows of files known under another name, adopted by the name the sources list now, not read again.

An index written before files were known by their resolved path (a symlinked or relative ``--claude-dir``)
holds its files under the names given then. Listed now under their resolved names, they would look new:
read again from the first byte, and every row doubled. A listed file not in the index is the same file as a
known one when both have one device and inode and the file still holds what was indexed of it (the
fingerprint of the indexed prefix); its rows, in every table, then take the new name.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable
from pathlib import Path

from ctxtop.adapters.tailer import FileState, restarts


def moves(
    conn: sqlite3.Connection, todo: Iterable[tuple[Path, str]], known: dict[str, FileState], listed: set[str]
) -> list[tuple[str, str]]:
    """(known name, listed name) of the listed files not in the index that are known files under another,
    unlisted name."""
    new = [str(p) for p, _ in todo if str(p) not in known]
    if not new:
        return []
    by_inode = {(s.dev, s.ino): path for path, s in known.items() if s.ino and path not in listed}
    if not by_inode:
        return []
    found = []
    for path in new:
        try:
            st = os.stat(path)
        except OSError:
            continue
        old = by_inode.get((st.st_dev, st.st_ino))
        if old is None or restarts(path, known[old]):
            continue  # not that file, or no longer what was indexed of it (its inode reused, rewritten)
        if conn.execute("SELECT 1 FROM files WHERE path=?", (path,)).fetchone() is not None:
            continue  # a row of its own already (e.g. gone): reading it decides, as for any file
        found.append((old, path))
        del by_inode[(st.st_dev, st.st_ino)]
    return found


def rename(conn: sqlite3.Connection, renames: list[tuple[str, str]]) -> None:
    """Give every row of each known name the new one (inside the caller's write transaction)."""
    if not renames:
        return
    conn.execute("CREATE TEMP TABLE IF NOT EXISTS moves (old TEXT PRIMARY KEY, new TEXT)")
    conn.execute("DELETE FROM moves")
    conn.executemany("INSERT INTO moves VALUES (?, ?)", renames)
    # ``copies`` and ``requests.file`` name a file by its number (``files.fid``), which keeps with its row.
    for table, column in (("files", "path"), ("session_files", "path"), ("compacts", "file")):
        conn.execute(
            f"UPDATE OR REPLACE {table} SET {column} = (SELECT new FROM moves WHERE old = {table}.{column}) "
            f"WHERE {column} IN (SELECT old FROM moves)"
        )
    # A request's rank ends with the name of the file that made its owner ("<start><flag>|<path>").
    conn.execute(
        "UPDATE requests SET rank = substr(rank, 1, instr(rank, '|')) || (SELECT new FROM moves "
        "WHERE old = substr(requests.rank, instr(requests.rank, '|') + 1)) "
        "WHERE substr(rank, instr(rank, '|') + 1) IN (SELECT old FROM moves)"
    )
    conn.execute("DELETE FROM moves")
