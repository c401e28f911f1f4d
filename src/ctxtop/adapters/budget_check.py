"""Where spend stands against the budgets of ``[budgets]``, from the index: one check for the budget hook,
``ctxtop budget status`` and the TUI's alerts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ctxtop.core import budgets as core_budgets


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
