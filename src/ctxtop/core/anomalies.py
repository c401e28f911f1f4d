"""Anomalies: spend and requests far from their own usual, with the reason in words. Pure rules.

- **Day spike**: a local day's spend at least ``day_pct`` (30%) above the average of the seven days before it
  (days without spend count as $0; days before the first spend in the history do not count), judged only when
  the history reaches ``MIN_BASELINE_DAYS`` days back.
- **Request outlier**: a main-chain request whose prompt tokens or cost is at least ``request_factor`` (3×) the
  median of the session's previous ``WINDOW`` requests (at least ``MIN_HISTORY`` of them; and at least
  ``MIN_OUTLIER_PROMPT`` tokens or ``MIN_OUTLIER_USD``), or above an absolute ceiling (``request_prompt_tokens``, ``request_usd``; 0 = none). The median of the recent requests, not of the
  whole session, because a context grows over a session: its own recent past is its usual.
- **Cache drop**: a request that reads back from the cache a share of the previous request's prompt at least
  ``cache_drop_pct`` (50) points below the median of that share over the previous ``WINDOW`` requests: a cache
  invalidated by a change at the start of the prompt. (The share of the previous prompt, not of this one: a
  request that adds a large tool output has a low hit rate with an intact cache.) Not after a compaction (a
  new context is written) nor after an idle gap over five minutes (a cache expiry, which has its own alert).
- **Re-reads**: a session of at least ``MIN_HISTORY`` turns whose re-read share is above ``reread_pct``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from statistics import median

from ctxtop.core.pricing import fmt_usd
from ctxtop.core.session_ids import short_id

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ctxtop.core.metrics import SessionStats, Turn

WINDOW = 10
MIN_HISTORY = 5
MIN_BASELINE_DAYS = 3
IDLE_GAP = 5 * 60
MIN_OUTLIER_PROMPT = 10_000
"""A prompt smaller than this is never an outlier by the factor rule (a jump from 2K to 6K tokens is noise)."""
MIN_OUTLIER_USD = Decimal("0.05")
"""Nor a request costing less than this."""
KINDS = ("day-spike", "request-prompt", "request-cost", "cache-drop", "reread")


@dataclass(frozen=True, slots=True)
class Rules:
    """The thresholds, from ``[anomalies]`` in the config."""

    day_pct: float = 30.0
    request_factor: float = 3.0
    request_prompt_tokens: int = 0
    request_usd: float = 0.0
    cache_drop_pct: float = 50.0
    reread_pct: float = 95.0


@dataclass(frozen=True, slots=True)
class Anomaly:
    kind: str
    """One of ``KINDS``."""
    reason: str
    """In words, with the figures: ``2026-12-02: $41.20 spent, 2.1× the 7-day average ($19.60)``."""
    day: str
    ts: float | None = None
    session_id: str | None = None
    value: float = 0.0
    baseline: float = 0.0

    @property
    def key(self) -> str:
        """Identifies the anomaly across refreshes (an alert is raised once per key)."""
        return f"{self.kind}:{self.session_id or ''}:{self.ts if self.ts is not None else self.day}"

    def as_dict(self) -> dict[str, object]:
        return {"kind": self.kind, "day": self.day, "session_id": self.session_id, "ts": self.ts,
                "value": self.value, "baseline": self.baseline, "reason": self.reason}  # fmt: skip


def day_spikes(
    daily: Mapping[str, Decimal], rules: Rules, days: Iterable[str] | None = None
) -> list[Anomaly]:
    """Days (``YYYY-MM-DD`` -> spend) at least ``day_pct`` above the average of the seven days before."""
    out = []
    factor = 1 + Decimal(str(rules.day_pct)) / 100
    spent_days = [d for d, v in daily.items() if v > 0]
    if not spent_days:
        return []
    history_starts = min(spent_days)
    for day in sorted(days if days is not None else daily):
        spent = daily.get(day, Decimal(0))
        d = date.fromisoformat(day)
        window = [(d - timedelta(days=i)).isoformat() for i in range(1, 8)]
        window = [w for w in window if w >= history_starts]  # before the first spend there is no history
        if len(window) < MIN_BASELINE_DAYS:
            continue
        average = sum((daily.get(w, Decimal(0)) for w in window), Decimal(0)) / len(window)
        if not average:
            continue
        if spent > 0 and spent >= average * factor:
            times = spent / average
            out.append(Anomaly(
                "day-spike",
                f"{day}: {fmt_usd(spent)} spent, {times:.1f}× the average of the {len(window)} days before "
                f"({fmt_usd(average)})",
                day, value=float(spent), baseline=float(average),
            ))  # fmt: skip
    return out


def _local_day(ts: float) -> str:
    import time

    return time.strftime("%Y-%m-%d", time.localtime(ts))


def _clock(ts: float) -> str:
    import time

    return time.strftime("%Y-%m-%d %H:%M", time.localtime(ts))


def request_anomalies(session_id: str, turns: Sequence[Turn], rules: Rules) -> list[Anomaly]:
    """Outlier prompts and costs, and cache drops, among a session's main-chain requests (in time order)."""
    out: list[Anomaly] = []
    factor = rules.request_factor
    reuse = _reuse(turns)
    for i, turn in enumerate(turns):
        recent = turns[max(0, i - WINDOW) : i]
        short = short_id(session_id)
        when = _clock(turn.ts)
        day = _local_day(turn.ts)
        usual_prompt = median(t.prompt for t in recent) if len(recent) >= MIN_HISTORY else None
        if (
            usual_prompt
            and factor
            and turn.prompt >= max(factor * usual_prompt, MIN_OUTLIER_PROMPT)
            and not turn.compacted_before
        ) or (rules.request_prompt_tokens and turn.prompt > rules.request_prompt_tokens):
            base = usual_prompt or 0
            why = (f"{turn.prompt / base:.1f}× the median of the {len(recent)} requests before ({int(base):,})"
                   if base and turn.prompt >= factor * base else
                   f"above the {rules.request_prompt_tokens:,}-token ceiling")  # fmt: skip
            out.append(Anomaly("request-prompt", f"session {short} at {when}: a {turn.prompt:,}-token prompt, {why}",
                               day, turn.ts, session_id, float(turn.prompt), float(base)))  # fmt: skip
        costs = [t.cost for t in recent if t.cost is not None]
        if turn.cost is not None:
            usual_cost = median(costs) if len(costs) >= MIN_HISTORY else None
            ceiling = Decimal(str(rules.request_usd))
            big = bool(
                usual_cost and factor and turn.cost >= max(Decimal(str(factor)) * usual_cost, MIN_OUTLIER_USD)
            )
            if big or (ceiling and turn.cost > ceiling):
                base_cost = usual_cost or Decimal(0)
                why = (f"{turn.cost / base_cost:.1f}× the median of the {len(costs)} requests before "
                       f"({fmt_usd(base_cost, 4)})" if big else f"above the {fmt_usd(ceiling)} ceiling")  # fmt: skip
                if recent and turn.ts - recent[-1].ts > IDLE_GAP:
                    why += (
                        f", after {(turn.ts - recent[-1].ts) / 60:.0f} idle minutes (the cache had expired)"
                    )
                out.append(Anomaly("request-cost", f"session {short} at {when}: a request costing "
                                   f"{fmt_usd(turn.cost, 4)}, {why}", day, turn.ts, session_id,
                                   float(turn.cost), float(base_cost)))  # fmt: skip
        rate = reuse[i]
        history = [r for r in reuse[max(1, i - WINDOW) : i] if r is not None]
        if rules.cache_drop_pct and rate is not None and len(history) >= MIN_HISTORY:
            usual_rate = median(history)
            if (usual_rate - rate) * 100 >= rules.cache_drop_pct:
                out.append(Anomaly(
                    "cache-drop",
                    f"session {short} at {when}: the cache held {rate:.0%} of the previous prompt, against a usual "
                    f"{usual_rate:.0%} (the start of the prompt changed: a new system prompt, tools or an edited "
                    "early message)",
                    day, turn.ts, session_id, rate, usual_rate,
                ))  # fmt: skip
    return out


