"""``ctxtop report context SESSION [--json|--csv]``: where a session's context goes, exact in total, and what
re-reading each piece cost (see ``core.breakdown`` for what is exact and what is apportioned).

``ctxtop report compactions [SESSION] [--json]``: for each compaction, which facts of ctxtop's notes the
model saw right after it (see ``core.forensics`` for what the matcher can and cannot see)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from ctxtop.commands._common import open_monitor, parse_day
from ctxtop.core import breakdown as bdm
from ctxtop.core import forensics
from ctxtop.core.forensics import Retention
from ctxtop.core.format import tokens as tokens_text
from ctxtop.core.metrics import SessionStats
from ctxtop.core.pricing import fmt_usd
from ctxtop.core.report import iso, to_csv
from ctxtop.core.session_ids import short_id
from ctxtop.services.context import compaction_retention, tool_rollup
from ctxtop.services.context_io import session_breakdown


def resolve(monitor, prefix: str) -> str | None:  # type: ignore[no-untyped-def]
    """The one session ``prefix`` names, or None after saying why on stderr."""
    matches = monitor.index.match_sessions(prefix)
    if len(matches) == 1:
        return matches[0]
    if not matches:
        print(f"ctxtop: no session id starts with {prefix!r}", file=sys.stderr)
    else:
        shown = ", ".join(m[:13] for m in matches[:5]) + (" …" if len(matches) > 5 else "")
        print(
            f"ctxtop: {prefix!r} matches {len(matches)} sessions ({shown}): give more of the id",
            file=sys.stderr,
        )
    return None


def run(args: argparse.Namespace) -> int:
    monitor = open_monitor(args)
    session_id = resolve(monitor, args.session_id)
    if session_id is None:
        return 1
    refusal = monitor.compacts_itself(session_id)
    if refusal:
        print(f"ctxtop: session {session_id}: {refusal}", file=sys.stderr)
        return 1
    found = session_breakdown(monitor.index, session_id)
    if found is None:
        print(f"ctxtop: session {session_id} has no main transcript on disk to break down", file=sys.stderr)
        return 1
    if found.malformed:
        print(f"ctxtop: skipped {found.malformed} malformed line(s) of {found.path}", file=sys.stderr)
    bd = found.breakdown
    doc = bdm.as_dict(bd, session_id)
    if args.json:
        import orjson

        sys.stdout.buffer.write(orjson.dumps(doc, option=orjson.OPT_INDENT_2) + b"\n")
        return 0
    if args.csv:
        sys.stdout.write(to_csv(doc["items"]))  # type: ignore[arg-type]
        return 0
    print(f"session {session_id}")
    print(bdm.summary(bd))
    print(f"re-reads: {bd.reread_tokens:,} tokens, {fmt_usd(bd.reread_cost)}"
          + (f" ({bd.unpriced_reread_tokens:,} tokens of unpriced models)" if bd.unpriced_reread_tokens else ""))  # fmt: skip
    top = bd.costliest(args.top)
    if top:
        print("\ncostliest items (re-read cost)")
        rows: list[tuple[str, ...]] = [("#", "ITEM", "ADDED", "AT", "RE-READS", "RE-READ TOKENS", "COST")]
        for n, item in enumerate(top, 1):
            rows.append((str(n), _clip(item.title, 60), f"{item.added:,}", f"#{item.request}", f"{item.rereads}",
                         f"{item.reread_tokens:,}", fmt_usd(item.reread_cost)))  # fmt: skip
        _table(rows)
    groups = bd.by_group()
    if groups:
        print("\nper tool / category")
        rows = [("KIND", "GROUP", "ITEMS", "ADDED", "IN CONTEXT", "RE-READ TOKENS", "COST")]
        for g in groups:
            rows.append((bdm.KIND_TITLES[g.kind], _clip(g.group, 40), str(g.items), f"{g.added:,}", f"{g.live:,}",
                         f"{g.reread_tokens:,}", fmt_usd(g.reread_cost)))  # fmt: skip
        _table(rows)
    return 0


def _clip(text: str, width: int) -> str:
    """``text`` in ``width`` characters; a path keeps its end (the file name is what tells files apart)."""
    text = " ".join(text.split())
    if len(text) <= width:
        return text
    head, _, tail = text.partition(" /")
    if tail and len(head) < width // 3:
        return f"{head} …{text[-(width - len(head) - 2) :]}"
    return text[: width - 1] + "…"


def _table(rows: Sequence[tuple[str, ...]]) -> None:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print("  ".join(c.ljust(w) if i in (1,) or (i == 0 and not c.isdigit() and c != "#") else c.rjust(w)
                        for i, (c, w) in enumerate(zip(r, widths, strict=True))).rstrip())  # fmt: skip


def run_compactions(args: argparse.Namespace) -> int:
    monitor = open_monitor(args)
    if args.session_id:
        session_id = resolve(monitor, args.session_id)
        if session_id is None:
            return 1
        sessions = monitor.index.sessions(ids=[session_id])
    else:
        sessions = [
            s for s in monitor.index.sessions(parse_day(args.since), None, args.project) if s.compactions
        ]
    found: list[tuple[SessionStats, list[Retention]]] = []
    for stats, kept in compaction_retention(monitor.index, sessions):
        if kept is None:
            if args.session_id:
                print(f"ctxtop: session {stats.session_id} has no main transcript on disk", file=sys.stderr)
                return 1
            continue
        found.append((stats, kept))
    if args.json:
        import orjson

        docs = [{"session_id": s.session_id, "project": s.cwd, "compactions": [forensics.as_dict(r) for r in rs]}
                for s, rs in found]  # fmt: skip
        sys.stdout.buffer.write(orjson.dumps(docs, option=orjson.OPT_INDENT_2) + b"\n")
        return 0
    if not any(rs for _, rs in found):
        print(
            "No compactions found." if not args.session_id else f"Session {args.session_id} never compacted."
        )
        return 0
    for stats, rs in found:
        for r in rs:
            when = (iso(r.ts) or "")[:16].replace("T", " ")
            notes = " · notes re-injected" if r.notes_reinjected else ""
            print(f"{short_id(stats.session_id)}  {_tail(stats.cwd or '?', 40)}  #{r.index} {when} {r.trigger}  "
                  f"{tokens_text(r.pre_tokens)} before  {r.score}{notes}")  # fmt: skip
            for fact in r.lost:
                print(f"    lost {fact.kind}: {_clip(fact.text, 100)}")
    return 0


def _tail(text: str, width: int) -> str:
    return text if len(text) <= width else "…" + text[-(width - 1) :]


def run_tools(args: argparse.Namespace) -> int:
    """``ctxtop report tools``: per project, what each tool's outputs (and every other category) cost in
    re-reads over the sessions in range ("Read costs you most on project X")."""
    monitor = open_monitor(args)
    sessions = monitor.index.sessions(parse_day(args.since), parse_day(args.until, end=True), args.project)
    rows = tool_rollup(monitor.index, sessions)
    docs = [r.as_dict() for r in rows]
    if args.json:
        import orjson

        sys.stdout.buffer.write(orjson.dumps(docs, option=orjson.OPT_INDENT_2) + b"\n")
        return 0
    if args.csv:
        sys.stdout.write(to_csv(docs))
        return 0
    if not rows:
        print("No sessions with a transcript on disk in range.")
        return 0
    project = None
    table: list[tuple[str, ...]] = []
    for r in rows:
        if r.project != project:
            if table:
                _table(table)
            project = r.project
            # The headline names what the user can change: the costliest tool or category past the base.
            top = next((x for x in rows if x.project == project and x.kind != "base"), r)
            print(f"\n{project}: {top.name} costs you most in re-reads ({fmt_usd(top.reread_cost)})")
            table = [("", "TOOL / CATEGORY", "SESSIONS", "ITEMS", "ADDED", "RE-READ TOKENS", "COST")]
        table.append(("", _clip(r.name, 40), str(r.sessions), str(r.items), f"{r.added:,}", f"{r.reread_tokens:,}",
                      fmt_usd(r.reread_cost)))  # fmt: skip
    _table(table)
    return 0
