"""Plan limits: the five-hour and weekly use Claude Code reports, or an estimate from local usage.

Official: Claude Code's statusLine input carries ``rate_limits`` {``five_hour``, ``seven_day``}, each
{``used_percentage``, ``resets_at`` (epoch seconds)}, for accounts that have plan limits.

Estimated, where no official figure was seen: local usage in five-hour blocks the way ccusage's ``blocks``
counts them. A block starts at the hour (UTC) of its first request and lasts five hours; a request after the
block's end, or after a gap of five hours or more, starts a new one. Per block: tokens, cost, burn rate
(cost per hour between its first and latest request) and a projection to the block's end at that pace.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from ctxtop.core import format as fmt
from ctxtop.core.limit_windows import limit_windows

BLOCK_SECONDS = 5 * 3600
ALERT_SHARES = (0.7, 0.9, 1.0)


@dataclass(frozen=True, slots=True)
class OfficialLimit:
    """One limit as Claude Code reported it."""

    key: str
    """``five_hour`` or ``seven_day``."""
    label: str
    used_pct: float
    resets_at: float | None
    observed_at: float | None = None

    def resets_in(self, now: float) -> float | None:
        return max(self.resets_at - now, 0.0) if self.resets_at is not None else None


def official_limits(rate_limits: object, now: float, observed_at: float | None = None) -> list[OfficialLimit]:
    """The limits in a ``rate_limits`` object; a window whose reset time has passed is dropped (stale)."""
    return [OfficialLimit(*window, observed_at) for window in limit_windows(rate_limits, now)]


@dataclass(frozen=True, slots=True)
class Usage:
    """One request's share of local usage: when, how many tokens, what it cost (None: unpriced)."""

    ts: float
    tokens: int
    cost: Decimal | None


@dataclass(slots=True)
class Block:
    start: float
    end: float
    first_ts: float
    last_ts: float
    tokens: int = 0
    cost: Decimal = Decimal(0)
    requests: int = 0
    unpriced_requests: int = 0

    def active(self, now: float) -> bool:
        return self.start <= now < self.end

    @property
    def burn_usd_per_hour(self) -> Decimal | None:
        """Cost per hour between the block's first and latest request (None below one minute)."""
        span = self.last_ts - self.first_ts
        if span < 60:
            return None
        return self.cost * Decimal(3600) / Decimal(str(round(span, 3)))

    @property
    def tokens_per_hour(self) -> float | None:
        span = self.last_ts - self.first_ts
        return self.tokens * 3600 / span if span >= 60 else None

    def projected_cost(self, now: float) -> Decimal | None:
        """At the current pace, the cost at the block's end."""
        burn = self.burn_usd_per_hour
        if burn is None:
            return None
        left = max(self.end - max(now, self.last_ts), 0.0)
        return self.cost + burn * Decimal(str(round(left / 3600, 6)))

    def projected_tokens(self, now: float) -> int | None:
        rate = self.tokens_per_hour
        if rate is None:
            return None
        return self.tokens + int(rate * max(self.end - max(now, self.last_ts), 0.0) / 3600)


def blocks(usage: Iterable[Usage]) -> list[Block]:
    """Five-hour blocks, oldest first (ccusage's rule; see the module docstring)."""
    out: list[Block] = []
    for u in sorted(usage, key=lambda x: x.ts):
        current = out[-1] if out else None
        if current is None or u.ts >= current.end or u.ts - current.last_ts >= BLOCK_SECONDS:
            start = u.ts - (u.ts % 3600)
            current = Block(start, start + BLOCK_SECONDS, u.ts, u.ts)
            out.append(current)
        current.last_ts = u.ts
        current.tokens += u.tokens
        current.requests += 1
        if u.cost is None:
            current.unpriced_requests += 1
        else:
            current.cost += u.cost
    return out


