"""Running Claude Code processes, as they describe themselves in ``<config dir>/sessions/<pid>.json``.

Claude Code (2.1+) keeps one small JSON file per running process with the session it is on, its cwd and what
it is doing (``busy``, ``idle``, ``waiting``). Files of processes that died without cleaning up are ignored:
the pid must be alive.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class LiveSession:
    pid: int
    session_id: str
    cwd: str | None
    status: str
    """What the process says it is doing: "busy", "idle", "waiting" (free text from Claude Code)."""
    config_dir: Path
    started: str | None = None
    """The process's start time as Claude Code 2.1.332 records it (``procStart``, clock ticks since boot):
    a file left by a dead process whose pid was reused then names another start time."""


def sessions_dir(config_dir: Path) -> Path:
    """Where a config dir's live-session files are: ``<config dir>/sessions/<pid>.json``."""
    return Path(config_dir) / "sessions"


def pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    except OSError:
        return False
    return True


def read(path: Path, config_dir: Path) -> LiveSession | None:
    """The live-session file ``path`` (in ``<config_dir>/sessions``), None when it cannot be read or says no session."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    session_id = data.get("sessionId") or data.get("session_id")
    if not isinstance(session_id, str) or not session_id:
        return None
    raw_pid = data.get("pid", path.stem)
    try:
        pid = int(raw_pid)
    except (TypeError, ValueError):
        return None
    status = data.get("status")
    cwd = data.get("cwd")
    started = data.get("procStart")
    return LiveSession(
        pid=pid,
        session_id=session_id,
        cwd=cwd if isinstance(cwd, str) else None,
        status=status if isinstance(status, str) and status else "running",
        config_dir=config_dir,
        started=None if started is None else str(started),
    )


def live_sessions(
    config_dirs: Iterable[Path], alive: Callable[[int], bool] = pid_alive
) -> dict[str, LiveSession]:
    """session id -> the live process on it (the newest pid wins when two claim the same session)."""
    found: dict[str, LiveSession] = {}
    for config_dir in config_dirs:
        folder = sessions_dir(config_dir)
        try:
            entries = sorted(folder.glob("*.json"))
        except OSError:
            continue
        for path in entries:
            live = read(path, Path(config_dir))
            if live is None or not alive(live.pid):
                continue
            prev = found.get(live.session_id)
            if prev is None or live.pid > prev.pid:
                found[live.session_id] = live
    return found
