"""Budgets: which one is over, by how much, in which local period (pure rules)."""

from __future__ import annotations

import os
import time
from datetime import datetime
from decimal import Decimal

import pytest

from ctxtop.core import budgets as b
from ctxtop.core.metrics import Bucket, SessionStats
from ctxtop.core.pricing import Cost
from ctxtop.core.usage import Tokens


@pytest.fixture
def berlin():
    old = os.environ.get("TZ")
    os.environ["TZ"] = "Europe/Berlin"
    time.tzset()
    yield
    if old is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = old
    time.tzset()


def _at(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()  # naive: local time


def _session(sid: str, days: dict[str, str], *, context: int = 0) -> SessionStats:
    stats = SessionStats(session_id=sid)
    for day, cost in days.items():
        stats.buckets[f"{day}|m"] = Bucket(day, "m", Tokens(1000, 100, 0, 0, 0), Decimal(cost), requests=1)
    stats.context_tokens = context
    stats.cost = Cost(input=sum((Decimal(c) for c in days.values()), Decimal(0)))
    stats.tokens = Tokens(1000 * len(days), 100 * len(days), 0, 0, 0)
    return stats


def test_from_values_reads_budgets_and_hard_limits_and_ignores_zero() -> None:
    found = b.from_values({"session_usd": 10, "session_usd_hard": 12, "daily_usd": 0, "monthly_tokens_hard": 5e6,
                           "request_tokens": 150_000}, soft_pct=80)  # fmt: skip
    assert [(x.level, x.unit, x.amount, x.hard) for x in found] == [
        ("request", "tokens", Decimal(150000), None),
        ("session", "usd", Decimal(10), Decimal(12)),
        ("month", "tokens", None, Decimal("5000000.0")),
    ]
    assert all(x.soft_share == Decimal("0.8") for x in found)
    assert found[2].base == Decimal("5000000.0")  # only a hard limit: shares are of it


@pytest.mark.usefixtures("berlin")
@pytest.mark.parametrize(
    ("level", "now", "label", "first", "last", "hours"),
    [
        ("day", "2026-12-02 23:59:59", "2026-12-02", "2026-12-02", "2026-12-02", 24),
        ("day", "2026-03-29 12:00", "2026-03-29", "2026-03-29", "2026-03-29", 23),  # DST starts: 23 h
        ("week", "2026-12-06 10:00", "2026-11-30", "2026-11-30", "2026-12-06", 168),  # Sunday -> its Monday
        ("week", "2026-11-30 00:00", "2026-11-30", "2026-11-30", "2026-12-06", 168),
        ("month", "2026-12-31 23:00", "2026-12", "2026-12-01", "2026-12-31", 744),
        ("month", "2026-02-10 08:00", "2026-02", "2026-02-01", "2026-02-28", 672),
    ],
)
def test_periods_are_local_days_weeks_from_monday_and_months(level, now, label, first, last, hours) -> None:
    p = b.period(level, _at(now))
    assert (p.label, p.first_day, p.last_day) == (label, first, last)
    assert p.start == _at(f"{first} 00:00")
    assert (p.end - p.start) / 3600 == hours


@pytest.mark.usefixtures("berlin")
def test_spent_sums_each_period_by_request_day_and_each_session_once() -> None:
    now = _at("2026-12-02 15:00")  # a Wednesday
    a = _session("a", {"2026-12-02": "1.50", "2026-11-30": "2", "2026-11-29": "4"}, context=120_000)
    other = _session("o", {"2026-12-02": "0.25", "2026-11-01": "9"})
    spent = b.spent([a, other, a], now, a)
    assert spent.get("day", "usd") == Decimal("1.75")
    assert spent.get("week", "usd") == Decimal("3.75")  # Monday 30th on; Sunday 29th is last week
    assert spent.get("month", "usd") == Decimal("1.75")  # the week began in November, the month did not
    assert spent.get("day", "tokens") == 2200
    assert spent.get("session", "usd") == Decimal("7.50")
    assert spent.get("request", "tokens") == 120_000


def test_evaluate_states_worst_first_with_period_and_amount_over() -> None:
    budgets = b.from_values({"session_usd": 10, "session_usd_hard": 12, "daily_usd": 5, "weekly_usd": 100,
                             "monthly_usd_hard": 20})  # fmt: skip
    periods = {level: b.period(level, _at("2026-12-02 12:00")) for level in b.PERIODS}
    spent = b.Spent({("session", "usd"): Decimal("12.40"), ("day", "usd"): Decimal("3.6"),
                     ("week", "usd"): Decimal("50"), ("month", "usd"): Decimal("14")}, periods, "sid")  # fmt: skip
    verdicts = b.evaluate(budgets, spent)
    got = [(v.budget.level, v.state, v.period) for v in verdicts]
    # weekly: 50% of 100 is under the 70% share: no verdict. monthly: 70% of its hard limit.
    assert got == [("session", "hard", "sid"), ("day", "soft", "2026-12-02"), ("month", "soft", "2026-12")]
    session = verdicts[0]
    assert session.over_by == Decimal("0.40")
    assert session.text() == "the session hard limit ($12.00) is passed: $12.40 spent, $0.40 over"
    assert verdicts[1].text() == "the daily budget ($5.00) is at 72% ($3.60) on 2026-12-02"
    assert verdicts[2].text() == "the monthly hard limit ($20.00) is at 70% ($14.00) in 2026-12"
    assert b.hard_limits(verdicts) == [session]


def test_reached_without_hard_limit_and_tokens() -> None:
    budgets = b.from_values(
        {"request_tokens": 100_000, "daily_tokens": 1_000_000, "daily_tokens_hard": 2_000_000}
    )
    periods = {level: b.period(level, _at("2026-12-02 12:00")) for level in b.PERIODS}
    spent = b.Spent(
        {("request", "tokens"): Decimal(130_000), ("day", "tokens"): Decimal(2_000_000)}, periods, "s"
    )
    verdicts = b.evaluate(budgets, spent)
    assert [(v.budget.level, v.state) for v in verdicts] == [("day", "hard"), ("request", "reached")]
    assert verdicts[1].text() == "the request budget (100,000 tokens) is at 130% (130,000 tokens)"
    assert verdicts[0].over_by == 0  # exactly at the hard limit blocks: "once it is reached"


def test_block_reason_names_the_budget_the_amount_and_how_to_go_on() -> None:
    budgets = b.from_values({"daily_usd_hard": 20})
    periods = {level: b.period(level, _at("2026-12-02 12:00")) for level in b.PERIODS}
    [verdict] = b.evaluate(budgets, b.Spent({("day", "usd"): Decimal("21.5")}, periods, "abc"))
    reason = b.block_reason(verdict, "abc")
    assert "the daily hard limit ($20.00) is passed on 2026-12-02: $21.50 spent, $1.50 over" in reason
    assert "`ctxtop budget allow abc`" in reason and "`ctxtop budget allow today`" in reason
    assert "[budgets] daily_usd_hard" in reason


def test_near_session_limit_is_past_the_share_of_the_hard_limit_and_below_it() -> None:
    budgets = b.from_values({"session_usd_hard": 10}, soft_pct=80)
    periods: dict[str, b.Period] = {}
    assert b.near_session_limit(budgets, b.Spent({("session", "usd"): Decimal("7.99")}, periods)) is None
    near = b.near_session_limit(budgets, b.Spent({("session", "usd"): Decimal("8")}, periods))
    assert near is budgets[0]
    assert b.near_session_limit(budgets, b.Spent({("session", "usd"): Decimal("10")}, periods)) is None
    assert "at 80% of its hard limit ($8.00 of $10.00)" in b.compact_reason(near, Decimal("8"))
