"""``ctxtop report noise``: what the bash-output filter removed, and what that was worth, per session and day.

Honest accounting, per filtered output (from the filter log, see :mod:`ctxtop.adapters.filter_log`):

- *credited raw tokens*: what would really have reached the context. Claude Code persists an output of more
  than 30,000 characters to a file and shows the model a ~2,000-character preview, so such an output is
  credited as the preview, not as its full size. Filtering it can then cost more than it saves: negative
  results are shown as they are.
- *removed* = credited raw tokens - filtered tokens.
- *re-reads*: the API requests of the session after the output and before the next compaction. The first
  writes the removed tokens to the prompt cache, each later one reads them again.
- *worth* = removed x (cache-write rate + (re-reads - 1) x cache-read rate), at the session's model rates
  (``ctxtop.core.pricing``), exact Decimals.
- *share* = removed x re-reads / (the session's total input + that amount): the part of what the session
  would have sent that the filter avoided.

Sessions that ran without the filter get an estimate: the same filter is applied to their Bash tool results
in the transcript (successful ones only, as the default post-tool-use mode would), marked ``estimated``.
Token counts are tiktoken cl100k, a stand-in for Claude's tokenizer.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from ctxtop.adapters import filter_log, filter_rules, paths
from ctxtop.core.filters import filter_text
from ctxtop.core.filters.tokens import count_tokens, estimate_tokens
from ctxtop.core.records import parse_ts

PERSIST_CHARS = 30_000
PREVIEW_CHARS = 2_000
PREVIEW_OVERHEAD_TOKENS = 40  # "Output too large ... saved to <path>. Preview:" around the preview
MILLION = Decimal(1_000_000)


@dataclass(slots=True)
class Request:
    ts: float
    model: str
    prompt_tokens: int
    one_hour_cache: bool


@dataclass(slots=True)
class Transcript:
    session_id: str
    cwd: str = ""
    requests: list[Request] = field(default_factory=list)
    compactions: list[float] = field(default_factory=list)
    bash_results: list[tuple[float, str, str]] = field(default_factory=list)  # ts, command, output


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(
            b.get("text", "") for b in content if isinstance(b, dict) and b.get("type") == "text"
        )
    return ""


def parse_transcript(path: Path) -> Transcript:
    """Requests (deduplicated by message id), compactions and successful Bash results of one transcript."""
    t = Transcript(session_id=path.stem)
    seen: set[str] = set()
    commands: dict[str, str] = {}
    try:
        fh = path.open("r", encoding="utf-8", errors="replace")
    except OSError:
        return t
    with fh:
        for line in fh:
            try:
                obj = json.loads(line)
            except ValueError:
                continue
            if not isinstance(obj, dict):
                continue
            ts = parse_ts(obj.get("timestamp"))
            t.cwd = t.cwd or str(obj.get("cwd") or "")
            kind = obj.get("type")
            msg = obj.get("message") if isinstance(obj.get("message"), dict) else {}
            if kind == "system" and obj.get("subtype") == "compact_boundary" and ts is not None:
                t.compactions.append(ts)
            elif kind == "assistant" and ts is not None:
                for block in msg.get("content") or []:
                    if (
                        isinstance(block, dict)
                        and block.get("type") == "tool_use"
                        and block.get("name") == "Bash"
                    ):
                        commands[str(block.get("id"))] = str((block.get("input") or {}).get("command", ""))
                mid = str(msg.get("id") or obj.get("requestId") or obj.get("uuid"))
                usage = msg.get("usage") if isinstance(msg.get("usage"), dict) else None
                if usage is None or mid in seen or msg.get("model") == "<synthetic>":
                    continue
                seen.add(mid)
                prompt = sum(int(usage.get(k) or 0) for k in ("input_tokens", "cache_read_input_tokens",
                                                              "cache_creation_input_tokens"))  # fmt: skip
                cc = usage.get("cache_creation") if isinstance(usage.get("cache_creation"), dict) else {}
                t.requests.append(Request(ts, str(msg.get("model", "")), prompt,
                                          int(cc.get("ephemeral_1h_input_tokens") or 0) > 0))  # fmt: skip
            elif kind == "user" and ts is not None and isinstance(msg.get("content"), list):
                for block in msg["content"]:
                    if not (isinstance(block, dict) and block.get("type") == "tool_result"):
                        continue
                    command = commands.get(str(block.get("tool_use_id")))
                    if command is None or block.get("is_error"):
                        continue
                    tur = obj.get("toolUseResult") if isinstance(obj.get("toolUseResult"), dict) else {}
                    stdout = tur.get("stdout") if isinstance(tur.get("stdout"), str) else None
                    if stdout is not None:
                        stderr = tur.get("stderr") if isinstance(tur.get("stderr"), str) else ""
                        output = stdout + ("\n" + stderr if stderr and stdout else stderr)
                    else:
                        output = _text(block.get("content"))
                    t.bash_results.append((ts, command, output))
    t.requests.sort(key=lambda r: r.ts)
    return t


def credited_raw_tokens(raw_chars: int, raw_tokens: int) -> int:
    """The raw tokens that would really have reached the context (see the module docstring)."""
    if raw_chars <= PERSIST_CHARS:
        return raw_tokens
    return round(raw_tokens * PREVIEW_CHARS / raw_chars) + PREVIEW_OVERHEAD_TOKENS


def _rates(model: str, ts: float, prompt: int) -> tuple[Decimal, Decimal, Decimal] | None:
    """(cache write 5m, cache write 1h, cache read) USD per token, or None for an unknown model."""
    try:
        from ctxtop.core.pricing import PriceBook

        rates = PriceBook().rates(model, ts, prompt)
    except Exception:  # noqa: BLE001 - pricing is best effort; tokens are still reported
        return None
    if rates is None:
        return None
    return rates.cache_write_5m / MILLION, rates.cache_write_1h / MILLION, rates.cache_read / MILLION


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


def _value(row: Row, t: Transcript | None, ts: float, removed: int) -> None:
    if t is None:
        row.worth_usd = None
        return
    boundary = min((c for c in t.compactions if c > ts), default=float("inf"))
    later = [r for r in t.requests if ts < r.ts < boundary]
    row.rereads += removed * len(later)
    if not later or row.worth_usd is None:
        return
    rates = _rates(later[0].model, later[0].ts, later[0].prompt_tokens)
    if rates is None:
        row.worth_usd = None
        return
    write = rates[1] if later[0].one_hour_cache else rates[0]
    row.worth_usd += removed * (write + (len(later) - 1) * rates[2])


def _local_day(ts: float) -> str:
    return time.strftime("%Y-%m-%d", time.localtime(ts))


def _in_range(day: str, since: str | None, until: str | None) -> bool:
    return (not since or day >= since) and (not until or day <= until)


def _transcripts(claude_dirs: list[str] | None) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for base in paths.claude_config_dirs(claude_dirs):
        try:
            for path in (base / "projects").glob("*/*.jsonl"):
                found.setdefault(path.stem, path)
        except OSError:
            continue
    return found


def build_rows(
    claude_dirs: list[str] | None = None,
    since: str | None = None,
    until: str | None = None,
    project: str | None = None,
    log_folder: Path | None = None,
) -> list[Row]:
    """One row per session: filtered sessions from the log, the others estimated from their transcripts."""
    transcripts = _transcripts(claude_dirs)
    parsed: dict[str, Transcript] = {}

    def transcript(sid: str, hint: str | None) -> Transcript | None:
        if sid not in parsed:
            path = Path(hint) if hint and Path(hint).is_file() else transcripts.get(sid)
            if path is None:
                return None
            parsed[sid] = parse_transcript(path)
        return parsed[sid]

    rows: dict[str, Row] = {}
    for rec in filter_log.read(log_folder, since, until):
        ts = parse_ts(rec.get("ts"))
        if ts is None or not _in_range(_local_day(ts), since, until):
            continue
        cwd = str(rec.get("cwd") or "")
        if project and project not in cwd:
            continue
        sid = str(rec.get("session_id") or "unknown")
        t = transcript(sid, rec.get("transcript_path")) if sid != "unknown" else None
        row = rows.setdefault(sid, Row(sid, cwd, _local_day(ts), estimated=False))
        raw_chars = int(rec.get("raw_chars") or 0)
        raw_tok = rec.get("raw_tokens")
        raw_tok = int(raw_tok) if isinstance(raw_tok, int) else estimate_tokens(raw_chars)
        filt_tok = rec.get("filtered_tokens")
        filt_tok = (
            int(filt_tok)
            if isinstance(filt_tok, int)
            else estimate_tokens(int(rec.get("filtered_chars") or 0))
        )
        credited = credited_raw_tokens(raw_chars, raw_tok)
        _add(row, t, ts, raw_tok, credited, filt_tok)

    cfg = filter_rules.load()
    for sid, path in sorted(transcripts.items()):
        if sid in rows:
            continue
        t = transcript(sid, str(path))
        if t is None or not t.bash_results or (project and project not in t.cwd):
            continue
        for ts, command, output in t.bash_results:
            if not _in_range(_local_day(ts), since, until) or len(output) >= PERSIST_CHARS:
                continue
            res = filter_text(output, command, cfg.rules, cfg.settings, raw_path="/" + "x" * 60)
            if not res.changed:
                continue
            row = rows.setdefault(sid, Row(sid, t.cwd, _local_day(ts), estimated=True))
            raw_tok = count_tokens(output) or estimate_tokens(len(output))
            filt_tok = count_tokens(res.text) or estimate_tokens(len(res.text))
            _add(row, t, ts, raw_tok, raw_tok, filt_tok)

    for sid, row in rows.items():
        t = parsed.get(sid)
        total = sum(r.prompt_tokens for r in t.requests) if t else 0
        row.session_input_tokens = total
        row.share = row.rereads / (total + row.rereads) if total + row.rereads > 0 else 0.0
    return sorted(rows.values(), key=lambda r: (r.day, r.session_id))


def _add(row: Row, t: Transcript | None, ts: float, raw: int, credited: int, filtered: int) -> None:
    removed = credited - filtered
    row.outputs += 1
    row.raw_tokens += raw
    row.credited_raw_tokens += credited
    row.filtered_tokens += filtered
    row.removed_tokens += removed
    row.negative_outputs += removed < 0
    _value(row, t, ts, removed)


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
    rows = build_rows(getattr(args, "claude_dir", None), _day(args.since), _day(args.until), args.project)
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
            f"{r.session_id[:8]:<10} {r.day:<10} {kind:<9} {r.outputs:>7} {r.removed_tokens:>11,} "
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