def _reuse(turns: Sequence[Turn]) -> list[float | None]:
    """Per request, the share of the previous prompt read back from the cache (None where no cache is to be
    expected: the first request, the first after a compaction, the first after an idle gap)."""
    out: list[float | None] = [None]
    for prev, turn in zip(turns, turns[1:], strict=False):
        if turn.compacted_before or turn.ts - prev.ts > IDLE_GAP or not prev.prompt:
            out.append(None)
        else:
            out.append(min(1.0, turn.cache_read / prev.prompt))
    return out


def reread_anomaly(stats: SessionStats, rules: Rules) -> Anomaly | None:
    """A session re-reading more than ``reread_pct`` of its input."""
    if stats.turns < MIN_HISTORY or not rules.reread_pct or stats.last_ts is None:
        return None
    share = stats.reread_ratio
    if share * 100 <= rules.reread_pct:
        return None
    return Anomaly(
        "reread",
        f"session {short_id(stats.session_id)}: {share:.0%} of its input re-reads earlier context (over "
        f"{rules.reread_pct:g}%): compacting, or starting a new session for a new task, would cut it",
        _local_day(stats.last_ts), None, stats.session_id, share, rules.reread_pct / 100,
    )  # fmt: skip


def daily_spend(sessions: Iterable[SessionStats]) -> dict[str, Decimal]:
    """Spend per local day over ``sessions`` (each once), from their day buckets."""
    out: dict[str, Decimal] = {}
    seen: set[str] = set()
    for s in sessions:
        if s.session_id in seen:
            continue
        seen.add(s.session_id)
        for b in s.buckets.values():
            out[b.day] = out.get(b.day, Decimal(0)) + b.cost
    return out
