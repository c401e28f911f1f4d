"""Anomaly rules on constructed series (pure)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from ctxtop.core import anomalies as an
from ctxtop.core.metrics import SessionStats, Turn

T0 = 1_796_000_000.0


def _turn(
    i: int, prompt: int, cache_read: int, cost: str | None, *, gap: float = 60, compacted: bool = False
) -> Turn:
    return Turn(
        T0 + i * gap, prompt, prompt, 0, cache_read, compacted, None if cost is None else Decimal(cost)
    )


def test_day_spike_against_the_seven_days_before_with_zero_days_counted() -> None:
    d = date(2026, 12, 10)
    daily = {(d - timedelta(days=i)).isoformat(): Decimal("10") for i in (1, 2, 3, 5, 9)}  # $40 in the 7 days
    daily[d.isoformat()] = Decimal("7.43")  # 40/7 = 5.714 -> 1.3x = 7.428...
    [spike] = an.day_spikes(daily, an.Rules(), [d.isoformat()])
    assert spike.kind == "day-spike" and spike.day == "2026-12-10"
    assert spike.reason == "2026-12-10: $7.43 spent, 1.3× the average of the 7 days before ($5.71)"
    daily[d.isoformat()] = Decimal("7.42")
    assert an.day_spikes(daily, an.Rules(), [d.isoformat()]) == []
    assert an.day_spikes(daily, an.Rules(day_pct=20), [d.isoformat()])  # configurable


def test_days_before_the_history_starts_do_not_count() -> None:
    d = date(2026, 12, 10)
    daily = {(d - timedelta(days=i)).isoformat(): Decimal("10") for i in (1, 2, 3, 5)}  # history starts d-5
    daily[d.isoformat()] = Decimal("10.40")  # the 5 days before average $8.00 (not $40/7)
    [spike] = an.day_spikes(daily, an.Rules(), [d.isoformat()])
    assert spike.reason == "2026-12-10: $10.40 spent, 1.3× the average of the 5 days before ($8.00)"
    daily[d.isoformat()] = Decimal("10.39")
    assert an.day_spikes(daily, an.Rules(), [d.isoformat()]) == []


def test_no_day_spike_without_a_baseline() -> None:
    daily = {"2026-12-08": Decimal(1), "2026-12-09": Decimal(1), "2026-12-10": Decimal(100)}
    assert an.day_spikes(daily, an.Rules()) == []  # two days of history are not "usual" yet


def test_request_outliers_by_factor_and_ceiling() -> None:
    turns = [_turn(i, 20_000 + 1000 * i, 19_000 + 1000 * i, "0.02") for i in range(8)]
    # A big file read: 3x+ the recent median, 20x the cost. Its cache is intact (it read all of the previous
    # prompt back), so it is no cache drop, though only 30% of this prompt came from the cache.
    turns.append(_turn(8, 90_000, 27_000, "0.40"))
    found = an.request_anomalies("abcdef123456", turns, an.Rules())
    kinds = [a.kind for a in found]
    assert kinds == ["request-prompt", "request-cost"]
    assert "a 90,000-token prompt, 3.8× the median of the 8 requests before (23,500)" in found[0].reason
    assert found[0].reason.startswith("session abcdef12 at ")
    assert "a request costing $0.4000, 20.0× the median of the 8 requests before ($0.0200)" in found[1].reason
    # Off with factor 0; a ceiling still catches it.
    only_ceiling = an.request_anomalies(
        "s", turns, an.Rules(request_factor=0, request_usd=0.3, cache_drop_pct=0)
    )
    assert [(a.kind, "above the $0.30 ceiling" in a.reason) for a in only_ceiling] == [("request-cost", True)]


def test_small_requests_and_short_histories_are_not_outliers() -> None:
    tiny = [_turn(i, 1000, 900, "0.001") for i in range(8)] + [_turn(8, 5000, 900, "0.01")]
    assert an.request_anomalies("s", tiny, an.Rules()) == []
    short = [_turn(i, 20_000, 19_000, "0.02") for i in range(4)] + [_turn(4, 90_000, 0, "0.5")]
    assert an.request_anomalies("s", short, an.Rules()) == []  # 4 requests of history: no "usual" yet


def test_cache_drop_not_after_compaction_or_an_idle_gap() -> None:
    base = [_turn(i, 50_000, 49_000, "0.03") for i in range(6)]
    after_compact = [*base, _turn(6, 30_000, 0, "0.03", compacted=True)]
    assert an.request_anomalies("s", after_compact, an.Rules()) == []
    idle = [*base, Turn(T0 + 5 * 60 + 400, 50_000, 50_000, 0, 0, False, Decimal("0.03"))]
    assert an.request_anomalies("s", idle, an.Rules()) == []
    dropped = [*base, _turn(6, 50_000, 10_000, "0.03")]
    [drop] = an.request_anomalies("s", dropped, an.Rules())
    assert "the cache held 20% of the previous prompt, against a usual 98%" in drop.reason


def test_reread_share_over_the_set_share() -> None:
    stats = SessionStats("sess-reread", turns=12, prompt_tokens=1000, reread_tokens=960, last_ts=T0)
    found = an.reread_anomaly(stats, an.Rules())
    assert found is not None and "96% of its input re-reads earlier context (over 95%)" in found.reason
    assert an.reread_anomaly(stats, an.Rules(reread_pct=97)) is None
    assert an.reread_anomaly(stats, an.Rules(reread_pct=0)) is None  # 0 = off
