"""Raw outputs the filter shortened, kept so that nothing is ever lost.

One file per filtered output in :func:`ctxtop.adapters.paths.raw_outputs_dir` (a 0700 directory), each 0600,
named ``<UTC time>-<session prefix>-<random>.txt`` so that names sort by age. A file larger than
``MAX_FILE_BYTES`` keeps its head and tail around a marker line; :func:`cut_range` says exactly which bytes
that leaves out, so the pointer line can say so. Each save prunes the directory: files older
than ``MAX_AGE_DAYS``, then the oldest until at most ``MAX_FILES`` files and ``MAX_TOTAL_BYTES`` remain.
"""

from __future__ import annotations

import os
import re
import secrets
import time
from pathlib import Path

from ctxtop.adapters import paths

MAX_FILE_BYTES = 8 * 1024 * 1024
MAX_TOTAL_BYTES = 256 * 1024 * 1024
MAX_FILES = 2000
MAX_AGE_DAYS = 14

_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


def new_path(session_id: str | None = None, folder: Path | None = None, now: float | None = None) -> Path:
    """A fresh, unused name for a raw output (the file is not created)."""
    folder = folder or paths.raw_outputs_dir()
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now if now is not None else time.time()))
    sid = _UNSAFE.sub("", session_id or "")[:8] or "nosession"
    return folder / f"{stamp}-{sid}-{secrets.token_hex(4)}.txt"


def cut_range(size: int, limit: int | None = None) -> tuple[int, int] | None:
    """The bytes ``[start, end)`` of a ``size``-byte output that :func:`cap` leaves out, or None."""
    limit = MAX_FILE_BYTES if limit is None else limit
    if size <= limit:
        return None
    half = limit // 2
    return half, size - half


def cap(data: bytes, limit: int | None = None) -> bytes:
    """``data`` if small enough, else its head and tail around a marker saying exactly what was cut."""
    cut = cut_range(len(data), limit)
    if cut is None:
        return data
    start, end = cut
    return (
        data[:start]
        + f"\n[ctxtop: {end - start} bytes cut from the middle of this raw output: bytes {start}-{end - 1}"
        f" of {len(data)}]\n".encode()
        + data[end:]
    )


def save(path: Path, data: bytes | str) -> Path:
    """Write ``data`` to ``path`` (from :func:`new_path`) user-only, then prune the directory."""
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogateescape")
    if path.parent == paths.raw_outputs_dir():
        paths.ensure_private_dir(paths.data_dir())
    paths.ensure_private_dir(path.parent)  # refuses a symlinked or foreign raw-outputs dir
    # O_EXCL: the random name is fresh; never follow a planted symlink.
    fd = paths.open_private(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(cap(data))
    prune(path.parent, keep=path)
    return path


def prune(
    folder: Path,
    *,
    keep: Path | None = None,
    now: float | None = None,
    max_files: int = MAX_FILES,
    max_bytes: int = MAX_TOTAL_BYTES,
    max_age_days: float = MAX_AGE_DAYS,
) -> int:
    """Delete old raw outputs; returns how many were removed. Never raises.

    The directory is opened without following a link and must be this user's: pruning a symlinked
    ``raw-outputs`` would delete files wherever the link points.
    """
    now = now if now is not None else time.time()
    entries = []
    flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0)
    try:
        dir_fd = os.open(folder, flags)
    except OSError:
        return 0
    try:
        paths.check_private(folder, os.fstat(dir_fd))
        with os.scandir(dir_fd) as it:
            for e in it:
                if e.name.endswith(".txt") and e.is_file(follow_symlinks=False):
                    st = e.stat(follow_symlinks=False)
                    entries.append((st.st_mtime, st.st_size, e.name))
    except OSError:
        os.close(dir_fd)
        return 0
    try:
        return _remove_oldest(dir_fd, entries, keep, now, max_files, max_bytes, max_age_days)
    finally:
        os.close(dir_fd)


def _remove_oldest(
    dir_fd: int,
    entries: list[tuple[float, int, str]],
    keep: Path | None,
    now: float,
    max_files: int,
    max_bytes: int,
    max_age_days: float,
) -> int:
    entries.sort(key=lambda item: (item[0], item[2]))
    total = sum(size for _, size, _ in entries)
    removed = 0
    for i, (mtime, size, name) in enumerate(entries):
        remaining = len(entries) - i
        too_old = now - mtime > max_age_days * 86400
        if not (too_old or remaining > max_files or total > max_bytes) or (keep and name == keep.name):
            continue
        try:
            os.unlink(name, dir_fd=dir_fd)
        except OSError:
            continue
        total -= size
        removed += 1
    return removed
