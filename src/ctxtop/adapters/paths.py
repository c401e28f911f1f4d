"""Where ctxtop reads and writes: platformdirs locations, and the checks that keep them private.

Every location can be overridden by an environment variable so tests (and users) can point ctxtop at a
temporary world without touching ``~``:

- ``CTXTOP_CONFIG_DIR``  config TOML, user themes, user filter rules
- ``CTXTOP_CACHE_DIR``   where earlier versions kept the index (moved to the data dir on first run)
- ``CTXTOP_DATA_DIR``    SQLite index (the only copy of archived history), compaction notes, raw outputs
- ``CTXTOP_API_LOG_DIR`` API session logs written by ``ctxtop.api``
"""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

APP = "ctxtop"


# platformdirs' XDG rules on Linux, without importing it (it pulls in tempfile and shutil: ~8 ms that the
# statusline and the hooks would pay on every model turn). A test checks these agree with platformdirs.
_XDG = {
    "config": ("XDG_CONFIG_HOME", ".config"),
    "cache": ("XDG_CACHE_HOME", ".cache"),
    "data": ("XDG_DATA_HOME", ".local/share"),
    "log": ("XDG_STATE_HOME", ".local/state"),
}


def _dir(env: str, kind: str) -> Path:
    override = os.environ.get(env)
    if override:
        return Path(override).expanduser()
    if sys.platform.startswith("linux") and "ANDROID_DATA" not in os.environ:
        var, default = _XDG[kind]
        base = os.environ.get(var, "").strip() or os.path.expanduser(f"~/{default}")
        return Path(base) / APP / "log" if kind == "log" else Path(base) / APP
    import platformdirs

    return Path(getattr(platformdirs, f"user_{kind}_dir")(APP, appauthor=False))


def config_dir() -> Path:
    return _dir("CTXTOP_CONFIG_DIR", "config")


def cache_dir() -> Path:
    return _dir("CTXTOP_CACHE_DIR", "cache")


def data_dir() -> Path:
    return _dir("CTXTOP_DATA_DIR", "data")


def api_log_dir() -> Path:
    override = os.environ.get("CTXTOP_API_LOG_DIR")
    if override:
        return Path(override).expanduser()
    return _dir("CTXTOP_LOG_DIR", "log") / "api"


def config_file() -> Path:
    return config_dir() / "config.toml"


def notes_dir() -> Path:
    return data_dir() / "notes"


def raw_outputs_dir() -> Path:
    return data_dir() / "raw-outputs"


class UnsafePathError(PermissionError):
    """A location ctxtop refuses to use: a symbolic link, not a directory, or owned by another user."""


def check_private(path: Path, info: os.stat_result, kind: str = "directory") -> None:
    """Raise :class:`UnsafePathError` unless ``info`` (from ``lstat``) is a real ``kind`` of this user."""
    if stat.S_ISLNK(info.st_mode):
        raise UnsafePathError(
            f"ctxtop refuses to use {path}: it is a symbolic link (another user could redirect ctxtop's "
            "writes through it); remove it, or point ctxtop at the real location with its environment variable"
        )
    wanted = stat.S_ISDIR if kind == "directory" else stat.S_ISREG
    if not wanted(info.st_mode):
        raise UnsafePathError(f"ctxtop refuses to use {path}: it is not a {kind}")
    if hasattr(os, "geteuid") and info.st_uid != os.geteuid():
        raise UnsafePathError(
            f"ctxtop refuses to use {path}: it belongs to user id {info.st_uid}, not to you "
            f"({os.geteuid()}); remove it or fix its owner"
        )


def ensure_private_dir(path: Path) -> Path:
    """Create ``path`` user-only (0700, and 0700 for every parent it creates), or check and tighten it.

    An existing ``path`` must be a real directory (not a symbolic link) owned by this user, else
    :class:`UnsafePathError` (an ``OSError``) says why. Parents that already exist are not checked: a user's
    symlinked ``~/.local`` is theirs to have.
    """
    missing = []
    probe = path
    while not os.path.lexists(probe) and probe != probe.parent:
        missing.append(probe)
        probe = probe.parent
    for folder in reversed(missing):
        try:
            os.mkdir(folder, 0o700)
        except FileExistsError:
            pass  # a concurrent ctxtop made it: checked below like any existing one
    flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags)
    except OSError:
        check_private(path, os.lstat(path))  # says why (a link, not a directory)
        raise
    try:
        check_private(path, os.fstat(fd))
        if stat.S_IMODE(os.fstat(fd).st_mode) != 0o700:
            os.fchmod(fd, 0o700)
    finally:
        os.close(fd)
    return path


_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


def open_private(path: Path, flags: int, mode: int = 0o600) -> int:
    """``os.open`` that never follows a symbolic link at ``path`` and refuses what is not this user's file.

    Returns the descriptor; raises :class:`UnsafePathError` (planted link, FIFO, another user's file) or
    ``OSError``. ``O_NONBLOCK`` keeps a FIFO from hanging the open; it changes nothing for a regular file.
    """
    try:
        fd = os.open(
            path, flags | _NOFOLLOW | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0), mode
        )
    except OSError as exc:
        try:
            info = os.lstat(path)
        except OSError:
            raise exc from None
        check_private(path, info, "regular file")
        raise
    try:
        check_private(path, os.fstat(fd), "regular file")
    except BaseException:
        os.close(fd)
        raise
    return fd


def read_private(path: Path) -> bytes:
    """The content of this user's regular file ``path``, never read through a symbolic link."""
    with os.fdopen(open_private(path, os.O_RDONLY), "rb") as fh:
        return fh.read()


def refuse_link(path: Path) -> None:
    """Raise :class:`UnsafePathError` when ``path`` exists and is not this user's regular file."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return
    check_private(path, info, "regular file")
