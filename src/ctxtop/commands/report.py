"""``ctxtop report sessions|daily|weekly|monthly|projects|models``: the scripting contract (see README).

Text tables and CSV end with a TOTAL row (in the CSV of ``sessions`` its ``session_id`` is ``TOTAL``, and it
adds a ``sessions`` column); JSON is rows only.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ctxtop.commands._common import day_key, open_monitor, parse_day
from ctxtop.core import report
from ctxtop.core.pricing import fmt_usd
from ctxtop.core.session_ids import short_id, short_ids

GROUP_BY = {
    "daily": ("day", "date"),
    "weekly": ("week", "week"),
    "monthly": ("month", "month"),
    "projects": ("project", "project"),
    "models": ("model", "model"),
}


def _emit(
    rows: list[dict[str, Any]],
    args: argparse.Namespace,
    table: list[tuple[str, str]],
    total: dict[str, Any],
) -> bytes:
    """The report's output, as the bytes it writes to stdout."""
    if args.json:
        # orjson: the stdlib's indenting encoder is pure Python and slow on a big history.
        import orjson

        return orjson.dumps(rows, option=orjson.OPT_INDENT_2) + b"\n"
    if args.csv:
        return _encoded(report.to_csv(rows + [total] if rows else rows))
    if not rows:
        return _encoded(_nothing(args) + "\n")
    cells = [[title for _, title in table]]
    shorts = short_ids(r["session_id"] for r in rows if "session_id" in r)
    for r in [*rows, total]:
        cells.append([_cell(r, key, shorts) if key in r or key == "tokens.total" else "" for key, _ in table])
    widths = [max(len(row[i]) for row in cells) for i in range(len(table))]
    lines = [
        "  ".join(
            c.rjust(w) if n and i else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))
        )
        for n, row in enumerate(cells)
    ]
    return _encoded("".join(line + "\n" for line in lines))


def _encoded(text: str) -> bytes:
    """``text`` as ``print`` would write it to this stdout (its encoding and error handler)."""
    return text.encode(sys.stdout.encoding or "utf-8", sys.stdout.errors or "strict")


def _nothing(args: argparse.Namespace) -> str:
    """Why the table is empty: the filters, when there are any (doctor would not help), else the sources."""
    since, until = getattr(args, "since", None), getattr(args, "until", None)
    first, last = parse_day(since), parse_day(until)
    if first is not None and last is not None and first > last:
        return f"Nothing to show: --since {since} is after --until {until}."
    filters = [f"--{name} {value}" for name in ("project", "since", "until")
               if (value := getattr(args, name, None))]  # fmt: skip
    if filters:
        return f"No sessions match {' '.join(filters)}."
    return "No sessions found. Run `ctxtop doctor` to see where ctxtop looked."


def _clip(text: str, width: int, *, keep_end: bool = False) -> str:
    """``text`` in ``width`` characters, with an ellipsis where it was cut."""
    if len(text) <= width:
        return text
    return "…" + text[-(width - 1) :] if keep_end else text[: width - 1] + "…"


def _cell(row: dict[str, Any], key: str, shorts: dict[str, str]) -> str:
    if key == "tokens.total":
        t = row["tokens"]
        return f"{sum(t.values()):,}"
    if key == "cost_usd":
        from decimal import Decimal

        value = row["cost_usd"]
        return fmt_usd(Decimal(value) if value is not None else None)
    if key == "fill":
        return "-" if row["fill"] is None else f"{row['fill'] * 100:.0f}%"
    if row.get("session_id") == "TOTAL" and key in ("session_id", "project"):
        return "TOTAL" if key == "session_id" else f"{row['sessions']:,} sessions"
    if key == "reread_ratio":
        return f"{row['reread_ratio'] * 100:.0f}%"
    if key == "models":
        return _clip(",".join(row["models"]), 28)
    if key == "last_ts":
        return (row["last_ts"] or "")[:16].replace("T", " ")
    if key == "session_id":
        return shorts.get(row["session_id"]) or short_id(row["session_id"])
    if key == "project":
        return _clip(row.get("project") or "?", 36, keep_end=True)
    value = row.get(key)
    return f"{value:,}" if isinstance(value, int) else str(value)


def run(args: argparse.Namespace) -> int:
    from ctxtop import report_fast

    monitor = open_monitor(args)
    since = parse_day(args.since)
    until = parse_day(args.until, end=True)
    present_only = getattr(args, "present_only", False)
    name = report_fast.output_name(args.report, "json" if args.json else "csv" if args.csv else "table")
    # Unfiltered, the output is kept for report_fast to print again while nothing changes.
    unfiltered = not (args.since or args.until or args.project or present_only)
    if args.report == "sessions" and args.json:
        # Stored rows, spliced: a warm run decodes and renders only the sessions that changed.
        out = report_fast.joined(monitor.session_rows(since, until, args.project, present_only))
    elif args.report == "sessions":

        def render() -> tuple[bytes, list[tuple[str, str | None, str | None]]]:
            views = monitor.views(since, until, args.project, present_only)
            body = _emit(
                [v.as_dict() for v in views],
                args,
                [("session_id", "SESSION"), ("project", "PROJECT"), ("models", "MODEL"),
                 ("last_ts", "LAST (UTC)"), ("turns", "TURNS"), ("tokens.total", "TOKENS"), ("cost_usd", "COST"),
                 ("fill", "FILL"), ("reread_ratio", "RE-READ")],
                report.session_totals(views),
            )  # fmt: skip
            return body, monitor.row_keys(views) if unfiltered else []

        out = monitor.kept_output(name, render) if unfiltered else render()[0]
    else:
        by, label = GROUP_BY[args.report]

        def render() -> tuple[bytes, list[tuple[str, str | None, str | None]]]:
            sessions = monitor.index.sessions(since, until, args.project, present_only=present_only)
            days = day_key(args.since), day_key(args.until)
            rows = [t.as_dict(label) for t in report.group(sessions, by, *days)]
            [everything] = report.group(sessions, "total", *days) or [report.Total("TOTAL")]
            body = _emit(rows, args, [(label, label.upper()), ("sessions", "SESSIONS"), ("requests", "REQUESTS"),
                                      ("tokens.total", "TOKENS"), ("cost_usd", "COST")],
                         everything.as_dict(label))  # fmt: skip
            return body, []  # totals of the sessions' figures only: no settings or observation file in them

        out = monitor.kept_output(name, render) if unfiltered else render()[0]
    if unfiltered:
        monitor.remember_fast(report_fast.options_of(
            getattr(args, "claude_dir", None), getattr(args, "api_logs", None),
            getattr(args, "codex_dir", None), getattr(args, "cache_dir", None)))  # fmt: skip
    sys.stdout.flush()  # anything printed before goes first
    sys.stdout.buffer.write(out)
    sys.stdout.flush()
    return 0
