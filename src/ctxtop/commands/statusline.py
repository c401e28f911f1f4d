"""``ctxtop statusline``: one line for Claude Code's ``statusLine`` (its JSON arrives on stdin).

Fast by construction: only the session's own files are read (incrementally, through the index), prices come
from the index's cache, and nothing heavy is imported. Any error prints a short fallback and exits 0 so
Claude Code's status line never shows a traceback.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

TYPE_CHECKING = False
if TYPE_CHECKING:  # argparse is not imported on the hook/statusline fast path
    import argparse


def _human(n: int) -> str:
    if abs(n) >= 1_000_000:
        return f"{n / 1_000_000:.1f}M"
    if abs(n) >= 1000:
        return f"{n / 1000:.0f}K"
    return str(n)


def render(payload: dict, args: argparse.Namespace) -> str:
    from ctxtop.adapters import index_home
    from ctxtop.adapters.claude_env import compaction_for
    from ctxtop.adapters.config import Config
    from ctxtop.adapters.index import Index
    from ctxtop.adapters.sources import Sources
    from ctxtop.core.pricing import fmt_usd
    from ctxtop.core.report import SessionView

    transcript = payload.get("transcript_path")
    session_id = payload.get("session_id")
    if not isinstance(transcript, str) or not transcript:
        return "ctxtop: no transcript yet"
    path = Path(transcript)
    session_id = session_id if isinstance(session_id, str) and session_id else path.stem
    # <config dir>/projects/<project>/<session>.jsonl
    config_dir = path.parent.parent.parent
    config = Config.load()
    db, _notice = index_home.locate(getattr(args, "cache_dir", None))  # the status line has no room for it
    index = Index(db, price_overrides=config.price_overrides)
    index.scope = (str(config_dir / "projects"),)
    try:
        only = [path]
        subagents = path.with_suffix("") / "subagents"
        if subagents.is_dir():
            only.extend(sorted(subagents.glob("agent-*.jsonl")))
        index.update(Sources((config_dir,), ()), only=only)
        found = index.sessions(ids=[session_id])
        if not found:
            return "ctxtop: waiting for the first response"
        stats = found[0]
        model = stats.context_model or (stats.models[0] if stats.models else None)
        model_info = payload.get("model")
        if isinstance(model_info, dict) and isinstance(model_info.get("id"), str):
            model = model_info["id"]
        info = compaction_for(
            model,
            config_dir,
            stats.cwd,
            config.window_overrides,
            max_context=stats.max_context,
            listed_window=index.prices.listed_window,
        )
    finally:
        index.close()
    view = SessionView(stats, info, config.threshold)
    parts = []
    if view.fill is not None:
        parts.append(f"ctx {view.fill * 100:.0f}%")
    else:
        parts.append(f"ctx {_human(stats.context_tokens)}")
    room = view.room_before_compaction
    if room is not None:
        parts.append(f"{_human(room)} to compact" if room > 0 else "past compact point")
    parts.append(f"re-read {stats.reread_ratio * 100:.0f}%")
    parts.append(fmt_usd(stats.cost_usd))
    if config.problems:
        # A bad value falls back to its default here too; the line says so rather than show it silently.
        parts.append("config.toml has problems: ctxtop doctor")
    return " · ".join(parts)


def run(args: argparse.Namespace) -> int:
    try:
        raw = sys.stdin.read()
        payload = json.loads(raw) if raw.strip() else {}
        line = render(payload if isinstance(payload, dict) else {}, args)
    except Exception as exc:  # noqa: BLE001 - a status line must never fail loudly
        line = f"ctxtop: {type(exc).__name__}"
    sys.stdout.write(line + "\n")
    return 0
