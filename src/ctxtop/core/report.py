"""Rows of the reports, shared by ``ctxtop report`` and the TUI so both always show the same numbers."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from ctxtop.core.compaction import CompactionInfo, threshold_tokens
from ctxtop.core.metrics import SessionStats
from ctxtop.core.usage import ZERO, Tokens

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: importing typing costs the statusline ~5 ms
if TYPE_CHECKING:
    from typing import Any


def iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")


MONEY_PLACES = Decimal("0.0000000001")


def money(value: Decimal | None) -> str | None:
    """Dollars with one fixed precision in every JSON/CSV field: ten decimals ("12.1839302500").

    Ten places are exact for every billed amount (token counts times per-million rates with up to four
    decimals, e.g. $0.0375); only derived figures such as the cache-miss cost, a quotient, are rounded.
    """
    if value is None:
        return None
    text = f"{value.quantize(MONEY_PLACES):f}"
    return text[1:] if text.startswith("-") and not value.quantize(MONEY_PLACES) else text


def _share(value: float | None) -> float | None:
    return round(value, 6) if value is not None else None


@dataclass(frozen=True, slots=True)
class SessionView:
    """A session with the compaction settings that apply to it: everything a row shows.

    The one place fill, compaction point and room are computed: the report (JSON/CSV), the TUI, the
    statusline, doctor and the alerts all read them from here.
    """

    stats: SessionStats
    compaction: CompactionInfo
    threshold_pct: float

    @property
    def window(self) -> int | None:
        """The window the fill is against (the model's full window, Claude Code's ``context_window_size``)."""
        info = self.compaction
        return info.context_window if info.context_window is not None else info.window

    @property
    def context_tokens(self) -> int | None:
        """Prompt tokens of the main chain's latest request; None when there is none."""
        return self.stats.context_tokens

    @property
    def fill(self) -> float | None:
        """Claude Code's ``used_percentage`` / 100: prompt tokens over the window."""
        if not self.window or self.context_tokens is None:
            return None
        return self.context_tokens / self.window

    @property
    def threshold_tokens(self) -> int | None:
        """ctxtop's threshold, a share of the window Claude Code compacts against (the one rounding rule)."""
        if not self.compaction.threshold_applies:
            return None
        window = self.compaction.window or self.window
        return threshold_tokens(self.threshold_pct, window) if window else None

    def share(self, tokens: int | None) -> float | None:
        """``tokens`` as a share of the fill's window (a compaction point shown beside the fill)."""
        return tokens / self.window if tokens is not None and self.window else None

    @property
    def room_before_compaction(self) -> int | None:
        """Tokens left before the first of: ctxtop's threshold, Claude Code's own compaction point."""
        limits = [x for x in (self.threshold_tokens, self.compaction.compact_at) if x is not None]
        if not limits or self.context_tokens is None:
            return None
        return min(limits) - self.context_tokens

    def as_dict(self) -> dict[str, Any]:
        s = self.stats
        t = s.tokens
        return {
            "session_id": s.session_id,
            "source": s.source,
            "project": s.cwd,
            "git_branch": s.git_branch,
            "models": s.models,
            "first_ts": iso(s.first_ts),
            "last_ts": iso(s.last_ts),
            "tokens": t.as_dict(),
            "reasoning_output_tokens": s.reasoning_tokens,
            "web_search_requests": s.web_search,
            "web_fetch_requests": s.web_fetch,
            "cost_usd": money(s.cost_usd),
            "cost_breakdown_usd": {k: money(Decimal(v)) for k, v in s.cost.as_dict().items()},
            "cost_estimated": bool(s.estimated),
            "cost_estimated_reasons": s.estimated,
            "unpriced_tokens": s.unknown_cost_tokens.as_dict() if s.unknown_cost_tokens.total else None,
            "unpriced_models": s.unknown_models,
            "subagent_cost_usd": money(s.subagent_cost),
            "subagent_tokens": s.subagent_tokens.as_dict(),
            "context_tokens": s.context_tokens,
            "context_window": self.window,
            "context_window_source": self.compaction.context_window_source or self.compaction.window_source,
            "fill": _share(self.fill),
            "threshold_pct": self.threshold_pct,
            "threshold_tokens": self.threshold_tokens,
            "compaction_window": self.compaction.window,
            "compaction_window_source": self.compaction.window_source,
            "compact_at_tokens": self.compaction.compact_at,
            "compact_at_fill": _share(self.share(self.compaction.compact_at)),
            "room_before_compaction_tokens": self.room_before_compaction,
            "reread_ratio": round(s.reread_ratio, 6),
            "cache_share_of_rereads": round(s.cache_share_of_rereads, 6),
            "cache_miss_cost_usd": money(s.cache_miss_cost),
            "cache_expiries": len(s.expiries),
            "compactions": len(s.compactions),
            "compaction_tokens": [
                {"pre": c.pre_tokens, "post": c.post_tokens, "trigger": c.trigger} for c in s.compactions
            ],
            "turns": s.turns,
            "requests": s.requests,
            "active_minutes": round(s.active_seconds / 60, 2),
            "transcript_deleted": s.transcript_deleted,
            "archived_requests": s.archived_requests,
            "burn_usd_per_hour": str(s.burn_usd_per_hour.quantize(Decimal("0.0001"))),
            "tokens_per_minute": round(s.tokens_per_minute, 1),
        }


