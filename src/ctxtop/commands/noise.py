"""``ctxtop report noise``: what the bash-output filter removed, and what that was worth, per session and day.

Thin: the rows are ``ctxtop.services.noise.build_rows`` over the index (the accounting is ``core.noise``,
shared with the TUI's noise panel); this prints them as a table, ``--json`` or ``--csv``.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from dataclasses import asdict
from datetime import datetime
from decimal import Decimal
from typing import Any

from ctxtop.commands._common import open_monitor
from ctxtop.core.session_ids import short_id
from ctxtop.services.noise import Row, build_rows, by_day


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value


def _usd(value: Decimal | None) -> str:
    return "unpriced" if value is None else f"${value.quantize(Decimal('0.0001')):,}"


def _day(value: str | None) -> str | None:
    if not value:
        return None
    for fmt in ("%Y-%m-%d", "%Y%m%d"):
        try:
            return datetime.strptime(value.strip(), fmt).strftime("%Y-%m-%d")
        except ValueError:
            continue
    raise SystemExit(f"ctxtop: invalid date {value!r}: use YYYY-MM-DD")


def run(args: argparse.Namespace) -> int:
    """Print the noise report (table, ``--json`` or ``--csv``)."""
    since, until = _day(args.since), _day(args.until)
    monitor = open_monitor(args)
    try:
        rows = build_rows(monitor.index, since, until, args.project)
    finally:
        monitor.close()
    sessions = [asdict(r) for r in rows]
    days = by_day(rows)
    if args.json:
        json.dump(
            _jsonable({"sessions": sessions, "days": days, "tokenizer": "cl100k_base"}), sys.stdout, indent=2
        )
        sys.stdout.write("\n")
        return 0
    if args.csv:
        fields = list(sessions[0]) if sessions else [f for f in Row.__dataclass_fields__]
        w = csv.DictWriter(sys.stdout, fieldnames=fields)
        w.writeheader()
        for s in sessions:
            w.writerow({k: _jsonable(v) for k, v in s.items()})
        return 0
    if not rows:
        print("No filtered outputs and no Bash outputs to estimate in this range.")
        return 0
    # Upper-case headers, as in `ctxtop report sessions`.
    head = f"{'SESSION':<10} {'DAY':<10} {'KIND':<9} {'OUTPUTS':>7} {'REMOVED TOK':>11} {'RE-READ TOK':>12} {'WORTH':>10} {'SHARE':>6}"
    print(head)
    for r in rows:
        kind = "estimate" if r.estimated else "filtered"
        neg = f"  ({r.negative_outputs} negative)" if r.negative_outputs else ""
        print(
            f"{short_id(r.session_id):<10} {r.day:<10} {kind:<9} {r.outputs:>7} {r.removed_tokens:>11,} "
            f"{r.rereads:>12,} {_usd(r.worth_usd):>10} {r.share:>6.1%}{neg}"
        )
    print()
    print(
        f"{'DAY':<10} {'KIND':<9} {'SESSIONS':>8} {'OUTPUTS':>7} {'REMOVED TOK':>11} {'RE-READ TOK':>12} {'WORTH':>10}"
    )
    for d in days:
        kind = "estimate" if d["estimated"] else "filtered"
        print(
            f"{d['day']:<10} {kind:<9} {d['sessions']:>8} {d['outputs']:>7} {d['removed_tokens']:>11,} "
            f"{d['rereads']:>12,} {_usd(d['worth_usd']):>10}"
        )
    print(
        "\nTokens are tiktoken cl100k counts; outputs over 30,000 chars are credited as Claude Code's preview."
    )
    return 0
