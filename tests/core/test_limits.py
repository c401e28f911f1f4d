"""Plan limits: Claude Code's official figures and the five-hour blocks estimated from local usage."""

from __future__ import annotations

from decimal import Decimal

from ctxtop.core.limits import Usage, blocks, latest_official, official_limits, reached, summary

H = 3600.0
T = 1_790_000_000.0 - (1_790_000_000.0 % H)  # an hour boundary (UTC)


def test_blocks_follow_ccusage_start_at_the_hour_last_five_hours_gap_starts_new() -> None:
    usage = [
        Usage(T + 23 * 60, 100, Decimal("1")),  # 00:23 -> block 00:00-05:00
        Usage(T + 4 * H + 59 * 60, 50, Decimal("0.5")),  # 04:59, same block
        Usage(T + 5 * H + 60, 10, None),  # 05:01 -> past the block's end: a new block at 05:00
        Usage(T + 11 * H, 7, Decimal("2")),  # 6 h later: a gap of five hours starts a new one at 11:00
    ]
    found = blocks(usage)
    assert [(b.start - T) / H for b in found] == [0, 5, 11]
    assert [(b.tokens, b.requests, b.cost) for b in found] == [
        (150, 2, Decimal("1.5")), (10, 1, Decimal(0)), (7, 1, Decimal("2"))
    ]  # fmt: skip
    assert found[1].unpriced_requests == 1


def test_burn_rate_and_projection_to_the_blocks_end() -> None:
    [block] = blocks([Usage(T, 1000, Decimal("1")), Usage(T + H, 1000, Decimal("2"))])
    assert block.burn_usd_per_hour == Decimal("3")
    # At T + 1 h, 4 h are left at $3/h: $3 + $12 by the block's end; tokens at 2,000/h.
    assert block.projected_cost(T + H) == Decimal("15")
    assert block.projected_tokens(T + H) == 2000 + 8000


def test_official_limits_from_claude_codes_rate_limits() -> None:
    rl = {"five_hour": {"used_percentage": 71.5, "resets_at": T + 2 * H},
          "seven_day": {"used_percentage": 20, "resets_at": (T + 3 * 86400) * 1000}}  # fmt: skip
    found = official_limits(rl, T)
    assert [(w.label, w.used_pct, w.resets_in(T)) for w in found] == [
        ("5h", 71.5, 2 * H),
        ("7d", 20.0, 3 * 86400),
    ]
    # A window whose reset has passed is stale: dropped.
    assert [w.key for w in official_limits(rl, T + 3 * H)] == ["seven_day"]
    assert (
        official_limits(None, T) == [] and official_limits({"five_hour": {"used_percentage": "x"}}, T) == []
    )
    assert summary(found, T) == "5h 72% ↻2h00m · 7d 20% ↻3d0h (official)"
    newest = latest_official(
        [{"rate_limits": rl, "observed_at": T}, {"rate_limits": None, "observed_at": T + 9}], T
    )
    assert [w.key for w in newest] == ["five_hour", "seven_day"]


def test_alert_shares() -> None:
    assert [reached(x) for x in (0.5, 0.7, 0.95, 1.2)] == [None, 0.7, 0.9, 1.0]


def test_estimate_labels_and_alerts_once_per_block_and_share() -> None:
    from ctxtop.core.alerts import AlertTracker
    from ctxtop.core.limits import estimate, limit_alerts

    earlier = [Usage(T - 10 * H, 1000, Decimal(1))]
    now = T + H
    est = estimate(blocks([*earlier, Usage(T, 650, Decimal(1))]), now)
    assert est is not None and est.used_pct == 65.0 and est.limit_tokens == 1000
    assert summary([], now, est) == "5h 65% ↻4h00m (est.)"
    assert limit_alerts([], est) == []
    # No earlier block: no 100% to measure against, the tokens are shown.
    alone = estimate(blocks([Usage(T, 650, Decimal(1))]), now)
    assert alone is not None and summary([], now, alone) == "5h 650 tok ↻4h00m (est.)"
    tracker = AlertTracker()
    est = estimate(blocks([*earlier, Usage(T, 650, None), Usage(T + 60, 100, None)]), now)
    [alert] = tracker.update_limits(limit_alerts([], est, (0.7, 0.9, 1.0)))
    assert alert.kind == "plan-limit" and alert.severity == "warning"
    assert alert.message == "Plan limit: 5h block at 75% of the largest earlier block (estimated): past 70%."
    assert tracker.update_limits(limit_alerts([], est)) == []  # once
    # An official figure takes precedence over the estimate; 100% is an error.
    official = official_limits({"five_hour": {"used_percentage": 100, "resets_at": now + H}}, now)
    assert summary(official, now, est).endswith("(official)")
    [alert] = tracker.update_limits(limit_alerts(official, est))
    assert alert.severity == "error" and "5h limit at 100% (official): past 100%" in alert.message
