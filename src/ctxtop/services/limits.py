"""Plan limits, official (Claude Code's report) or estimated (local usage).

Official figures are the ``rate_limits`` Claude Code last handed its statusline (``ctxtop statusline`` keeps
them); where none was seen, or the one seen has expired, the five-hour block of local usage is estimated the
way ccusage's ``blocks`` counts it (``ctxtop.core.limits``). The estimate's 100% is the largest earlier block's
tokens (ccusage's ``--token-limit max``): the only limit local data can show.
"""

from __future__ import annotations

import time
from typing import Any

from ctxtop.core import limits as lim
from ctxtop.core.report import iso, money
from ctxtop.services.monitor import Monitor

HISTORY = 8 * 86400
"""How far back blocks are built (the largest earlier block sets the estimate's 100%)."""


def assess(
    monitor: Monitor, now: float, official: list[lim.OfficialLimit] | None = None
) -> tuple[list[lim.OfficialLimit], list[lim.Block], list[lim.LimitAlert]]:
    """The official windows (``official``, else the newest Claude Code reported), the blocks of local usage and
    the alerts: what every surface shows."""
    official = _official(now, official)
    blocks = _blocks(monitor, now)
    return official, blocks, lim.limit_alerts(official, lim.estimate(blocks, now), _shares(monitor))


def _official(now: float, official: list[lim.OfficialLimit] | None) -> list[lim.OfficialLimit]:
    from ctxtop.sources.claude_code import observations

    return official or lim.latest_official(observations.load_all().values(), now)


def _blocks(monitor: Monitor, now: float) -> list[lim.Block]:
    """The five-hour blocks of the last ``HISTORY`` of local usage (every request read and priced)."""
    from ctxtop.core.metrics import request_cost

    usage = []
    prices = monitor.index.prices
    for req in monitor.index.requests_since(now - HISTORY):
        cost = request_cost(prices, req)
        usage.append(lim.Usage(req.ts, req.billed.total, cost.total if cost is not None else None))
    return lim.blocks(usage)


def _shares(monitor: Monitor) -> tuple[float, float, float]:
    return (monitor.config.get("limits.warn_pct") / 100, monitor.config.get("limits.high_pct") / 100, 1.0)


def strip(monitor: Monitor, now: float) -> tuple[str, list[lim.LimitAlert]]:
    """The TUI's top-strip text and the alerts (the live dashboard)."""
    official, blocks, alerts = assess(monitor, now)
    return lim.summary(official, now, lim.estimate(blocks, now)), alerts


def statusline_limits(monitor: Monitor, rate_limits: object, now: float) -> str:
    """The statusline's limits: ``5h 71% 7d 20%`` (official: this refresh's, else the newest seen), else the
    estimated block ``5h 64% est.`` (only once an earlier block sets its 100%: the line has no room for bare
    token counts); ``▲`` first once one reached a ``[limits]`` share."""
    official = _official(now, lim.official_limits(rate_limits, now))
    # With official figures the estimate is neither shown nor alerted on: the statusline (a hot path) does not
    # read and price eight days of requests for it.
    blocks = [] if official else _blocks(monitor, now)
    alerts = lim.limit_alerts(official, lim.estimate(blocks, now), _shares(monitor))
    if official:
        text = " ".join(f"{w.label} {w.used_pct:.0f}%" for w in official)
    else:
        est = lim.estimate(blocks, now)
        if est is None or est.used_pct is None:
            return ""
        text = f"5h {est.used_pct:.0f}% est."
    return f"▲ {text}" if alerts else text


def collect(monitor: Monitor, now: float | None = None) -> dict[str, Any]:
    """Plan limits as ``ctxtop report limits --json`` prints them: official windows, the estimated block, alerts."""
    now = time.time() if now is None else now
    official, blocks, alerts = assess(monitor, now)
    est_ = lim.estimate(blocks, now)
    current = est_.block if est_ is not None else None
    limit_tokens = est_.limit_tokens if est_ is not None else None
    out: dict[str, Any] = {"official": [], "estimated": None, "alerts": [a.message for a in alerts]}
    for w in official:
        out["official"].append({
            "window": w.key, "used_pct": w.used_pct, "resets_at": iso(w.resets_at),
            "resets_in_minutes": round(left / 60) if (left := w.resets_in(now)) is not None else None,
            "observed_at": iso(w.observed_at), "source": "official (reported by Claude Code)",
        })  # fmt: skip
    if current is not None:
        projected_tokens = current.projected_tokens(now)
        est: dict[str, Any] = {
            "source": "estimated from local usage (five-hour blocks, as ccusage blocks)",
            "block_start": iso(current.start), "block_end": iso(current.end),
            "resets_in_minutes": round((current.end - now) / 60),
            "tokens": current.tokens, "requests": current.requests, "cost_usd": money(current.cost),
            "unpriced_requests": current.unpriced_requests,
            "burn_usd_per_hour": money(current.burn_usd_per_hour),
            "tokens_per_hour": round(current.tokens_per_hour) if current.tokens_per_hour else None,
            "projected_cost_usd": money(current.projected_cost(now)), "projected_tokens": projected_tokens,
            "limit_tokens": limit_tokens, "used_pct": None, "full_at": None,
        }  # fmt: skip
        if limit_tokens:
            est["used_pct"] = est_.used_pct if est_ is not None else None
            rate = current.tokens_per_hour
            if rate and current.tokens < limit_tokens:
                full = max(now, current.last_ts) + (limit_tokens - current.tokens) / rate * 3600
                est["full_at"] = iso(full) if full < current.end else None
        out["estimated"] = est
    out["blocks"] = [
        {"start": iso(b.start), "end": iso(b.end), "tokens": b.tokens, "cost_usd": money(b.cost),
         "requests": b.requests, "active": b is current}
        for b in blocks[-10:]
    ]  # fmt: skip
    return out
