"""Find the anomalies of ``core.anomalies`` in the index: one scan shared by the report and the TUI."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from ctxtop.core import anomalies as core
from ctxtop.core.metrics import local_day


def scan(
    index: Any,
    rules: core.Rules,
    since: float | None = None,
    until: float | None = None,
    project: str | None = None,
    session_ids: list[str] | None = None,
) -> list[core.Anomaly]:
    """Anomalies of the sessions in scope active in [since, until) (or of ``session_ids``), and of the days
    in that range (each judged against the seven days before it, whatever the range), in time order."""
    sessions = (
        index.sessions(ids=session_ids) if session_ids is not None else index.sessions(since, until, project)
    )
    found: list[core.Anomaly] = []
    for stats in sessions:
        full = index.session(stats.session_id)  # with the per-request series (not cached)
        if full is None:
            continue
        found += core.request_anomalies(stats.session_id, full.per_turn, rules)
        reread = core.reread_anomaly(stats, rules)
        if reread is not None:
            found.append(reread)
    days = _days(sessions, since, until)
    if days and session_ids is None:
        first = (date.fromisoformat(min(days)) - timedelta(days=7)).isoformat()
        # The baseline counts every session in scope, whatever the --project filter.
        everyone = index.sessions(since=_start_of(first))
        found += core.day_spikes(core.daily_spend(everyone), rules, days)
    if since is not None:
        found = [a for a in found if (a.ts if a.ts is not None else _start_of(a.day)) >= since]
    if until is not None:
        found = [a for a in found if (a.ts if a.ts is not None else _start_of(a.day)) < until]
    found.sort(key=lambda a: (a.ts if a.ts is not None else _start_of(a.day), a.kind))
    return found


def _start_of(day: str) -> float:
    from datetime import datetime

    d = date.fromisoformat(day)
    return datetime(d.year, d.month, d.day).timestamp()


def _days(sessions: list[Any], since: float | None, until: float | None) -> list[str]:
    days = {b.day for s in sessions for b in s.buckets.values()}
    if since is not None:
        days = {d for d in days if d >= local_day(since)}
    if until is not None:
        days = {d for d in days if _start_of(d) < until}
    return sorted(days)


_BEFORE_TODAY: dict[tuple[int, str], dict[str, Any]] = {}
"""Per index and day: the spend of the seven days before (it cannot change during the day), so a live
refresh reads only today's sessions."""


def live(index: Any, rules: core.Rules, session_ids: list[str], now: float) -> list[core.Anomaly]:
    """What the live TUI alerts on after a refresh: the anomalies of the sessions that changed, and whether
    today is a spike against the seven days before."""
    found = scan(index, rules, session_ids=session_ids) if session_ids else []
    today = local_day(now)
    key = (id(index), today)
    before = _BEFORE_TODAY.get(key)
    if before is None:
        first = (date.fromisoformat(today) - timedelta(days=7)).isoformat()
        older = core.daily_spend(index.sessions(since=_start_of(first), until=_start_of(today)))
        before = {d: v for d, v in older.items() if d < today}
        _BEFORE_TODAY.clear()
        _BEFORE_TODAY[key] = before
    daily = dict(before)
    todays = core.daily_spend(index.sessions(since=_start_of(today))).get(today)
    if todays is not None:
        daily[today] = todays
    found += core.day_spikes(daily, rules, [today])
    return found
