"""``ctxtop history export|import``: the index's requests as JSON Lines, to take past sessions elsewhere.

One line per request (``"record": "request"``) with its session, project and model, and one per compaction
(``"record": "compaction"``) so a session's numbers come out the same. Import is idempotent: a request is
added only if its key (``message.id:requestId``, the key indexing deduplicates on) is not in the index yet.
Imported requests have no transcript on this machine: they are archived requests, and their sessions belong
to the config dir (or API log dir) in effect at import, so that is where they show. A transcript holding one
of them, indexed later, takes it over as for any archived request.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ctxtop.adapters.index import Index
from ctxtop.core.report import iso
from ctxtop.core.usage import MAX_TOKENS
from ctxtop.sources.registry import KINDS, Sources, kind

FORMAT = 1
_TOKENS = ("input", "output", "cache_read", "cache_write_5m", "cache_write_1h")


def export(index: Index, since: float | None = None, until: float | None = None) -> Iterator[dict[str, Any]]:
    """The requests (and compactions) of the sessions in the index's scope, by session then time."""
    scope, scope_args = index.scope_sql("s.session_id")
    where = " AND r.ts >= ?" * (since is not None) + " AND r.ts < ?" * (until is not None)
    args = [x for x in (since, until) if x is not None]
    rows = index.conn.execute(
        "SELECT r.key, r.session_id, r.chain, r.ts, r.model, r.i, r.o, r.cr, r.w5, r.w1, r.bi, r.bo, r.bcr, "
        "r.bw5, r.bw1, r.ws, r.wf, r.tier, r.speed, r.compaction, s.source, s.cwd, s.git_branch, s.version, "
        "s.project_dir, r.ro FROM requests r JOIN sessions s ON s.session_id = r.session_id "
        f"WHERE 1{scope}{where} ORDER BY r.session_id, r.ts, r.seq",
        scope_args + args,
    )
    sessions: dict[str, dict[str, Any]] = {}
    for r in rows:
        session = {"session_id": r[1], "source": r[20] or "claude", "project": r[21], "git_branch": r[22],
                   "version": r[23], "project_dir": r[24]}  # fmt: skip
        sessions[r[1]] = session
        yield {
            "record": "request", "format": FORMAT, "key": r[0], **session, "chain": r[2], "ts": r[3],
            "time": iso(r[3]), "model": r[4], "tokens": dict(zip(_TOKENS, r[5:10], strict=True)),
            "billed": dict(zip(_TOKENS, r[10:15], strict=True)), "web_search": r[15], "web_fetch": r[16],
            "service_tier": r[17], "speed": r[18], "compaction_call": bool(r[19]), "reasoning_output": r[25] or 0,
        }  # fmt: skip
    for sid, session in sessions.items():
        for chain, ts, trigger, pre, post in index.conn.execute(
            "SELECT chain, ts, trigger, pre, post FROM compacts WHERE session_id=? ORDER BY ts", (sid,)
        ):
            if (since is None or ts >= since) and (until is None or ts < until):
                yield {"record": "compaction", "format": FORMAT, **session, "chain": chain, "ts": ts,
                       "time": iso(ts), "trigger": trigger, "pre_tokens": pre, "post_tokens": post}  # fmt: skip


@dataclass(slots=True)
class ImportResult:
    added: int = 0
    present: int = 0
    """Requests already in the index (by key): left as they are."""
    compactions: int = 0
    skipped: list[str] = field(default_factory=list)
    """Lines that are not a record this version understands: "line N: why"."""
    sessions: set[str] = field(default_factory=set)


def _int(value: object) -> int:
    # Bounded as the indexer bounds transcript counts: SQLite integers are 64 bits, and sums must fit too.
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_TOKENS:
        raise ValueError(f"not a count: {_show(value)}")
    return value


def _show(value: object) -> str:
    """``value`` for a message: repr, cut short (a hostile line can hold a huge number or string)."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _unicode(value: str, name: str) -> str:
    """``value`` if it can be stored (UTF-8): JSON's ``\\ud800`` escapes decode to lone surrogates, which cannot."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError(f"{name} is not valid Unicode (lone surrogate {value[exc.start]!r})") from None
    return value


def _str(value: object, name: str) -> str:
    if not isinstance(value, str) or not value or any(c in value for c in "\x00/\\") and name != "project":
        raise ValueError(f"bad {name}: {_show(value)}")
    return _unicode(value, name)


def _ts(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"bad ts: {_show(value)}")
    try:
        ts = float(value)
    except OverflowError:  # an integer too large for a float
        raise ValueError(f"bad ts: {_show(value)}") from None
    if not math.isfinite(ts):
        raise ValueError(f"bad ts: {_show(value)}")
    return ts


def _counts(value: object, name: str) -> list[int]:
    if not isinstance(value, dict):
        raise ValueError(f"bad {name}: {_show(value)}")
    return [_int(value.get(k, 0)) for k in _TOKENS]


def _record(raw: bytes | str) -> dict[str, Any]:
    """One line as a JSON object, or ValueError saying why not (in words a user can act on)."""
    try:
        rec = json.loads(raw)
    except UnicodeDecodeError as exc:
        raise ValueError(f"not UTF-8 (byte {exc.object[exc.start]:#04x} at {exc.start})") from None
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None
    except ValueError as exc:
        raise ValueError(f"not JSON ({exc})") from None
    if not isinstance(rec, dict):
        raise ValueError("not a JSON object")
    return rec


