"""Where spend stands against the budgets of ``[budgets]``, from the index: one check for the budget hook,
``ctxtop budget status`` and the TUI's alerts; and the hook's decision on a new prompt.

Before deciding on a prompt the session's own transcript is read into the index (only its new bytes, as the
statusline does). With a day, week or month hard limit set, the other files changed since the period began
are read too, newest first, for up to ``CATCH_UP_S`` seconds (in batches that each commit, so a big backlog
is worked off over several prompts); the totals count what the index then holds.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ctxtop.adapters import budget_state
from ctxtop.core import budgets as core_budgets

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ctxtop.adapters.config import Config


@dataclass
class Assessment:
    """Where one session stands against every budget."""

    session_id: str
    verdicts: list[core_budgets.Verdict] = field(default_factory=list)
    spent: core_budgets.Spent | None = None
    known: bool = False
    """The index holds at least one request of the session."""

    @property
    def hard(self) -> list[core_budgets.Verdict]:
        return core_budgets.hard_limits(self.verdicts)


def assess(index: Any, budgets: list[core_budgets.Budget], session_id: str | None, now: float) -> Assessment:
    """The verdicts for ``session_id`` (None: the period budgets only) from the index's cached stats."""
    sessions = period_sessions(index, now)
    session = None
    if session_id is not None:
        found = index.sessions(ids=[session_id])
        session = found[0] if found else None
    spent = core_budgets.spent(sessions, now, session)
    if session is None:
        spent.session_id = session_id
    return Assessment(session_id or "", core_budgets.evaluate(budgets, spent), spent, session is not None)


def period_sessions(index: Any, now: float) -> list[Any]:
    """The cached stats of every session in scope with activity since the earliest current period start."""
    return index.sessions(since=min(core_budgets.period(level, now).start for level in core_budgets.PERIODS))


def verdicts_for(
    index: Any, budgets: list[core_budgets.Budget], session_ids: list[str], now: float
) -> list[core_budgets.Verdict]:
    """The day/week/month verdicts once, then each session's request and session verdicts."""
    out: list[core_budgets.Verdict] = []
    if any(b.level in core_budgets.PERIODS for b in budgets):
        spent = core_budgets.spent(period_sessions(index, now), now)
        out += [v for v in core_budgets.evaluate(budgets, spent) if v.budget.level in core_budgets.PERIODS]
    if not any(b.level not in core_budgets.PERIODS for b in budgets):
        return out
    for stats in index.sessions(ids=session_ids) if session_ids else []:
        spent = core_budgets.spent((), now, stats)
        out += [
            v for v in core_budgets.evaluate(budgets, spent) if v.budget.level not in core_budgets.PERIODS
        ]
    return out


def _index_for(transcript: Path | None, config: Config) -> tuple[Any, Any]:
    from ctxtop.adapters import index_home
    from ctxtop.adapters.index import Index
    from ctxtop.sources.claude_code.source import ClaudeCode
    from ctxtop.sources.registry import Sources

    db, _notice = index_home.locate(None)
    index = Index(db, price_overrides=config.price_overrides)
    sources = Sources.discover(
        {
            "claude_dirs": config.get("sources.claude_dirs") or None,
            "api_logs": config.get("sources.api_logs") or None,
        }
    )
    if transcript is not None:
        config_dir = ClaudeCode.config_dir_of(transcript)
        claude = sources.of(ClaudeCode)
        if claude is not None and config_dir not in claude.config_dirs:
            wider = ClaudeCode((*claude.config_dirs, config_dir))
            sources = Sources(tuple(wider if s is claude else s for s in sources.sources))
        index.scope = sources.roots()
        index.update(Sources((ClaudeCode((config_dir,)),)), only=ClaudeCode.session_files(transcript))
    index.scope = sources.roots()
    return index, sources


CATCH_UP_S = 1.5
"""How long the hook reads other sessions' new lines for the day, week and month totals (the rest of its 4 s
is margin); what is left is read by the next prompt's hook, the TUI or any report."""
CATCH_UP_BATCH = 16


def _catch_up(index: Any, sources: Any, since: float, deadline: float) -> None:
    """Read the new lines of every file changed since ``since``, newest first, in batches that each commit,
    until ``deadline``: a big backlog is worked off over several prompts instead of failing open on each."""
    recent = []
    for path, _source in sources.iter_files():
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


def prompt_decision(session_id: str, transcript: Path | None, config: Config, now: float) -> str | None:
    """Why a new prompt of ``session_id`` is held back (a hard limit passed and no ``budget allow`` lifting it,
    or the one-time request to compact near the session's limit), or None to let it through."""
    budgets = [b for b in config.budgets if b.hard is not None]
    if not budgets:
        return None
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
        return core_budgets.block_reason(over[0], session_id)
    if config.get("budgets.enforce_compact") == "on" and result.spent is not None:
        near = core_budgets.near_session_limit(budgets, result.spent)
        if near is not None and not budget_state.asked_compact(session_id):
            budget_state.mark_asked_compact(session_id)
            return core_budgets.compact_reason(near, result.spent.get("session", near.unit))
    return None
