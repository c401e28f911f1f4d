"""A session's context breakdown and compaction forensics, read from its main transcript on demand (a use case
of the reports, the TUI and the statusline).

The index knows which file is a session's main transcript; this reads it once, skipping (and counting) the
lines that do not decode, and hands the decoded lines to its source (``context_events``) and ``core.breakdown``. Only
the two answers asked for often are cached (cache dir, 0600, keyed on the transcript's size and mtime): the
statusline segment and the per-tool totals of the history roll-up.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from ctxtop.adapters.index import Index
from ctxtop.adapters.jsonl import decode_line
from ctxtop.adapters.tailer import open_regular

TYPE_CHECKING = False  # the statusline imports this module: the breakdown's modules load when first used
if TYPE_CHECKING:
    from ctxtop.core.breakdown import Breakdown, Group
    from ctxtop.core.forensics import Retention
    from ctxtop.core.pricing import PriceBook


@dataclass(slots=True)
class SessionBreakdown:
    session_id: str
    path: str
    breakdown: Breakdown
    malformed: int = 0
    """Lines of the transcript that did not decode (skipped)."""
    compactions: list[Retention] | None = None
    """What survived each compaction (with ``forensics=True``)."""


def read_lines(path: str) -> tuple[list[object], int]:
    """The decoded lines of a transcript and how many did not decode."""
    lines: list[object] = []
    malformed = 0
    with open(open_regular(path), "rb") as fh:  # never a FIFO planted under the name
        for raw in fh:
            if not raw.strip():
                continue
            try:
                lines.append(decode_line(raw))
            except ValueError:
                malformed += 1
    return lines, malformed


def _main_lines(index: Index, session_id: str) -> tuple[str, list[object], int] | None:
    """(path, decoded lines, malformed count) of a session's main transcript; None when it is not on disk."""
    path = index.transcript_path(session_id)
    if path is None:
        return None
    try:
        lines, malformed = read_lines(path)
    except OSError:
        return None
    return path, lines, malformed


def _owned(index: Index, session_id: str) -> set[str]:
    """The main-chain request keys the index gives the session (a fork's copies belong to the original)."""
    return {r[0] for r in index.conn.execute(
        "SELECT key FROM requests WHERE session_id=? AND chain='main'", (session_id,))}  # fmt: skip


def session_breakdown(
    index: Index, session_id: str, *, keep_steps: bool = False, forensics: bool = False
) -> SessionBreakdown | None:
    """The breakdown of a session's main chain (``forensics``: and what survived each of its compactions,
    from the same read); None when its main transcript (or API log) is not on disk."""
    found_lines = _main_lines(index, session_id)
    if found_lines is None:
        return None
    from ctxtop.core.breakdown import build
    from ctxtop.sources.registry import kind

    path, lines, malformed = found_lines
    row = index.conn.execute("SELECT source FROM files WHERE path=?", (path,)).fetchone()
    # The source reads its own log into breakdown events; one that has no such reader has no breakdown.
    events_of = getattr(kind(row[0] if row else None), "context_events", None)
    if events_of is None:
        return None
    bd = build(
        events_of(lines, session_id), index.prices, keep_steps=keep_steps, owned=_owned(index, session_id)
    )
    found = SessionBreakdown(session_id, path, bd, malformed)
    if forensics:
        found.compactions = _retention(lines, session_id)
    return found


def session_retention(index: Index, session_id: str) -> list[Retention] | None:
    """What survived each compaction of a session; None when its main transcript is not on disk.

    The user's pinned lines count from the time the pins file was last written: a pin added after a
    compaction is not held against it.
    """
    found_lines = _main_lines(index, session_id)
    return None if found_lines is None else _retention(found_lines[1], session_id)


def _retention(lines: list[object], session_id: str) -> list[Retention]:
    from ctxtop.adapters import notes_store
    from ctxtop.core.forensics import retention
    from ctxtop.sources.claude_code.notes import read

    facts, compactions = read(lines)  # (what the transcript says: the Claude Code source reads it)
    pins = notes_store.load_pins(session_id)
    try:
        pinned_at = notes_store.pins_path(session_id).stat().st_mtime if pins else None
    except OSError:
        pinned_at = None
    found = retention(facts, compactions, pins=pins, session_id=session_id)
    if pins and pinned_at is not None:
        unpinned = retention(facts, compactions, session_id=session_id)
        found = [r if r.ts >= pinned_at else u for r, u in zip(found, unpinned, strict=True)]
    return found


