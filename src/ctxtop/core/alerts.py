"""When to alert: a session crosses the compaction threshold, a session or the day reaches 70% / 100% of its
budget, a plan limit reaches a ``[limits]`` share, a cache expiry costs more than the configured amount. Pure logic on views (no Textual)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

from ctxtop.core import format as fmt
from ctxtop.core.anomalies import Anomaly
from ctxtop.core.budgets import HARD, SOFT, Verdict
from ctxtop.core.limits import LimitAlert
from ctxtop.core.report import SessionView
from ctxtop.core.session_ids import short_id

Severity = Literal["information", "warning", "error"]
"""The levels of a Textual notification."""


@dataclass(frozen=True, slots=True)
class Alert:
    kind: str
    """"threshold", "session-budget", "day-budget", "cache-expiry", "compaction-lost-task", "budget" (any other
    budget or hard limit, from ``core.budgets``), "anomaly" (``core.anomalies``), "plan-limit" (``core.limits``)."""
    message: str
    severity: Severity = "warning"
    session_id: str | None = None


@dataclass(slots=True)
class _Seen:
    over: bool
    budget: int
    expiries: int


def over_threshold(view: SessionView) -> bool:
    used = view.context_tokens
    return view.threshold_tokens is not None and used is not None and used >= view.threshold_tokens


def budget_level(spent: Decimal | None, budget: float, soft: float = 0.7) -> int:
    """0, the soft share (70 by default, ``[budgets] soft_pct``) or 100: the highest mark ``spent`` reached."""
    if not budget or spent is None:
        return 0
    limit = Decimal(str(budget))
    levels = (Decimal(str(soft)), Decimal(1))
    reached = [int(level * 100) for level in levels if spent >= limit * level]
    return max(reached, default=0)


def costly_expiries(view: SessionView, amount: float) -> int:
    floor = Decimal(str(amount))
    return sum(1 for e in view.stats.expiries if e.extra_cost > floor)


BADGE_REASONS = {
    "threshold": "past the compaction threshold",
    "budget": "over 70% of the session budget",
    "expiry": "a costly cache expiry",
}


def badge_reasons(view: SessionView, badges: list[str], session_budget: float, soft: float = 0.7) -> str:
    """Why a row carries ▲, in words: ``past the 60% threshold · over 100% of the $12 budget``."""
    out = []
    for badge in badges:
        if badge == "threshold":
            out.append(f"past the {view.threshold_pct:g}% threshold")
        elif badge == "budget":
            level = budget_level(view.stats.cost_usd, session_budget, soft)
            out.append(f"over {level}% of the {fmt.usd(Decimal(str(session_budget)))} session budget")
        else:
            out.append(BADGE_REASONS.get(badge, badge))
    return " · ".join(out)


def badges(view: SessionView, session_budget: float, expiry_usd: float, soft: float = 0.7) -> list[str]:
    """Conditions to show on the row, whether or not they were alerted while ctxtop ran."""
    out = []
    if over_threshold(view):
        out.append("threshold")
    if budget_level(view.stats.cost_usd, session_budget, soft):
        out.append("budget")
    if costly_expiries(view, expiry_usd):
        out.append("expiry")
    return out


@dataclass
class AlertTracker:
    """Remembers what each session looked like, so each condition is alerted once, when it starts."""

    seen: dict[str, _Seen] = field(default_factory=dict)
    day: str = ""
    day_level: int = 0
    found: set[str] = field(default_factory=set)
    """Keys of the budget verdicts and anomalies already seen (each is alerted once)."""

    def update(
        self,
        views: Iterable[SessionView],
        *,
        session_budget: float,
        expiry_usd: float,
        baseline: bool = False,
        soft: float = 0.7,
    ) -> list[Alert]:
        """Alerts for the changes in ``views``; ``baseline`` records the state without alerting (start-up)."""
        alerts: list[Alert] = []
        for view in views:
            s = view.stats
            now = _Seen(over_threshold(view), budget_level(s.cost_usd, session_budget, soft),
                        costly_expiries(view, expiry_usd))  # fmt: skip
            before = self.seen.get(s.session_id)
            self.seen[s.session_id] = now
            if baseline or before is None and not s.turns:
                continue
            name = fmt.project(s.cwd, 40)
            if now.over and not (before and before.over):
                alerts.append(Alert(
                    "threshold",
                    f"{name} passed the {view.threshold_pct:g}% compaction threshold "
                    f"({fmt.tokens(s.context_tokens)} of {fmt.tokens(view.window)}). Select it and press c to compact now.",
                    "warning", s.session_id,
                ))  # fmt: skip
            if now.budget > (before.budget if before else 0):
                alerts.append(Alert(
                    "session-budget",
                    f"{name} reached {now.budget}% of its session budget ({fmt.usd(s.cost_usd)} "
                    f"of {fmt.usd(Decimal(str(session_budget)))}).",
                    "error" if now.budget >= 100 else "warning", s.session_id,
                ))  # fmt: skip
            if now.expiries > (before.expiries if before else 0):
                worst = max(s.expiries, key=lambda e: e.extra_cost)
                alerts.append(Alert(
                    "cache-expiry",
                    f"{name}: the prompt cache expired after {fmt.age(worst.idle_seconds)} idle; re-writing "
                    f"{fmt.tokens(worst.tokens_rewritten)} tokens cost {fmt.usd(worst.extra_cost)} extra.",
                    "warning", s.session_id,
                ))  # fmt: skip
        return alerts

    def update_day(
        self, day: str, spent: Decimal, budget: float, baseline: bool = False, soft: float = 0.7
    ) -> list[Alert]:
        level = budget_level(spent, budget, soft)
        if day != self.day:
            self.day, self.day_level = day, 0 if not baseline else level
        if baseline:
            self.day_level = level
            return []
        if level > self.day_level:
            self.day_level = level
            return [Alert(
                "day-budget",
                f"Today's spend reached {level}% of the daily budget ({fmt.usd(spent)} of "
                f"{fmt.usd(Decimal(str(budget)))}).",
                "error" if level >= 100 else "warning",
            )]  # fmt: skip
        self.day_level = max(self.day_level, level)
        return []

    def update_limits(self, found: Iterable[LimitAlert], baseline: bool = False) -> list[Alert]:
        """A plan limit (official, else the estimated block) that reached a share, once per window period."""
        alerts: list[Alert] = []
        for a in found:
            if a.key in self.found:
                continue
            self.found.add(a.key)
            if not baseline:
                alerts.append(
                    Alert("plan-limit", f"Plan limit: {a.message}.", "error" if a.share >= 1 else "warning")
                )
        return alerts

    def update_findings(
        self, verdicts: Iterable[Verdict], anomalies: Iterable[Anomaly], baseline: bool = False
    ) -> list[Alert]:
        """One alert per budget verdict (a budget's soft share, 100%, its hard limit) and per anomaly, once.

        The session and daily USD budgets keep their own alerts above (``update``, ``update_day``); here
        they alert only when their hard limit is passed."""
        alerts: list[Alert] = []
        for v in verdicts:
            b = v.budget
            if b.key in ("session_usd", "daily_usd") and b.amount is not None and v.state != HARD:
                continue
            key = f"budget:{b.level}:{b.unit}:{v.period}:{v.state}"
            if key in self.found:
                continue
            self.found.add(key)
            if not baseline:
                text = v.text()
                where = (
                    f" (session {short_id(v.period)})"
                    if b.level in ("session", "request") and v.period
                    else ""
                )
                alerts.append(Alert("budget", text[0].upper() + text[1:] + where + ".",
                                    "error" if v.state != SOFT else "warning", v.period if where else None))  # fmt: skip
        for a in anomalies:
            if a.key in self.found:
                continue
            self.found.add(a.key)
            if not baseline:
                alerts.append(Alert("anomaly", f"Unusual: {a.reason}.", "warning", a.session_id))
        return alerts


def compaction_alert(
    session_id: str, cwd: str | None, score: str, tasks: list[str], reinjected: bool
) -> Alert:
    """A compaction lost open tasks: the model did not see them again after it."""
    shown = "; ".join(tasks[:3]) + (f" (+{len(tasks) - 3} more)" if len(tasks) > 3 else "")
    advice = (
        "Pin them (`ctxtop notes --pin`) so the notes keep them."
        if reinjected
        else "Install ctxtop's hooks (`ctxtop claude install`) to re-inject them."
    )
    return Alert(
        "compaction-lost-task",
        f"{fmt.project(cwd, 40)} compacted and lost {len(tasks)} open task{'s' if len(tasks) > 1 else ''} "
        f"({score} of ctxtop's notes): {shown}. {advice}",
        "warning",
        session_id,
    )
