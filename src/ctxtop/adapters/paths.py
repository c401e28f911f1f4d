"""Where ctxtop reads and writes: platformdirs locations and Claude Code config-dir discovery.

Every location can be overridden by an environment variable so tests (and users) can point ctxtop at a
temporary world without touching ``~``:

- ``CTXTOP_CONFIG_DIR``  config TOML, user themes, user filter rules
- ``CTXTOP_CACHE_DIR``   SQLite index
- ``CTXTOP_DATA_DIR``    compaction notes, raw outputs saved by the filter
- ``CTXTOP_API_LOG_DIR`` API session logs written by ``ctxtop.api``
"""

from __future__ import annotations

import os
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


def index_file(cache: Path | None = None) -> Path:
    return (cache or cache_dir()) / "index.sqlite3"


def notes_dir() -> Path:
    return data_dir() / "notes"


def raw_outputs_dir() -> Path:
    return data_dir() / "raw-outputs"


def claude_config_dirs(explicit: list[str] | None = None) -> list[Path]:
    """The Claude Code config dirs to read, in order, without duplicates.

    ``explicit`` (from ``--claude-dir``) wins; else ``$CLAUDE_CONFIG_DIR`` (comma separated list allowed);
    else ``~/.claude`` and ``~/.config/claude``. Dirs that do not exist are kept: callers report them.
    """
    if explicit:
        candidates = [Path(p).expanduser() for p in explicit]
    else:
        env = os.environ.get("CLAUDE_CONFIG_DIR", "").strip()
        if env:
            candidates = [Path(p.strip()).expanduser() for p in env.split(",") if p.strip()]
        else:
            home = Path.home()
            candidates = [home / ".claude", home / ".config" / "claude"]
    seen: set[str] = set()
    result: list[Path] = []
    for path in candidates:
        key = os.path.realpath(path)
        if key not in seen:
            seen.add(key)
            result.append(path)
    return result


def ensure_private_dir(path: Path) -> Path:
    """Create ``path`` (and parents) readable by the user only."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        os.chmod(path, 0o700)
    except OSError:
        pass
    return path
