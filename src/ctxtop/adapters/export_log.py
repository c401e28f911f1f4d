"""What the OTLP export sent, per receiver, in the index (table ``otlp_sent``): the export's memory.

A request is recorded only after the receiver accepted the batch holding it, in the same transaction for the
whole batch, so a restart resends exactly what was not acknowledged: no gap, and no duplicate beyond a batch
whose answer was lost (and those carry the same span ids, see ``core.telemetry``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from ctxtop.adapters.index import Index


@dataclass(frozen=True, slots=True)
class Pending:
    """A request not yet sent to a target, with what its span needs from the session."""

    key: str
    session_id: str
    ts: float
    total: int
    source: str
    cwd: str | None
    git_branch: str | None


def pending(
    index: Index, target: str, since: float | None = None, settled_before: float | None = None
) -> list[Pending]:
    """Requests of the sessions in scope not yet sent to ``target``, by session then time.

    ``settled_before``: only requests written before then (``--watch`` waits until Claude Code has written a
    response's last copy, whose ``output_tokens`` is the final one)."""
    scope, args = index.scope_sql("r.session_id")
    where = ""
    extra: list[object] = []
    if since is not None:
        where += " AND r.ts >= ?"
        extra.append(since)
    if settled_before is not None:
        where += " AND r.ts < ?"
        extra.append(settled_before)
    rows = index.conn.execute(
        "SELECT r.key, r.session_id, r.ts, r.total, s.source, s.cwd, s.git_branch FROM requests r "
        "JOIN sessions s ON s.session_id = r.session_id "
        "LEFT JOIN otlp_sent x ON x.target = ? AND x.key = r.key "
        f"WHERE x.key IS NULL{scope}{where} ORDER BY r.session_id, r.ts, r.seq",
        [target, *args, *extra],
    ).fetchall()
    return [Pending(r[0], r[1], r[2], r[3], r[4] or "claude", r[5], r[6]) for r in rows]


def mark_sent(index: Index, target: str, sent: list[tuple[str, int]]) -> None:
    """Record (key, token total) of every request of an acknowledged batch, in one transaction."""
    now = time.time()
    conn = index.conn
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.executemany(
            "INSERT OR REPLACE INTO otlp_sent VALUES (?, ?, ?, ?)", [(target, k, t, now) for k, t in sent]
        )
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def sent_count(index: Index, target: str) -> int:
    return index.conn.execute("SELECT count(*) FROM otlp_sent WHERE target=?", (target,)).fetchone()[0]


def grown_since_sent(index: Index, target: str) -> int:
    """Requests whose counts grew after they were sent (a later, larger copy of the response)."""
    return index.conn.execute(
        "SELECT count(*) FROM otlp_sent x JOIN requests r ON r.key = x.key WHERE x.target=? AND r.total > x.total",
        (target,),
    ).fetchone()[0]


CONTENT_LIMIT = 32 * 1024
"""Characters of a response's text exported with ``--include-content`` (the rest is cut, and said to be)."""


def response_text(index: Index, key: str) -> str | None:
    """The text a Claude Code response wrote (its ``text`` blocks, in order), read from its transcript.

    Only for ``--include-content``; None when the transcript is gone or holds no text for it."""
    from ctxtop.adapters.jsonl import decode_line
    from ctxtop.adapters.tailer import open_regular

    row = index.conn.execute(
        "SELECT f.path FROM requests r JOIN files f ON f.fid = r.file WHERE r.key=?", (key,)
    ).fetchone()
    message_id = key.split(":", 1)[0]
    if row is None or not row[0] or not message_id:
        return None
    needle = message_id.encode()
    parts: list[str] = []
    try:
        with open(open_regular(row[0]), "rb") as fh:  # never a FIFO planted under the name
            for raw in fh:
                if needle not in raw:
                    continue
                try:
                    obj = decode_line(raw)
                except ValueError:
                    continue
                message = obj.get("message") if isinstance(obj, dict) else None
                if not isinstance(message, dict) or message.get("id") != message_id:
                    continue
                content = message.get("content")
                for block in content if isinstance(content, list) else ():
                    if isinstance(block, dict) and block.get("type") == "text":
                        text = block.get("text")
                        if isinstance(text, str) and text not in parts:
                            parts.append(text)
    except OSError:
        return None
    if not parts:
        return None
    text = "\n".join(parts)
    return text if len(text) <= CONTENT_LIMIT else text[:CONTENT_LIMIT] + " [cut by ctxtop]"
