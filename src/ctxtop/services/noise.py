"""The noise report: what the bash-output filter removed and what that was worth, per session and day.

Built from what the index already holds: each session's deduplicated requests (the same copies, largest
wins, as every other report) priced by the index's price book (``[prices]`` overrides honoured), and its
compaction times per chain. Each output's saving is ``core.noise.saving``, the same function the TUI's noise
panel calls, so the two never disagree.

Filtered outputs come from the filter log (``adapters.filter_log``); a logged output counts against its
session's main chain. Sessions in range that ran without the filter get an estimate: the same filter is
applied to the successful Bash results of their transcripts, subagents' included (read on demand by the
index, with the one transcript reader), each against its own chain; those rows are marked ``estimated``.
Token counts are tiktoken cl100k, a stand-in for Claude's tokenizer.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeGuard

from ctxtop.adapters import filter_log, filter_rules
from ctxtop.adapters.index import Index
from ctxtop.core.filters import filter_text
from ctxtop.core.filters.tokens import count_tokens, estimate_tokens
from ctxtop.core.metrics import Req
from ctxtop.core.noise import PERSIST_CHARS, Saving, saving
from ctxtop.core.records import MAIN, ToolResult, ToolUse, parse_ts

PERSISTED = "<persisted-output>"
"""How Claude Code's tool result starts when it saved a large output to a file and showed a preview."""


@dataclass(slots=True)
class Row:
    session_id: str
    project: str
    day: str
    estimated: bool
    outputs: int = 0
    raw_tokens: int = 0
    credited_raw_tokens: int = 0
    filtered_tokens: int = 0
    removed_tokens: int = 0
    rereads: int = 0  # removed tokens x later requests, summed
    worth_usd: Decimal | None = Decimal(0)
    share: float = 0.0
    negative_outputs: int = 0
    session_input_tokens: int = 0

    def add(self, s: Saving) -> None:
        self.outputs += 1
        self.raw_tokens += s.raw_tokens
        self.credited_raw_tokens += s.credited_raw_tokens
        self.filtered_tokens += s.filtered_tokens
        self.removed_tokens += s.removed_tokens
        self.negative_outputs += s.removed_tokens < 0
        self.rereads += s.rereads
        if s.worth_usd is None or self.worth_usd is None:
            self.worth_usd = None
        else:
            self.worth_usd += s.worth_usd


@dataclass(frozen=True, slots=True)
class OutputSaving:
    """One filtered output of a session, as the TUI's noise panel lists it."""

    command: str
    ts: float
    saving: Saving


class _Session:
    """One session's requests and compactions, read from the index once."""

    def __init__(self, index: Index, session_id: str) -> None:
        self.index = index
        self.requests = index.requests(session_id)
        self.compactions = index.compaction_times(session_id)
        self._chains: dict[str, list[Req]] = {}

    def chain(self, name: str) -> list[Req]:
        if name not in self._chains:
            self._chains[name] = [r for r in self.requests if r.chain == name]
        return self._chains[name]

    def saving(
        self, ts: float, raw_chars: int, raw_tokens: int, filtered_tokens: int, chain: str = MAIN
    ) -> Saving:
        rates = self.index.prices.rates
        return saving(
            ts,
            raw_chars,
            raw_tokens,
            filtered_tokens,
            self.chain(chain),
            self.compactions.get(chain, []),
            rates,
        )


def _logged_tokens(rec: dict[str, Any]) -> tuple[int, int, int]:
    """(raw chars, raw tokens, filtered tokens) of a filter-log record; uncounted tokens are estimated."""
    raw_chars = _int(rec.get("raw_chars"))
    raw = rec.get("raw_tokens")
    filtered = rec.get("filtered_tokens")
    raw_tokens = raw if _is_int(raw) else estimate_tokens(raw_chars)
    filtered_tokens = filtered if _is_int(filtered) else estimate_tokens(_int(rec.get("filtered_chars")))
    return raw_chars, raw_tokens, filtered_tokens


