"""``ctxtop statusline``: one line for Claude Code's ``statusLine`` (its JSON arrives on stdin).

Every refresh first keeps what Claude Code reported (``ctxtop.sources.claude_code.observations``), then prints fill,
room before compaction, re-reads and cost computed by the same ``SessionView`` the report and the TUI use.

Within a time budget whatever the input: stdin is read with a deadline and a size cap; a transcript that is
not a regular file is never opened; the index update runs in a worker thread, and when it does not finish in
time (a first read of a huge transcript) the line degrades to Claude Code's own figures. Any error prints a
short fallback and exits 0, so Claude Code's status line never shows a traceback. With ``--then CMD`` (what
``claude install --statusline`` writes when you already had a statusline) your command runs first with the
same input and its output is kept, ctxtop's segment after it.

A refresh whose transcript, settings and window facts did not change since the last full render is answered
by ``ctxtop.statusline_fast`` before this module (or anything heavier) is imported; every full render here
leaves that cache behind for the next refresh.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from ctxtop import statusline_fast as fast

TYPE_CHECKING = False
if TYPE_CHECKING:  # argparse is not imported on the hook/statusline fast path
    import argparse
    from collections.abc import Callable

BUDGET = fast.BUDGET
STDIN_LIMIT = fast.STDIN_LIMIT


def _human(n: int) -> str:
    if abs(n) >= 1_000_000:
        return f"{n / 1_000_000:.1f}M"
    if abs(n) >= 1000:
        return f"{n / 1000:.0f}K"
    return str(n)


read_stdin = fast.read_stdin


def claude_figures(payload: dict) -> str:
    """The short line from Claude Code's own figures, when ctxtop cannot compute its own in time."""
    from decimal import Decimal

    from ctxtop.core.pricing import fmt_usd

    parts = []
    cw = payload.get("context_window")
    used = cw.get("used_percentage") if isinstance(cw, dict) else None
    if isinstance(used, int | float) and not isinstance(used, bool):
        parts.append(f"ctx {used:.0f}%")
    cost = payload.get("cost")
    total = cost.get("total_cost_usd") if isinstance(cost, dict) else None
    if isinstance(total, int | float) and not isinstance(total, bool):
        parts.append(fmt_usd(Decimal(str(total))))
    return " · ".join(parts) or "ctxtop: busy"


def render(payload: dict, args: argparse.Namespace) -> str:
    parts = _render(payload, args)
    return parts if isinstance(parts, str) else fast.compose(parts[0], _limits_segment(payload), parts[1])


def _render(payload: dict, args: argparse.Namespace) -> str | tuple[list[str], list[str], list[str]]:
    """The short message, or (figures, notices, the files they came from) for the line and its cache."""
    import stat

    from ctxtop.adapters import paths
    from ctxtop.core.pricing import fmt_usd
    from ctxtop.services.limits import statusline_limits
    from ctxtop.services.monitor import Monitor
    from ctxtop.sources.claude_code.env import settings_files

    transcript = payload.get("transcript_path")
    session_id = payload.get("session_id")
    if not isinstance(transcript, str) or not transcript:
        return "ctxtop: no transcript yet"
    path = Path(transcript)
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return claude_figures(payload)
    except OSError:
        return "ctxtop: waiting for the first response"
    session_id = session_id if isinstance(session_id, str) and session_id else path.stem
    # The index notice (it moved) is left to the other commands: the status line has no room for it.
    monitor = Monitor.for_transcript(path, getattr(args, "cache_dir", None))
    try:
        stats = monitor.refresh_session(path, session_id)
        if stats is None:
            return "ctxtop: waiting for the first response"
        largest = None
        if monitor.config.get("statusline.breakdown") == "on":
            from ctxtop.services.context_io import statusline_segment

            largest = statusline_segment(str(path), session_id, monitor.index.prices)
        version = payload.get("version") if isinstance(payload.get("version"), str) else None
        # Claude Code's report of this very refresh is the freshest observation there is.
        view = monitor.view(stats, observed=payload, version=version)
        claude_dir = monitor.config_dir_for(stats)
        # No plan limits in this refresh: the newest Claude Code reported, else the estimated block (kept in
        # the cached line, so it follows within FRESH_SECONDS or the transcript's next change).
        limits = "" if fast.limits_segment(payload) else statusline_limits(monitor, None, time.time())
    finally:
        monitor.close()
    config = monitor.config
    parts = []
    if view.fill is not None:
        parts.append(f"ctx {view.fill * 100:.0f}%")
    elif view.context_tokens is not None:
        parts.append(f"ctx {_human(view.context_tokens)}")
    room = view.room_before_compaction
    if room is not None:
        parts.append(f"{_human(room)} to compact" if room > 0 else "past compact point")
    parts.append(f"re-read {stats.reread_ratio * 100:.0f}%")
    if largest:
        parts.append(largest)
    parts.append(fmt_usd(stats.cost_usd))
    # A bad value falls back to its default here too; the line says so rather than show it silently.
    tail = ([limits] if limits else []) + (
        ["config.toml has problems: ctxtop doctor"] if config.problems else []
    )
    # Every file the figures came from: the cached line is served only while none of them changed.
    files = [transcript, str(config.path or paths.config_file())]
    files += [str(f) for f in settings_files(claude_dir, stats.cwd)]
    return parts, tail, files


