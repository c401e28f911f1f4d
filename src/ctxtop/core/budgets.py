"""Budgets: which one is over, by how much, in which period. Pure: callers pass the sessions and the clock.

A budget is one level (request, session, day, week, month) in one unit (USD or tokens) with an amount (the
budget: alert at the soft share and at 100%) and an optional hard limit (enforcement blocks once it is
reached). Either may be unset; with only a hard limit, the soft alert is at the soft share of that limit.

What counts, per level:

- request: the prompt tokens of the session's latest main-chain request (its context). The next request
  re-sends at least that much, so a session past a request limit is past it for its next prompt too;
- session: the session's whole cost (or all its billed tokens, cache reads included);
- day, week, month: every session's spend in the local day, the week starting Monday, the calendar month,
  counted by the day each request was made in (the same day buckets as the reports).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from ctxtop.core.pricing import fmt_usd

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ctxtop.core.metrics import SessionStats

LEVELS = ("request", "session", "day", "week", "month")
UNITS = ("usd", "tokens")
PERIODS = ("day", "week", "month")
DEFAULT_SOFT_PCT = 70.0
CONFIG_NAMES = {
    "request": "request",
    "session": "session",
    "day": "daily",
    "week": "weekly",
    "month": "monthly",
}
"""The config key stem of each level (``[budgets] daily_usd``)."""
LEVEL_WORDS = {
    "request": "request",
    "session": "session",
    "day": "daily",
    "week": "weekly",
    "month": "monthly",
}


@dataclass(frozen=True, slots=True)
class Budget:
    level: str
    unit: str
    amount: Decimal | None
    """The budget itself: alert at ``soft_share`` of it and at 100%. None: only a hard limit."""
    hard: Decimal | None
    """Enforcement blocks once spend reaches this. None: alerts only."""
    soft_share: Decimal = Decimal("0.7")

    @property
    def base(self) -> Decimal:
        """What the shares are of: the budget, else the hard limit."""
        return self.amount if self.amount is not None else self.hard or Decimal(0)

    @property
    def key(self) -> str:
        """The config key of the amount, e.g. ``daily_usd``."""
        return f"{CONFIG_NAMES[self.level]}_{self.unit}"

    def describe(self) -> str:
        """``the daily budget ($12.00)``; ``the session hard limit (500,000 tokens)`` when only hard is set."""
        word = LEVEL_WORDS[self.level]
        if self.amount is not None:
            return f"the {word} budget ({fmt_amount(self.amount, self.unit)})"
        return f"the {word} hard limit ({fmt_amount(self.hard or Decimal(0), self.unit)})"


def fmt_amount(value: Decimal, unit: str) -> str:
    if unit == "usd":
        return fmt_usd(value)
    return f"{int(value):,} tokens"


def config_key(level: str, unit: str, hard: bool = False) -> str:
    """``[budgets]`` key for a level and unit: ``daily_usd``, ``daily_usd_hard``, ``request_tokens``."""
    return f"{CONFIG_NAMES[level]}_{unit}" + ("_hard" if hard else "")


def keys() -> list[tuple[str, str, bool]]:
    """Every (level, unit, hard) the config knows: the request level counts tokens only."""
    return [
        (level, unit, hard)
        for level in LEVELS
        for unit in UNITS
        if not (level == "request" and unit == "usd")
        for hard in (False, True)
    ]


def _amount(value: object) -> Decimal | None:
    if value is None or isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        return None
    number = Decimal(str(value))
    return number if number.is_finite() and number > 0 else None


def from_values(values: Mapping[str, object], soft_pct: float = DEFAULT_SOFT_PCT) -> list[Budget]:
    """The budgets set in ``values`` (``[budgets]`` keys, 0 or absent = unset), in level order."""
    share = Decimal(str(soft_pct)) / 100
    out = []
    for level in LEVELS:
        for unit in UNITS:
            if level == "request" and unit == "usd":
                continue
            amount = _amount(values.get(config_key(level, unit)))
            hard = _amount(values.get(config_key(level, unit, hard=True)))
            if amount is not None or hard is not None:
                out.append(Budget(level, unit, amount, hard, share))
    return out


# -- periods ----------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Period:
    level: str
    label: str
    """``2026-12-02`` (day), ``2026-11-30`` (the Monday of the week), ``2026-12`` (month)."""
    first_day: str
    last_day: str
    start: float
    """Epoch seconds of its local midnight start (DST-aware); ``end`` is the next period's start."""
    end: float


def _midnight(d: date) -> float:
    return datetime(d.year, d.month, d.day).timestamp()  # naive = local time


def period(level: str, now: float) -> Period:
    """The local day, week (Monday first) or calendar month containing ``now``."""
    today = datetime.fromtimestamp(now).date()
    if level == "day":
        first, after = today, today + timedelta(days=1)
        label = today.isoformat()
    elif level == "week":
        first = today - timedelta(days=today.weekday())
        after = first + timedelta(days=7)
        label = first.isoformat()
    elif level == "month":
        first = today.replace(day=1)
        after = (first + timedelta(days=32)).replace(day=1)
        label = first.isoformat()[:7]
    else:
        raise ValueError(f"not a period: {level}")
    last = after - timedelta(days=1)
    return Period(level, label, first.isoformat(), last.isoformat(), _midnight(first), _midnight(after))


# -- spend ------------------------------------------------------------------------------------------------
@dataclass(slots=True)
class Spent:
    """What counts against each budget at one moment, for one session (the request and session levels)."""

    values: dict[tuple[str, str], Decimal]
    periods: dict[str, Period]
    session_id: str | None = None

    def get(self, level: str, unit: str) -> Decimal:
        return self.values.get((level, unit), Decimal(0))