def _is_int(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _int(value: Any) -> int:
    return value if _is_int(value) else 0


def session_savings(index: Index, session_id: str, since: str | None = None) -> list[OutputSaving]:
    """What the filter saved on each logged output of one session (the TUI's noise panel)."""
    session = _Session(index, session_id)
    out = []
    for rec in filter_log.read(since=since):
        ts = parse_ts(rec.get("ts"))
        if ts is None or rec.get("session_id") != session_id:
            continue
        out.append(OutputSaving(str(rec.get("command") or "?"), ts, session.saving(ts, *_logged_tokens(rec))))
    return out


def build_rows(
    index: Index,
    since: str | None = None,
    until: str | None = None,
    project: str | None = None,
    log_folder: Path | None = None,
) -> list[Row]:
    """One row per session: filtered sessions from the log, the others in range estimated from their Bash results.

    ``since`` and ``until`` are local days (YYYY-MM-DD), both included.
    """
    sessions: dict[str, _Session] = {}

    def session(sid: str) -> _Session:
        if sid not in sessions:
            sessions[sid] = _Session(index, sid)
        return sessions[sid]

    known = {s.session_id: s for s in index.sessions()}  # the sessions in scope
    rows: dict[str, Row] = {}
    for rec in filter_log.read(log_folder, since, until):
        ts = parse_ts(rec.get("ts"))
        if ts is None or not _in_range(_local_day(ts), since, until):
            continue
        cwd = str(rec.get("cwd") or "")
        if project and project not in cwd:
            continue
        sid = str(rec.get("session_id") or "unknown")
        row = rows.setdefault(sid, Row(sid, cwd, _local_day(ts), estimated=False))
        if sid in known:
            row.add(session(sid).saving(ts, *_logged_tokens(rec)))
        else:
            # Not a session of these sources (or unknown): its tokens count, its worth cannot be priced.
            row.add(replace(saving(ts, *_logged_tokens(rec), [], [], index.prices.rates), worth_usd=None))

    cfg = filter_rules.load()
    start = _day_start(since)
    for sid, stats in sorted(known.items()):
        if sid in rows or stats.source != "claude" or (project and project not in (stats.cwd or "")):
            continue
        if start is not None and (stats.last_ts or 0) < start:
            continue
        for use, result, chain in _unique(index.tool_results(sid)):
            if use is None or use.name != "Bash" or result.is_error:
                continue
            output = result.text
            day = _local_day(result.ts)
            # An output Claude Code persisted reached the model as a preview, and its full text is not in
            # the transcript: nothing to estimate from.
            if (
                not _in_range(day, since, until)
                or len(output) >= PERSIST_CHARS
                or output.startswith(PERSISTED)
            ):
                continue
            res = filter_text(output, use.command, cfg.rules, cfg.settings, raw_path="/" + "x" * 60)
            if not res.changed:
                continue
            row = rows.setdefault(sid, Row(sid, stats.cwd or "", day, estimated=True))
            raw_tokens = count_tokens(output) or estimate_tokens(len(output))
            filtered_tokens = count_tokens(res.text) or estimate_tokens(len(res.text))
            row.add(session(sid).saving(result.ts, len(output), raw_tokens, filtered_tokens, chain))

    for sid, row in rows.items():
        # The session's prompt tokens as every report counts them (all chains, <synthetic> left out).
        total = known[sid].prompt_tokens if sid in known else 0
        row.session_input_tokens = total
        row.share = row.rereads / (total + row.rereads) if total + row.rereads > 0 else 0.0
    return sorted(rows.values(), key=lambda r: (r.day, r.session_id))


Result = tuple[ToolUse | None, ToolResult, str]


def _unique(results: Iterable[Result]) -> list[Result]:
    """One result per tool call (the largest copy), in transcript order."""
    best: dict[str, Result] = {}
    for use, result, chain in results:
        prev = best.get(result.tool_use_id)
        if prev is None or result.chars > prev[1].chars:
            best[result.tool_use_id] = (use or (prev[0] if prev else None), result, chain)
    return list(best.values())


def by_day(rows: list[Row]) -> list[dict[str, Any]]:
    days: dict[tuple[str, bool], dict[str, Any]] = {}
    for r in rows:
        d = days.setdefault(
            (r.day, r.estimated),
            {"day": r.day, "estimated": r.estimated, "sessions": 0, "outputs": 0, "removed_tokens": 0,
             "rereads": 0, "worth_usd": Decimal(0), "negative_outputs": 0, "unpriced_sessions": 0},
        )  # fmt: skip
        d["sessions"] += 1
        d["outputs"] += r.outputs
        d["removed_tokens"] += r.removed_tokens
        d["rereads"] += r.rereads
        d["negative_outputs"] += r.negative_outputs
        if r.worth_usd is None:
            d["unpriced_sessions"] += 1
        else:
            d["worth_usd"] += r.worth_usd
    return [days[k] for k in sorted(days)]


def _local_day(ts: float) -> str:
    return time.strftime("%Y-%m-%d", time.localtime(ts))


def _day_start(day: str | None) -> float | None:
    if not day:
        return None
    return time.mktime(time.strptime(day, "%Y-%m-%d"))


def _in_range(day: str, since: str | None, until: str | None) -> bool:
    return (not since or day >= since) and (not until or day <= until)