SEGMENT_CACHE = "statusline-context.json"
SEGMENT_CACHE_SESSIONS = 50


def statusline_segment(path: str, session_id: str, prices: PriceBook) -> str | None:
    """The statusline's largest-category segment for a transcript, recomputed only when the file changed.

    The last answer per session is kept in the cache dir (0600, never through a symbolic link) keyed on the
    transcript's size and mtime: a refresh with nothing appended reads nothing.
    """
    import json
    import os

    from ctxtop.adapters import paths
    from ctxtop.adapters.atomic import write_atomic

    try:
        info = os.stat(path)
    except OSError:
        return None
    key = [info.st_size, info.st_mtime_ns]
    cache = paths.cache_dir() / SEGMENT_CACHE
    try:
        known = json.loads(paths.read_private(cache))
        known = known if isinstance(known, dict) else {}
    except (OSError, ValueError):
        known = {}
    entry = known.get(session_id)
    if isinstance(entry, list) and len(entry) == 3 and entry[:2] == key:
        return entry[2] if isinstance(entry[2], str) else None
    from ctxtop.core.breakdown import build, rough, segment
    from ctxtop.sources.claude_code.context import claude_events

    try:
        lines, _ = read_lines(path)
    except OSError:
        return None
    # Four characters a token to split a delta between several pieces: loading tiktoken (about a second on a
    # busy machine) would not fit the status line's budget; the totals are exact either way.
    text = segment(build(claude_events(lines), prices, count=rough))  # (the window's share: no charges)
    known.pop(session_id, None)
    known[session_id] = [*key, text]
    for old in list(known)[:-SEGMENT_CACHE_SESSIONS]:
        del known[old]
    try:
        paths.ensure_private_dir(cache.parent)
        paths.refuse_link(cache)
        write_atomic(cache, json.dumps(known), mode=0o600)
    except OSError:
        pass  # a cache that cannot be written costs a recomputation, nothing else
    return text


GROUPS_CACHE = "context-groups.json"


def session_groups(index: Index, session_ids: list[str]) -> dict[str, list[Group]]:
    """Per-tool totals of each session (``Breakdown.by_group``), for the roll-ups of many sessions.

    Each session's answer is cached (cache dir, 0600) on its transcript's path, size and mtime, so a roll-up
    over a history reads only the transcripts that changed since the last one. Sessions without a
    transcript on disk are left out.
    """
    import json
    import os

    from ctxtop.adapters import paths
    from ctxtop.adapters.atomic import write_atomic
    from ctxtop.adapters.index import _genai_stamp
    from ctxtop.core.breakdown import Group

    cache = paths.cache_dir() / GROUPS_CACHE
    # Cached costs depend on the prices: the index's price stamp (overrides, STATS_VERSION) and genai-prices'.
    row = index.conn.execute("SELECT value FROM meta WHERE key='overrides'").fetchone()
    stamp = f"{row[0] if row else ''}|{_genai_stamp()}"
    try:
        known = json.loads(paths.read_private(cache))
        known = known if isinstance(known, dict) else {}
    except (OSError, ValueError):
        known = {}
    out: dict[str, list[Group]] = {}
    changed = False
    for sid in session_ids:
        path = index.transcript_path(sid)
        if path is None:
            continue
        try:
            info = os.stat(path)
        except OSError:
            continue
        key = [path, info.st_size, info.st_mtime_ns, stamp]
        entry = known.get(sid)
        if isinstance(entry, list) and len(entry) == 2 and entry[0] == key:
            try:
                out[sid] = [Group(k, g, n, a, live, rt, Decimal(c)) for k, g, n, a, live, rt, c in entry[1]]
                continue
            except (TypeError, ValueError, ArithmeticError):
                pass
        found = session_breakdown(index, sid)
        if found is None:
            continue
        out[sid] = groups = found.breakdown.by_group()
        known[sid] = [key, [[g.kind, g.group, g.items, g.added, g.live, g.reread_tokens, str(g.reread_cost)]
                            for g in groups]]  # fmt: skip
        changed = True
    if changed:
        try:
            paths.ensure_private_dir(cache.parent)
            paths.refuse_link(cache)
            write_atomic(cache, json.dumps(known, separators=(",", ":")), mode=0o600)
        except OSError:
            pass  # recomputed next time
    return out
