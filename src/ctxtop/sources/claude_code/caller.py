"""Which Claude Code session is calling ctxtop's MCP server.

What Claude Code hands a stdio MCP server it starts, measured with the real CLI (2.1.197 and 2.1.332,
``tests/e2e/test_mcp_e2e.py``): the server's cwd is the project dir, its parent process is the ``claude``
process itself, and its environment is Claude Code's own plus ``CLAUDE_CODE_SESSION_ID`` (the session id),
``CLAUDE_PROJECT_DIR``, ``CLAUDECODE=1`` and ``CLAUDE_CODE_ENTRYPOINT`` (``CLAUDE_CONFIG_DIR`` when the user
set one). The MCP ``initialize`` request names the client (``claude-code`` and its version), not the session.

The server is started once per Claude Code process and outlives the session it was started for: after
``/clear`` the same server keeps ``CLAUDE_CODE_SESSION_ID`` of the first session, while the
process's live-session file ``<config dir>/sessions/<pid>.json`` names the new one. So the live-session file
of the nearest ancestor process wins (2.1.197 and 2.1.332 write one in `-p` runs too), and the variable is
the fallback (a file that cannot be read, or does not belong to the running process).
Each Claude Code process starts its own server, so two sessions in the same project never share one.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ctxtop.sources.claude_code import layout, live

SESSION_ENV = "CLAUDE_CODE_SESSION_ID"
MAX_ANCESTORS = 8
"""How far up the process tree to look for Claude Code (a wrapper script or two may sit between)."""


class NoCaller(Exception):
    """The server was not started by Claude Code (or by one that says nothing of its session)."""


@dataclass(frozen=True, slots=True)
class Caller:
    session_id: str
    how: str
    """Where the id came from: ``<config dir>/sessions/<pid>.json`` or ``$CLAUDE_CODE_SESSION_ID``."""
    pid: int | None
    """The Claude Code process, when found up the process tree."""
    project_dir: str | None


def _stat(pid: int) -> list[bytes]:
    """The fields of ``/proc/<pid>/stat`` after the command name (empty where there is no /proc)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            stat = fh.read()
    except OSError:
        return []
    # The command name (field 2) may hold spaces and parentheses: fields after its last ")" are fixed.
    return stat[stat.rfind(b")") + 2 :].split()


def parent_of(pid: int) -> int | None:
    """The parent pid (None where there is no /proc, or the process is gone)."""
    fields = _stat(pid)
    try:
        return int(fields[1])
    except (IndexError, ValueError):
        return None


def start_time(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (field 22), as Claude Code records ``procStart``."""
    fields = _stat(pid)
    return fields[19].decode() if len(fields) > 19 else None


def _live_file(path: Path, pid: int) -> tuple[str, str | None] | None:
    """(session id, cwd) from a live-session file that is about process ``pid`` as it runs now."""
    found = live.read(path, path.parent.parent)
    if found is None or found.pid != pid:
        return None
    # A file left by a dead process whose pid was reused names another session: Claude Code 2.1.332
    # records the process's start time, which then differs.
    if found.started is not None and found.started != start_time(pid):
        return None
    return found.session_id, found.cwd


def ancestors(start: int, limit: int = MAX_ANCESTORS) -> list[int]:
    """``start`` and its ancestors, nearest first, up to (not including) init."""
    found: list[int] = []
    pid: int | None = start
    while pid is not None and pid > 1 and len(found) < limit and pid not in found:
        found.append(pid)
        pid = parent_of(pid)
    return found


def caller(
    env: Mapping[str, str] | None = None,
    ppid: int | None = None,
    config_dirs: list[Path] | None = None,
) -> Caller:
    """The calling session: the nearest ancestor's live-session file, else ``$CLAUDE_CODE_SESSION_ID``.

    Raises ``NoCaller`` when neither says anything (the server was started by something else).
    """
    env = os.environ if env is None else env
    ppid = os.getppid() if ppid is None else ppid
    dirs = config_dirs if config_dirs is not None else layout.claude_config_dirs()
    project = env.get("CLAUDE_PROJECT_DIR") or None
    for pid in ancestors(ppid):
        for config_dir in dirs:
            path = live.sessions_dir(config_dir) / f"{pid}.json"
            found = _live_file(path, pid)
            if found is not None:
                return Caller(found[0], str(path), pid, project or found[1])
    session_id = (env.get(SESSION_ENV) or "").strip()
    if session_id:
        return Caller(session_id, f"${SESSION_ENV}", None, project)
    raise NoCaller(
        f"no Claude Code session found: ${SESSION_ENV} is not set and no ancestor process has a "
        f"live-session file in {', '.join(str(live.sessions_dir(d)) for d in dirs)}. "
        "`ctxtop mcp` is meant to be started by Claude Code (ctxtop claude install --mcp)."
    )