def import_lines(index: Index, lines: Iterable[bytes | str], sources: Sources) -> ImportResult:
    """Add the records of an export to the index, in one transaction; bad lines are skipped and listed."""
    result = ImportResult()
    c = index.conn
    c.execute("BEGIN IMMEDIATE")
    try:
        seq = c.execute("SELECT coalesce(max(seq), 0) FROM requests").fetchone()[0]
        for n, raw in enumerate(lines, 1):
            if not raw.strip():
                continue
            try:
                # Every field is checked before the first write: a bad line leaves nothing behind.
                rec = _record(raw)
                kind = rec.get("record")
                sid = _str(rec.get("session_id"), "session_id")
                chain = _str(rec.get("chain", "main"), "chain")
                ts = _ts(rec.get("ts"))
                session = _session_fields(rec)
                if kind == "request":
                    key = rec.get("key")
                    if not isinstance(key, str) or not key:
                        raise ValueError(f"bad key: {_show(key)}")
                    key = _unicode(key, "key")
                    tokens, billed = (
                        _counts(rec.get("tokens"), "tokens"),
                        _counts(rec.get("billed"), "billed"),
                    )
                    model = rec.get("model")
                    if not isinstance(model, str):
                        raise ValueError(f"bad model: {_show(model)}")
                    model = _unicode(model, "model")
                    row = (key, sid, chain, ts, seq + 1, model, *tokens, *billed, _int(rec.get("web_search", 0)),
                           _int(rec.get("web_fetch", 0)), _opt(rec.get("service_tier"), "service_tier"),
                           _opt(rec.get("speed"), "speed"), int(rec.get("compaction_call") is True),
                           sum(billed))  # fmt: skip
                    seq += 1
                    cur = c.execute(
                        "INSERT INTO requests VALUES (" + ",".join("?" * 22) + ", NULL, '~import', 1, ?) "
                        "ON CONFLICT(key) DO NOTHING",
                        (*row, _int(rec.get("reasoning_output", 0))),
                    )
                    if cur.rowcount:
                        result.added += 1
                    else:
                        result.present += 1
                        continue
                elif kind == "compaction":
                    cur = c.execute(
                        "INSERT OR IGNORE INTO compacts VALUES (?,?,?,?,?,?,NULL)",
                        (sid, chain, ts, _opt(rec.get("trigger"), "trigger"), _int(rec.get("pre_tokens", 0)),
                         # null: the transcript did not say (Claude Code 2.0.76, 2.1.39 write no postTokens)
                         None if rec.get("post_tokens") is None else _int(rec.get("post_tokens"))),
                    )  # fmt: skip
                    result.compactions += cur.rowcount
                    if not cur.rowcount:
                        continue
                else:
                    raise ValueError(f"unknown record {_show(kind)}")
                _session(c, sid, session, sources)
                result.sessions.add(sid)
            except (ValueError, TypeError) as exc:
                result.skipped.append(f"line {n}: {exc}")
        index._refresh(result.sessions)  # the sessions' cached stats, in the same transaction
        c.execute("COMMIT")
    except BaseException:
        c.execute("ROLLBACK")
        raise
    return result


def _opt(value: object, name: str) -> str | None:
    return _unicode(value, name) if isinstance(value, str) else None


def _session_fields(rec: dict[str, Any]) -> dict[str, str | None]:
    """The session columns a record carries (checked, so that writing them cannot fail)."""
    project_dir = _opt(rec.get("project_dir"), "project_dir")
    if not project_dir or "/" in project_dir or project_dir in (".", ".."):
        project_dir = "imported"
    return {
        # A source this ctxtop does not know: the first registered one (Claude Code).
        "source": (kind(_opt(rec.get("source"), "source")) or KINDS[0]).name,
        "project": _opt(rec.get("project"), "project"),
        "git_branch": _opt(rec.get("git_branch"), "git_branch"),
        "version": _opt(rec.get("version"), "version"),
        "project_dir": project_dir,
    }


def _session(c: Any, sid: str, fields: dict[str, str | None], sources: Sources) -> None:
    """The session row (what the index already knows wins) and its place under the sources in effect."""
    source, project_dir = fields["source"], fields["project_dir"]
    c.execute(
        "INSERT INTO sessions(session_id, source, cwd, git_branch, version, project_dir, dirty) "
        "VALUES (?,?,?,?,?,?,1) ON CONFLICT(session_id) DO UPDATE SET "
        "cwd=coalesce(sessions.cwd, excluded.cwd), git_branch=coalesce(sessions.git_branch, excluded.git_branch), "
        "version=coalesce(sessions.version, excluded.version), dirty=1",
        (sid, source, fields["project"], fields["git_branch"], fields["version"], project_dir),
    )  # fmt: skip
    instance = sources.get(str(source))
    path = instance.session_path(sid, str(project_dir)) if instance is not None else None
    if path is None:
        return
    c.execute("INSERT OR IGNORE INTO session_files VALUES (?, ?)", (sid, os.fspath(path)))
