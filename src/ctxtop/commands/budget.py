"""``ctxtop budget allow SESSION|today`` and ``ctxtop budget status [SESSION] [--json]``.

``allow SESSION`` (any unique prefix of the id) lets that session's next prompt through once, past a hard
limit; ``allow today`` lets every prompt through until local midnight. ``status`` lists the budgets set and
where today's, this week's and this month's spend (and a session's) stands against each.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time

from ctxtop.adapters import budget_state
from ctxtop.commands._common import open_monitor
from ctxtop.core import budgets as core_budgets
from ctxtop.services import notes
from ctxtop.services.budgets import assess

_FULL_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def allow(args: argparse.Namespace) -> int:
    target = args.target.strip()
    if target == "today":
        day = core_budgets.period("day", time.time()).label
        budget_state.allow_day(day)
        print(f"ctxtop: every prompt goes through until the end of {day}, whatever the budgets")
        return 0
    monitor = open_monitor(args, quiet=True)
    try:
        matches = notes.match_sessions(monitor.index, target)
    finally:
        monitor.close()
    if len(matches) > 1:
        print(f"ctxtop: {target!r} matches {len(matches)} sessions: give more of the id", file=sys.stderr)
        return 1
    if not matches and not _FULL_ID.match(target):
        print(f"ctxtop: no session id starts with {target!r}: give the id the block message names",
              file=sys.stderr)  # fmt: skip
        return 1
    session_id = (
        matches[0] if matches else target
    )  # a full id: its transcript may be under another config dir
    try:
        budget_state.allow_session(session_id)
    except ValueError as exc:
        print(f"ctxtop: {exc}", file=sys.stderr)
        return 1
    print(f"ctxtop: the next prompt of session {session_id} goes through once, whatever the budgets")
    return 0


def status(args: argparse.Namespace) -> int:
    monitor = open_monitor(args, quiet=True)
    try:
        budgets = monitor.config.budgets
        session_id = None
        if args.session:
            matches = monitor.index.match_sessions(args.session)
            if len(matches) != 1:
                print(f"ctxtop: {args.session!r} matches {len(matches)} sessions", file=sys.stderr)
                return 1
            session_id = matches[0]
        result = assess(monitor.index, budgets, session_id, time.time())
    finally:
        monitor.index.close()
    spent = result.spent
    assert spent is not None
    rows = []
    for b in budgets:
        value = spent.get(b.level, b.unit)
        if b.level in ("request", "session") and session_id is None:
            continue
        verdict = next((v for v in result.verdicts if v.budget == b), None)
        period = spent.periods[b.level].label if b.level in spent.periods else session_id
        rows.append({
            "level": b.level, "unit": b.unit, "period": period, "spent": str(value),
            "budget": None if b.amount is None else str(b.amount), "hard": None if b.hard is None else str(b.hard),
            "state": verdict.state if verdict else "ok",
        })  # fmt: skip
    allowances = budget_state.pending(session_id)
    if args.json:
        print(json.dumps({"budgets": rows, "allowances": allowances}, indent=2))
        return 0
    if not budgets:
        print("no budgets set: [budgets] in config.toml, or Settings (s) in the TUI")
        return 0
    for row in rows:
        unit = row["unit"]
        fmt = core_budgets.fmt_amount
        parts = [
            f"{row['level']:<8} {row['period'] or '':<12} {fmt(core_budgets.Decimal(row['spent']), unit):>18}"
        ]
        if row["budget"] is not None:
            parts.append(f"budget {fmt(core_budgets.Decimal(row['budget']), unit)}")
        if row["hard"] is not None:
            parts.append(f"hard {fmt(core_budgets.Decimal(row['hard']), unit)}")
        parts.append(row["state"])
        print("  ".join(parts))
    for name in allowances:
        if name.startswith("allow-day-"):
            print(f"granted: every prompt until the end of {name[len('allow-day-') :]}")
        else:
            print(f"granted: the next prompt of session {name[len('allow-session-') :]}")
    return 0