def reached(share: float, shares: Sequence[float] = ALERT_SHARES) -> float | None:
    """The highest alert share ``share`` has reached (0.7, 0.9, 1.0 by default), or None."""
    hit = [s for s in shares if share >= s]
    return max(hit) if hit else None


@dataclass(slots=True)
class LimitsReport:
    """What ``ctxtop report limits`` and the TUI show."""

    official: list[OfficialLimit] = field(default_factory=list)
    blocks: list[Block] = field(default_factory=list)
    now: float = 0.0

    @property
    def current(self) -> Block | None:
        return self.blocks[-1] if self.blocks and self.blocks[-1].active(self.now) else None


@dataclass(frozen=True, slots=True)
class Estimate:
    """The current five-hour block against the largest earlier one (ccusage's ``--token-limit max``)."""

    block: Block
    limit_tokens: int | None
    """The largest earlier block's tokens: the estimate's 100% (None: no earlier block)."""

    @property
    def used_pct(self) -> float | None:
        return round(self.block.tokens / self.limit_tokens * 100, 1) if self.limit_tokens else None


def estimate(found: Sequence[Block], now: float) -> Estimate | None:
    """The estimate for the block active at ``now`` (None when no request falls in one)."""
    current = found[-1] if found and found[-1].active(now) else None
    if current is None:
        return None
    return Estimate(current, max((b.tokens for b in found if b is not current), default=None))


@dataclass(frozen=True, slots=True)
class LimitAlert:
    key: str
    """The window, its period (reset time or block start) and the share: each is alerted once."""
    message: str
    share: float


def limit_alerts(
    official: Sequence[OfficialLimit], est: Estimate | None, shares: Sequence[float] = ALERT_SHARES
) -> list[LimitAlert]:
    """The highest share each limit reached: the official windows, else the estimated block."""
    out: list[LimitAlert] = []
    for w in official:
        share = reached(w.used_pct / 100, shares)
        if share is not None:
            period = f"{w.resets_at:.0f}" if w.resets_at is not None else ""
            out.append(LimitAlert(f"limit:{w.key}:{period}:{share}",
                                  f"{w.label} limit at {w.used_pct:.0f}% (official): past {share:.0%}", share))  # fmt: skip
    if not official and est is not None and est.limit_tokens:
        share = reached(est.block.tokens / est.limit_tokens, shares)
        if share is not None:
            out.append(LimitAlert(
                f"limit:block:{est.block.start:.0f}:{share}",
                f"5h block at {est.used_pct:.0f}% of the largest earlier block (estimated): past {share:.0%}",
                share,
            ))  # fmt: skip
    return out


def countdown(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    minutes = int(seconds // 60)
    if minutes >= 24 * 60:
        return f"{minutes // 1440}d{minutes % 1440 // 60}h"
    return f"{minutes // 60}h{minutes % 60:02d}m"


def summary(official: Sequence[OfficialLimit], now: float, est: Estimate | None = None) -> str:
    """One line for the TUI's top strip: ``5h 71% ↻2h10m · 7d 20% ↻3d4h (official)``; with no official
    figure, the estimated block: ``5h 64% ↻3h05m (est.)`` (its tokens when no earlier block sets a 100%);
    empty when neither."""
    if not official:
        if est is None:
            return ""
        used = f"{est.used_pct:.0f}%" if est.used_pct is not None else f"{fmt.tokens(est.block.tokens)} tok"
        return f"5h {used} ↻{countdown(est.block.end - now)} (est.)"
    parts = [f"{w.label} {w.used_pct:.0f}% ↻{countdown(w.resets_in(now))}" for w in official]
    return " · ".join(parts) + " (official)"


def latest_official(observations: Iterable[dict], now: float) -> list[OfficialLimit]:
    """The plan limits of the newest observation that carries any (they are per account, not per session)."""
    newest = max((o for o in observations if o.get("rate_limits")), key=lambda o: o.get("observed_at") or 0,
                 default=None)  # fmt: skip
    return official_limits(newest.get("rate_limits"), now, newest.get("observed_at")) if newest else []