@dataclass(slots=True)
class Total:
    """Totals of one group (a day, a project, a model)."""

    key: str
    tokens: Tokens = ZERO
    cost: Decimal = Decimal(0)
    unknown_tokens: Tokens = ZERO
    requests: int = 0
    sessions: int = 0

    def as_dict(self, label: str) -> dict[str, Any]:
        return {
            label: self.key,
            "tokens": self.tokens.as_dict(),
            "cost_usd": money(self.cost),
            "unpriced_tokens": self.unknown_tokens.as_dict() if self.unknown_tokens.total else None,
            "requests": self.requests,
            "sessions": self.sessions,
        }


TIME_GROUPS = ("day", "week", "month")
"""Groupings by time: their rows are in time order (the others by cost)."""


def week_of(day: str) -> str:
    """The Monday (local date, ``YYYY-MM-DD``) starting the ISO week of ``day``."""
    d = date.fromisoformat(day)
    return (d - timedelta(days=d.weekday())).isoformat()


def _key(by: str, day: str, model: str, cwd: str | None) -> str:
    if by == "day":
        return day
    if by == "week":
        return week_of(day)
    if by == "month":
        return day[:7]
    if by == "model":
        return model
    if by == "total":
        return "TOTAL"
    return cwd or "?"


def group(
    sessions: Iterable[SessionStats], by: str, since_day: str | None = None, until_day: str | None = None
) -> list[Total]:
    """Totals by "day", "week", "month", "model" or "project" ("total": one row of everything), counted per
    request day (a session spanning days splits; it counts once in each group it has requests in)."""
    totals: dict[str, Total] = {}
    for s in sessions:
        seen: set[str] = set()
        for b in s.buckets.values():
            if since_day and b.day < since_day or until_day and b.day > until_day:
                continue
            key = _key(by, b.day, b.model, s.cwd)
            total = totals.get(key)
            if total is None:
                total = totals[key] = Total(key)
            total.tokens = total.tokens + b.tokens
            total.cost += b.cost
            total.unknown_tokens = total.unknown_tokens + b.unknown_tokens
            total.requests += b.requests
            if key not in seen:
                seen.add(key)
                total.sessions += 1
    ordered = sorted(totals.values(), key=lambda t: t.key)
    if by not in TIME_GROUPS:
        ordered.sort(key=lambda t: -t.cost)
    return ordered


def session_totals(views: Iterable[SessionView]) -> dict[str, Any]:
    """The totals row of the sessions report: the sums (fill and re-read ratios do not add up)."""
    views = list(views)
    tokens = ZERO
    cost = Decimal(0)
    for v in views:
        tokens = tokens + v.stats.tokens
        cost += v.stats.cost_usd or Decimal(0)
    return {
        "session_id": "TOTAL",
        "sessions": len(views),
        "tokens": tokens.as_dict(),
        "cost_usd": money(cost),
        "turns": sum(v.stats.turns for v in views),
        "requests": sum(v.stats.requests for v in views),
    }


def flatten(row: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested dicts become dotted columns; lists become ``;``-joined cells (the CSV shape of every report)."""
    flat: dict[str, Any] = {}
    for key, value in row.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, f"{name}."))
        elif isinstance(value, list):
            flat[name] = ";".join(json.dumps(v) if isinstance(v, dict) else str(v) for v in value)
        else:
            flat[name] = value
    return flat


def to_csv(rows: list[dict[str, Any]]) -> str:
    flat = [flatten(r) for r in rows]
    fields: list[str] = []
    for r in flat:
        fields.extend(k for k in r if k not in fields)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=fields)
    writer.writeheader()
    writer.writerows(flat)
    return out.getvalue()


def to_json(rows: list[dict[str, Any]]) -> str:
    return json.dumps(rows, indent=2) + "\n"
