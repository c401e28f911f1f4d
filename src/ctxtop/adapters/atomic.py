"""Atomic file writes: a temp file in the same directory, fsync, then ``os.replace``.

A kill at any point leaves either the old file or the new one, never a torn one. Symlinks are followed so
that a user's symlinked settings file keeps being a symlink to the updated target. The temp file is named
``.<name>.ctxtop-<pid>-<random>.tmp``: a kill between its creation and the replace leaves it behind, and
:func:`clean_stale_temps` recognises it as ctxtop's own (owner, name, a writer that is gone) on a later run.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path


def _temp_prefix(name: str) -> str:
    return f".{name}.ctxtop-{os.getpid()}-"


def write_atomic(path: Path, data: bytes | str, *, mode: int | None = None, sync_dir: bool = True) -> None:
    """Replace ``path`` with ``data`` atomically. ``mode`` defaults to the existing file's mode (else 0600).

    The data is synced before the replace, and the directory after it, so the new name survives a power
    loss too. ``sync_dir=False`` for a cache that names the file it wrote by its inode (a replace lost in a
    crash leaves the old inode there, which the cache then does not take for its own)."""
    target = Path(os.path.realpath(path))
    target.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8")
    if mode is None:
        try:
            mode = target.stat().st_mode & 0o777
        except FileNotFoundError:
            mode = 0o600
    import tempfile  # not at module level: the statusline and hooks import this module and rarely write

    fd, tmp = tempfile.mkstemp(prefix=_temp_prefix(target.name), suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    if not sync_dir:
        return
    try:
        dir_fd = os.open(target.parent, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)


def _writer_gone(pid: int) -> bool:
    if pid == os.getpid():
        return True  # this process is not inside a write while it cleans up
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False
    return False


def clean_stale_temps(path: Path) -> list[Path]:
    """Remove temp files an interrupted :func:`write_atomic` of ``path`` left; returns what was removed.

    Only regular files of this user named like ctxtop's temp files for ``path``, whose writing process no
    longer runs: another program's temp files, and a concurrent ctxtop's write, are left alone.
    """
    target = Path(os.path.realpath(path))
    pattern = re.compile(rf"\.{re.escape(target.name)}\.ctxtop-(\d+)-[A-Za-z0-9_]+\.tmp")
    removed: list[Path] = []
    try:
        entries = list(os.scandir(target.parent))
    except OSError:
        return removed
    for entry in entries:
        match = pattern.fullmatch(entry.name)
        if not match:
            continue
        try:
            info = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        if not stat.S_ISREG(info.st_mode) or info.st_uid != os.geteuid():
            continue
        if _writer_gone(int(match.group(1))):
            try:
                os.unlink(entry.path)
            except OSError:
                continue
            removed.append(Path(entry.path))
    return removed
