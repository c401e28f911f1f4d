"""Where the index lives: the platformdirs data dir, since it is the only copy of archived history.

Earlier versions kept it in the cache dir, which the system may clear. The first run after the upgrade moves
it: a consistent copy (SQLite's backup API, so a WAL in use is included) is written beside its new name and
linked into place, which fails rather than overwrite an index another process put there first. The old file
is removed only once the new one is in place; if anything fails, the old index is used as it was and the
caller is told why.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from ctxtop.adapters import paths

INDEX_NAME = "index.sqlite3"


def locate(explicit: str | None = None) -> tuple[Path, str | None]:
    """(path of the index to open, a notice for the user or None).

    ``explicit`` (``--data-dir``, or its old name ``--cache-dir``) is the directory of the index, as is.
    """
    if explicit:
        return Path(explicit).expanduser() / INDEX_NAME, None
    new = paths.data_dir() / INDEX_NAME
    old = paths.cache_dir() / INDEX_NAME
    if new.exists() or not old.exists() or new == old:
        return new, None
    try:
        migrate(old, new)
    except (OSError, sqlite3.Error) as exc:
        return old, f"could not move the index from {old} to {new} ({exc}); using it where it is, unchanged"
    return new, f"moved the index from {old} to {new} (it keeps the history of deleted transcripts)"


def migrate(old: Path, new: Path) -> None:
    """Copy ``old`` to ``new`` atomically, then remove ``old``; on failure ``old`` is untouched."""
    paths.ensure_private_dir(new.parent)
    tmp = new.with_name(f".{new.name}.{os.getpid()}.migrating")
    try:
        src = sqlite3.connect(old, timeout=5.0)
        try:
            dst = sqlite3.connect(tmp)
            try:
                src.backup(dst)
            finally:
                dst.close()
        finally:
            src.close()
        os.chmod(tmp, 0o600)
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(tmp, new)
        except FileExistsError:
            pass  # another ctxtop moved it first: theirs is the one in use
    finally:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
    for suffix in ("", "-wal", "-shm", ".lock"):
        try:
            os.unlink(f"{old}{suffix}")
        except FileNotFoundError:
            pass