def spent(sessions: Iterable[SessionStats], now: float, session: SessionStats | None = None) -> Spent:
    """Spend per level and unit: ``sessions`` give the day/week/month totals (each session once), ``session``
    the request and session levels. Requests after ``now`` still count in their period (clocks drift)."""
    periods = {level: period(level, now) for level in PERIODS}
    values: dict[tuple[str, str], Decimal] = {}
    seen: set[str] = set()
    for stats in sessions:
        if stats.session_id in seen:
            continue
        seen.add(stats.session_id)
        for bucket in stats.buckets.values():
            for level, p in periods.items():
                if p.first_day <= bucket.day <= p.last_day:
                    values[(level, "usd")] = values.get((level, "usd"), Decimal(0)) + bucket.cost
                    values[(level, "tokens")] = (
                        values.get((level, "tokens"), Decimal(0)) + bucket.tokens.total
                    )
    if session is not None:
        values[("session", "usd")] = session.cost_usd or Decimal(0)
        values[("session", "tokens")] = Decimal(session.tokens.total)
        values[("request", "tokens")] = Decimal(session.context_tokens or 0)
    return Spent(values, periods, session.session_id if session is not None else None)


# -- verdicts ---------------------------------------------------------------------------------------------
SOFT, REACHED, HARD = "soft", "reached", "hard"
STATES = (SOFT, REACHED, HARD)


@dataclass(frozen=True, slots=True)
class Verdict:
    budget: Budget
    spent: Decimal
    state: str
    """"soft" (past the soft share), "reached" (past the budget), "hard" (past the hard limit)."""
    period: str | None
    """The period's label for day/week/month budgets, the session id for session/request ones."""

    @property
    def share(self) -> Decimal:
        """Spend as a share of the budget (else of the hard limit)."""
        base = self.budget.base
        return self.spent / base if base else Decimal(0)

    @property
    def over_by(self) -> Decimal:
        """How far past the hard limit (else past the budget); 0 when not past it."""
        limit = self.budget.hard if self.state == HARD else self.budget.amount or self.budget.hard
        return max(Decimal(0), self.spent - (limit or Decimal(0)))

    def text(self) -> str:
        """``the daily budget ($12.00) is at 103% ($12.40) on 2026-12-02``."""
        b = self.budget
        where = ""
        if self.period and b.level in PERIODS:
            where = {"day": " on {}", "week": " in the week of {}", "month": " in {}"}[b.level].format(
                self.period
            )
        what = fmt_amount(self.spent, b.unit)
        if self.state == HARD:
            assert b.hard is not None
            over = fmt_amount(self.over_by, b.unit)
            if b.level == "request":
                return (
                    f"the request hard limit ({fmt_amount(b.hard, b.unit)}) is passed: the latest prompt was "
                    f"{what}, {over} over"
                )
            return (
                f"the {LEVEL_WORDS[b.level]} hard limit ({fmt_amount(b.hard, b.unit)}) is passed{where}: "
                f"{what} spent, {over} over"
            )
        return f"{b.describe()} is at {self.share * 100:.0f}% ({what}){where}"


def evaluate(budgets: Iterable[Budget], spent: Spent) -> list[Verdict]:
    """Every budget at or past its soft share, the worst first (hard, then reached, then soft)."""
    out = []
    for b in budgets:
        value = spent.get(b.level, b.unit)
        if b.hard is not None and value >= b.hard:
            state = HARD
        elif b.amount is not None and value >= b.amount:
            state = REACHED
        elif b.base and value >= b.base * b.soft_share:
            state = SOFT
        else:
            continue
        label = spent.periods[b.level].label if b.level in spent.periods else spent.session_id
        out.append(Verdict(b, value, state, label))
    out.sort(key=lambda v: (-STATES.index(v.state), LEVELS.index(v.budget.level)))
    return out


def hard_limits(verdicts: Iterable[Verdict]) -> list[Verdict]:
    return [v for v in verdicts if v.state == HARD]


def near_session_limit(budgets: Iterable[Budget], spent: Spent) -> Budget | None:
    """The session budget whose hard limit is within reach (past its soft share of the hard limit), if any."""
    for b in budgets:
        if b.level == "session" and b.hard is not None:
            value = spent.get("session", b.unit)
            if b.hard * b.soft_share <= value < b.hard:
                return b
    return None


def block_reason(verdict: Verdict, session_id: str) -> str:
    """What Claude Code shows when ctxtop blocks a prompt: which budget, how much, and how to go on."""
    b = verdict.budget
    key = config_key(b.level, b.unit, hard=True)
    return (
        f"ctxtop: {verdict.text()}. To go on: `ctxtop budget allow {session_id}` lets this session's next "
        "prompt through, `ctxtop budget allow today` lets every prompt through until midnight; or raise "
        f"[budgets] {key} in ctxtop's config.toml (Settings in the ctxtop TUI)."
    )


def compact_reason(budget: Budget, spent: Decimal) -> str:
    """The one-time request to compact when a session nears its hard limit (every prompt re-sends the context)."""
    assert budget.hard is not None
    share = spent / budget.hard * 100
    return (
        f"ctxtop: this session is at {share:.0f}% of its hard limit ({fmt_amount(spent, budget.unit)} of "
        f"{fmt_amount(budget.hard, budget.unit)}). Every prompt re-sends the whole context: run /compact first, "
        "then send your prompt again (it will not be held back again before the limit)."
    )
