"""The status line's figures for Claude Code's ``statusLine`` input: fill, room before compaction, re-reads
and cost from the same ``SessionView`` the report and the TUI use, plan limits, and the cache that
``ctxtop.statusline_fast`` answers unchanged refreshes from. ``commands/statusline.py`` reads the input,
keeps the time budget and prints.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from ctxtop import statusline_fast as fast


def _human(n: int) -> str:
    if abs(n) >= 1_000_000:
        return f"{n / 1_000_000:.1f}M"
    if abs(n) >= 1000:
        return f"{n / 1000:.0f}K"
    return str(n)


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


def render(payload: dict, cache_dir: str | None = None) -> str:
    """The status line for Claude Code's statusLine input ``payload`` (no cache written)."""
    parts = _render(payload, cache_dir)
    return parts if isinstance(parts, str) else fast.compose(parts[0], _limits_segment(payload), parts[1])


def _render(payload: dict, cache_dir: str | None) -> str | tuple[list[str], list[str], list[str]]:
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
    monitor = Monitor.for_transcript(path, cache_dir)
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


def render_and_keep(payload: dict, cache_dir: str | None, then: str | None) -> str:
    """The line, and the cache the next unchanged refresh is answered from (never at the cost of the line)."""
    parts = _render(payload, cache_dir)
    if isinstance(parts, str):
        return parts
    head, tail, files = parts
    data = cache_dir
    try:
        fast.store(payload, os.path.expanduser(data) if data else None, files, head, tail, then)
    except OSError:
        pass
    return fast.compose(head, _limits_segment(payload), tail)
