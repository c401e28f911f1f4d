"""The UserPromptSubmit hook (``claude install --enforce-budgets``): hold back a prompt past a hard limit.

Claude Code (2.1.197 and 2.1.332, measured) blocks the prompt when the hook prints
``{"decision": "block", "reason": ...}`` and exits 0: no request is sent, and the reason is shown to the user
(``UserPromptSubmit operation blocked by hook:`` + the reason; in ``-p`` mode it is the run's result,
interactively it is printed in the conversation; the prompt is kept in the transcript as a system note).
Exit code 2 blocks too, but shows ``[<command>]: <stderr>``; ``{"continue": false}`` stops the turn instead.
``ctxtop.commands.hook`` owns the fail-open contract: any exception,
or more than its time budget, and the hook prints nothing, so the prompt goes through.

The session's own transcript is read into the index first (only its new bytes, as the statusline does). With
a day, week or month hard limit set, the other files changed since the period began are read too, newest
first, for up to ``CATCH_UP_S`` seconds (in batches that each commit, so a big backlog is worked off over
several prompts); the totals count what the index then holds.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from ctxtop.adapters import budget_state
from ctxtop.adapters.budget_check import assess
from ctxtop.adapters.config import Config
from ctxtop.core import budgets as core_budgets


def _index_for(transcript: Path | None, config: Config) -> tuple[Any, Any]:
    from ctxtop.adapters import index_home
    from ctxtop.adapters.index import Index
    from ctxtop.adapters.sources import Sources

    db, _notice = index_home.locate(None)
    index = Index(db, price_overrides=config.price_overrides)
    sources = Sources.discover(
        config.get("sources.claude_dirs") or None, config.get("sources.api_logs") or None
    )
    if transcript is not None:
        # <config dir>/projects/<project>/<session>.jsonl
        config_dir = transcript.parent.parent.parent
        if config_dir not in sources.claude_dirs:
            sources = Sources((*sources.claude_dirs, config_dir), sources.api_log_dirs)
        only = [transcript]
        subagents = transcript.with_suffix("") / "subagents"
        if subagents.is_dir():
            only.extend(p for p in sorted(subagents.glob("agent-*.jsonl")) if p.is_file())
        index.scope = sources.roots()
        index.update(Sources((config_dir,), ()), only=only)
    index.scope = sources.roots()
    return index, sources


CATCH_UP_S = 1.5
"""How long the hook reads other sessions' new lines for the day, week and month totals (the rest of its 4 s
is margin); what is left is read by the next prompt's hook, the TUI or any report."""
CATCH_UP_BATCH = 16


def _catch_up(index: Any, sources: Any, since: float, deadline: float) -> None:
    """Read the new lines of every file changed since ``since``, newest first, in batches that each commit,
    until ``deadline``: a big backlog is worked off over several prompts instead of failing open on each."""
    from ctxtop.adapters.sources import iter_files

    recent = []
    for path, _source in iter_files(sources):
        try:
            mtime = path.stat().st_mtime
        except OSError:
            continue
        if mtime >= since:
            recent.append((mtime, path))
    recent.sort(reverse=True)
    paths = [p for _m, p in recent]
    for start in range(0, len(paths), CATCH_UP_BATCH):
        if time.monotonic() >= deadline:
            return
        index.update(sources, only=paths[start : start + CATCH_UP_BATCH])


def _regular(path: str | None) -> Path | None:
    import stat

    if not path:
        return None
    try:
        return Path(path) if stat.S_ISREG(os.stat(path).st_mode) else None
    except OSError:
        return None


def _block(reason: str) -> str:
    return json.dumps({"decision": "block", "reason": reason}, ensure_ascii=False)


def user_prompt_submit(payload: dict[str, Any], now: float | None = None) -> str | None:
    """Block the prompt (a JSON decision) when a hard limit is passed and no ``budget allow`` lifts it."""
    session_id = payload.get("session_id")
    if not isinstance(session_id, str) or not budget_state.SAFE_ID.match(session_id):
        return None
    config = Config.load()
    budgets = [b for b in config.budgets if b.hard is not None]
    if not budgets:
        return None
    now = time.time() if now is None else now
    transcript = _regular(
        payload.get("transcript_path") if isinstance(payload.get("transcript_path"), str) else None
    )
    started = time.monotonic()
    index, sources = _index_for(transcript, config)
    try:
        if any(b.level in core_budgets.PERIODS for b in budgets):
            since = min(core_budgets.period(level, now).start for level in core_budgets.PERIODS)
            _catch_up(index, sources, since, started + CATCH_UP_S)
        result = assess(index, budgets, session_id, now)
    finally:
        index.close()
    over = result.hard
    if over:
        if budget_state.day_allowed(core_budgets.period("day", now).label):
            return None
        if budget_state.take_session_allowance(session_id):
            return None
        return _block(core_budgets.block_reason(over[0], session_id))
    if config.get("budgets.enforce_compact") == "on" and result.spent is not None:
        near = core_budgets.near_session_limit(budgets, result.spent)
        if near is not None and not budget_state.asked_compact(session_id):
            budget_state.mark_asked_compact(session_id)
            return _block(core_budgets.compact_reason(near, result.spent.get("session", near.unit)))
    return None