def _limits_segment(payload: dict) -> str:
    return fast.limits_segment(payload, time.time())


def _run_user_command(command: str, raw: bytes, deadline: float) -> str:
    """The user's own statusline: same input, its first line kept; never more than the budget allows."""
    return fast._user_command(command, raw, deadline)


def run(args: argparse.Namespace) -> int:
    started = time.monotonic()
    deadline = started + BUDGET
    then = getattr(args, "then", None)
    line = ""
    payload: dict = {}
    pending, fast.PENDING = fast.PENDING, None
    if pending is not None:  # the fast path read the input already (and had no cached answer)
        raw, started = pending
        deadline = started + BUDGET
    try:
        if pending is None:
            raw = read_stdin(started + BUDGET / 3)
        data = json.loads(raw) if raw.strip() else {}
        payload = data if isinstance(data, dict) else {}
        prefix = _run_user_command(then, raw, started + BUDGET / 2) if then else ""
        from ctxtop.sources.claude_code import observations

        observations.record(payload)
        line = _join(
            prefix, _within(lambda: _render_and_keep(payload, args, then), deadline, payload, prefix)
        )
    except Exception as exc:  # noqa: BLE001 - a status line must never fail loudly
        line = f"ctxtop: {type(exc).__name__}"
    sys.stdout.write(line + "\n")
    sys.stdout.flush()
    return 0


_join = fast.join


def _render_and_keep(payload: dict, args: argparse.Namespace, then: str | None) -> str:
    """The line, and the cache the next unchanged refresh is answered from (never at the cost of the line)."""
    parts = _render(payload, args)
    if isinstance(parts, str):
        return parts
    head, tail, files = parts
    data = getattr(args, "cache_dir", None)
    try:
        fast.store(payload, os.path.expanduser(data) if data else None, files, head, tail, then)
    except OSError:
        pass
    return fast.compose(head, _limits_segment(payload), tail)


def _within(compute: Callable[[], str], deadline: float, payload: dict, prefix: str) -> str:
    """``compute()`` in a worker thread; past ``deadline``, Claude Code's own figures and exit at once."""
    import threading

    result: list[str] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            result.append(compute())
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    worker = threading.Thread(target=work, daemon=True)
    worker.start()
    worker.join(max(deadline - time.monotonic(), 0.0))
    if result:
        return result[0]
    if errors:
        raise errors[0]
    # The worker may hold the index mid-transaction: leave without waiting (SQLite rolls it back).
    sys.stdout.write(_join(prefix, claude_figures(payload)) + "\n")
    sys.stdout.flush()
    os._exit(0)
