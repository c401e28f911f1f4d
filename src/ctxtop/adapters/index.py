"""The incremental SQLite index: per-file offsets, deduplicated requests, per-session cached stats.

A second run reads only the bytes appended since the first; a half-written last line waits for its newline.
Requests are deduplicated globally on ``message.id:requestId``, keeping the copy with the largest token total
(earlier copies of a response often carry a stale, smaller ``output_tokens``); the session of the file that
starts earliest owns a request (at the same instant, the file named by the records' ``sessionId``). Every
(request, file) copy is recorded, so when a file vanishes or is truncated or replaced, the requests it held go
to the files that still hold them, in the same update.

The index is also the only record of what Claude Code's cleanup deleted: a request whose every copy is gone
stays, archived, with the session that owned it last. So, for the files present, a warm index equals a cold
index of them request for request; it holds in addition the archived requests, and nothing else.
"""

from __future__ import annotations

import gc
import json
import os
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, MutableMapping
from dataclasses import dataclass, field
from itertools import accumulate
from pathlib import Path

from ctxtop.adapters import index_paths
from ctxtop.adapters.tailer import FileState, ReadResult, open_regular, read_appended, restarts
from ctxtop.core import metrics, session_ids
from ctxtop.core.metrics import Compaction, Req, SessionStats
from ctxtop.core.pricing import Cached, PriceBook
from ctxtop.core.records import (
    CompactRecord,
    FileContext,
    Meta,
    Parsed,
    RequestRecord,
    ToolResult,
    ToolUse,
    flat_request,
)
from ctxtop.sources.base import FileParser, Source, resolved_file
from ctxtop.sources.registry import KINDS, Sources, kind

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: importing typing costs the statusline ~5 ms
if TYPE_CHECKING:
    from concurrent.futures import Future, ProcessPoolExecutor
    from typing import Any

SCHEMA_VERSION = 14

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS files (
    path TEXT PRIMARY KEY, source TEXT, session_id TEXT, chain TEXT,
    dev INTEGER, ino INTEGER, size INTEGER, mtime_ns INTEGER, offset INTEGER, partial BLOB, fingerprint BLOB, first_ts REAL,
    lines INTEGER DEFAULT 0, malformed INTEGER DEFAULT 0, last_error TEXT, gone INTEGER DEFAULT 0,
    ctime_ns INTEGER, parser_state TEXT, fid INTEGER
);
CREATE UNIQUE INDEX IF NOT EXISTS files_fid ON files(fid);
CREATE TABLE IF NOT EXISTS requests (
    key TEXT PRIMARY KEY, session_id TEXT, chain TEXT, ts REAL, seq INTEGER, model TEXT,
    i INTEGER, o INTEGER, cr INTEGER, w5 INTEGER, w1 INTEGER,
    bi INTEGER, bo INTEGER, bcr INTEGER, bw5 INTEGER, bw1 INTEGER,
    ws INTEGER, wf INTEGER, tier TEXT, speed TEXT, compaction INTEGER, total INTEGER, file TEXT,
    rank TEXT, archived INTEGER DEFAULT 0, ro INTEGER DEFAULT 0
);
CREATE INDEX IF NOT EXISTS requests_session ON requests(session_id);
CREATE INDEX IF NOT EXISTS requests_archived ON requests(session_id) WHERE archived=1;
CREATE INDEX IF NOT EXISTS requests_file_path ON requests(file) WHERE file GLOB '*[^0-9]*';
CREATE TABLE IF NOT EXISTS copies (key TEXT, fid INTEGER, PRIMARY KEY (key, fid)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS copies_fid ON copies(fid);
CREATE TABLE IF NOT EXISTS session_files (
    session_id TEXT, path TEXT, PRIMARY KEY (session_id, path)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS session_files_path ON session_files(path);
CREATE INDEX IF NOT EXISTS files_session ON files(session_id);
CREATE TABLE IF NOT EXISTS compacts (
    session_id TEXT, chain TEXT, ts REAL, trigger TEXT, pre INTEGER, post INTEGER, file TEXT,
    UNIQUE(session_id, chain, ts)
);
CREATE TABLE IF NOT EXISTS prices (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS sessions (
    session_id TEXT PRIMARY KEY, source TEXT, cwd TEXT, git_branch TEXT, version TEXT,
    project_dir TEXT, last_ts REAL, dirty INTEGER DEFAULT 1, stats TEXT,
    archived INTEGER DEFAULT 0, deleted INTEGER DEFAULT 0
);
CREATE TABLE IF NOT EXISTS otlp_sent (
    target TEXT, key TEXT, total INTEGER, sent_at REAL, PRIMARY KEY (target, key)
) WITHOUT ROWID;
"""

_TOKEN_COLUMNS = (
    "i",
    "o",
    "cr",
    "w5",
    "w1",
    "bi",
    "bo",
    "bcr",
    "bw5",
    "bw1",
    "ws",
    "wf",
    "total",
    "file",
    "ro",
)
_OWNER_COLUMNS = ("session_id", "chain", "ts", "seq", "rank")
UPSERT_REQUEST = (
    "INSERT INTO requests VALUES (" + ",".join("?" * 24) + ", 0, ?) ON CONFLICT(key) DO UPDATE SET "
    # A copy of an archived request (its transcripts were gone) replaces it: the files present decide.
    # Otherwise the largest copy's counts win (earlier copies carry a stale output_tokens) ...
    + ", ".join(f"{c}=CASE WHEN requests.archived OR excluded.total > requests.total THEN excluded.{c} "
                f"ELSE requests.{c} END" for c in _TOKEN_COLUMNS)
    + ", "
    # ... and the earliest-starting file's session owns the request, whatever order files were read in.
    + ", ".join(f"{c}=CASE WHEN requests.archived OR excluded.rank < requests.rank THEN excluded.{c} "
                f"ELSE requests.{c} END" for c in _OWNER_COLUMNS)
    + ", archived=0"
)  # fmt: skip

PARALLEL_MIN_BYTES = 64 * 1024 * 1024
"""Below this much new data, starting worker processes costs more than it saves."""
PARALLEL_MIN_CORES = 2
"""Fewer cores than this: no workers whatever the size. With 2, one worker reads and parses while this process
writes SQLite and parses whatever batch the worker has not reached when it would otherwise wait
(``_Prefetch``): files go to the worker in batches, so the handing over costs little. (A worker per file on 2
cores, with this process only writing, measured 1.02-1.04x one process's wall time for 1.22-1.27x its CPU.)"""


def _start_method() -> str | None:
    """How a cold index starts its worker processes, or None to read in this process (fewer than
    ``PARALLEL_MIN_CORES``).

    "fork" where it is safe and cheap: on Linux, in a process running no other thread (a report, an export,
    doctor: a forked child inherits the locks of threads that do not exist in it, so never the TUI, whose
    Textual and watchdog threads run); a forked worker imports nothing again and shares the parent's pages.
    "spawn" otherwise (each worker imports ctxtop again)."""
    import sys
    import threading

    if (os.cpu_count() or 1) < PARALLEL_MIN_CORES:
        return None
    if sys.platform.startswith("linux") and threading.active_count() == 1:
        return "fork"
    return "spawn"


WRITTEN_KEYS = 200_000
"""At most this many keys are remembered by a first update to spare SQLite lookups (~25 MB; 54,000 at 1 GB)."""

Progress = Callable[[int, int, int, int], None]
"""(files done, files total, bytes done, bytes total)"""


@dataclass(slots=True)
class UpdateResult:
    files_read: int = 0
    bytes_read: int = 0
    lines: int = 0
    malformed: int = 0
    changed_sessions: set[str] = field(default_factory=set)
    seconds: float = 0.0


@dataclass(slots=True)
class ToolOutput:
    tool: str
    command: str
    chars: int
    is_error: bool
    ts: float
    tokens: int | None = None
    """tiktoken's count of what the model received (None when no encoding could be loaded)."""


@dataclass(slots=True)
class FileInfo:
    path: str
    source: str
    session_id: str
    size: int
    offset: int
    lines: int
    malformed: int
    last_error: str | None
    gone: bool = False
    """The file was deleted since it was indexed (what only it held is archived)."""


@dataclass(slots=True)
class ParsedLines:
    """What one read of a file contributes; request tuples lack only their sequence number."""

    requests: list[tuple] = field(default_factory=list)
    compacts: list[tuple] = field(default_factory=list)
    metas: dict[str, Meta] = field(default_factory=dict)
    sessions: set[str] = field(default_factory=set)
    malformed: int = 0
    lines: int = 0
    first_ts: float | None = None
    parser_state: str | None = None
    """What the source's parser left for the next read of the file (``FileParser.state``)."""
    file_session: str | None = None
    """The session the file's place names (``Source.context_for``)."""
    named: set[str] = field(default_factory=set)
    """Keys of the requests whose record names ``file_session`` (``sessionId``, or an API log's
    ``session_id``): the file's own, not a copy's."""


def parse_lines(
    lines: list[bytes],
    offset: int,
    spath: str,
    markers: tuple[bytes, ...],
    parser: FileParser,
    out: ParsedLines,
) -> ParsedLines:
    """Parse complete lines read from ``spath`` (pure: no SQLite), so it can also run in a worker process.

    Every non-blank line is checked to be a JSON object as the one decoder (``jsonl.decode_line``) would
    accept it, so a line that is not one is counted as malformed whichever way the file was read: a chunk at a
    time in C (``jsonl.all_objects``), line by line with ``decode_line`` where that finds anything odd. Only
    lines holding one of the source's ``markers`` are decoded and parsed. ``out`` accumulates the chunks of
    one read."""
    from ctxtop.adapters.jsonl import all_objects, decode_line  # not on the warm path

    parse = parser.parse
    out.lines += len(lines)
    first, second = (markers[0], markers[-1]) if markers else (b"", b"")  # one or two markers: no loop
    # Checked: the lines left are those holding a marker (or every line is parsed: a source without any).
    checked = not markers
    if not checked and all_objects(lines):
        # Every line is known to be a JSON object (checked in C, nothing decoded): only those holding a
        # marker are decoded, and the Python loop runs over them alone. The marker search is StringZilla's
        # SIMD substring test (a big chunk only, as for the check): 0.17x the `in` operator's time over 90 MB.
        from stringzilla import contains

        starts = [offset, *accumulate(len(raw) + 1 for raw in lines)]
        todo: Iterable[tuple[int, bytes]] = [
            (starts[n], raw) for n, raw in enumerate(lines) if contains(raw, first) or contains(raw, second)
        ]
        checked = True
    else:
        todo = _offsets(lines, offset)
    for line_offset, raw in todo:
        if not raw or raw.isspace():
            continue
        try:
            obj = decode_line(raw)
        except ValueError:
            out.malformed += 1
            continue
        if not isinstance(obj, dict):
            out.malformed += 1
            continue
        # Most lines carry nothing ctxtop counts (progress records, file snapshots, tool results): they are
        # only checked, not parsed.
        if not checked and first not in raw and second not in raw:
            continue
        _parse_object(out, parse, obj, f"{spath}:{line_offset}", spath)
    return out


def _parse_object(out: ParsedLines, parse: Callable[[dict, str], list[Parsed]], obj: dict, key: str,
                  spath: str) -> None:  # fmt: skip
    """One decoded line's facts into ``out``, by the source's ``parse``: a line it cannot parse is counted
    as malformed, never fatal. The session the line names is its ``sessionId`` (an API log's
    ``session_id``)."""
    try:
        facts = parse(obj, key)
    except Exception:  # noqa: BLE001 - an odd line is counted as malformed, never fatal
        out.malformed += 1
        return
    _take(out, facts, obj.get("sessionId", obj.get("session_id")), spath)


def parse_block(
    block: memoryview,
    offset: int,
    spath: str,
    markers: tuple[bytes, ...],
    parser: FileParser,
    out: ParsedLines,
) -> ParsedLines:
    """``parse_lines`` for a block of lines (``tailer.BlockSink``) without splitting it, when that is safe.

    The block is checked in one C call (``jsonl.block_objects``: every line a JSON object); then the lines
    holding a marker are found by searching the whole block (StringZilla's SIMD search) and only they are
    cut out. They go first to the parser's ``index_reader`` when it has one (the facts straight from the
    bytes, a narrow decode, many lines a call), else, or for a line it declines, through the one decoder
    and ``parse``.
    Anything odd (a malformed or blank line, a small block, a source without markers) goes the line-by-line
    way of ``parse_lines``, so the facts and the counts never depend on which way a block went."""
    from ctxtop.adapters.jsonl import block_objects, checks, decode_line  # not on the warm path

    if not markers or not checks(len(block)):
        return parse_lines(bytes(block).split(b"\n"), offset, spath, markers, parser, out)
    from stringzilla import Str

    text = Str(block)
    n = text.count(b"\n") + 1
    if not block_objects(block, n):
        return parse_lines(bytes(block).split(b"\n"), offset, spath, markers, parser, out)
    out.lines += n
    found: dict[int, int] = {}  # start -> end of each line holding a marker
    size = len(block)
    for marker in markers:
        at = text.find(marker)
        while at >= 0:
            start = text.rfind(b"\n", 0, at) + 1
            end = text.find(b"\n", at)
            if end < 0:
                end = size
            found[start] = end
            at = text.find(marker, end) if end < size else -1
    del text
    spans = sorted(found.items())
    reader = getattr(parser, "index_reader", None)  # the source's narrow reader of index lines, if any
    fast = reader() if reader is not None else None
    parse = parser.parse

    def line_key(start: int) -> str:
        return f"{spath}:{offset + start}"

    at = 0
    while at < len(spans):
        if fast is not None:
            had = len(out.requests)
            # The parser's narrow reader takes the lines it settles, up to the first it does not.
            at, first = fast(block, spans, at, spath, line_key, out.requests, out.metas, out.compacts,
                             out.named, out.file_session)  # fmt: skip
            if len(out.requests) > had:
                out.sessions.add(out.requests[-1][1])  # its requests are the file's session's
            if first is not None and (out.first_ts is None or first < out.first_ts):
                out.first_ts = first
            if at == len(spans):
                break
        start, end = spans[at]
        at += 1
        try:
            obj = decode_line(bytes(block[start:end]))
        except ValueError:
            obj = None
        if isinstance(obj, dict):  # always, after block_objects
            _parse_object(out, parse, obj, line_key(start), spath)
        else:
            out.malformed += 1
    return out


def _take(out: ParsedLines, facts: Iterable[Parsed], named: object, spath: str) -> None:
    """Adds the facts a source's ``parse`` made of one line to ``out`` (a source's narrow reader adds its own:
    ``parse_block``); ``named``: the session the line's record names."""
    for fact in facts:
        if out.first_ts is None or fact.ts < out.first_ts:
            out.first_ts = fact.ts
        if isinstance(fact, RequestRecord):
            out.requests.append(flat_request(fact))
            out.sessions.add(fact.session_id)
            if named == out.file_session:
                out.named.add(fact.key)
        elif isinstance(fact, Meta):
            prev = out.metas.get(fact.session_id)
            if prev is None or fact.ts >= prev.ts:
                out.metas[fact.session_id] = fact
        elif isinstance(fact, CompactRecord):
            out.compacts.append(
                (
                    fact.session_id,
                    fact.chain,
                    fact.ts,
                    fact.trigger,
                    fact.pre_tokens,
                    fact.post_tokens,
                    spath,
                )
            )


def one_per_request(rows: list[tuple]) -> list[tuple]:
    """One row per request of what one read of a file holds (Claude Code writes a response once per content
    block, each line repeating the usage), in the order of first appearance: the row ``UPSERT_REQUEST`` would
    leave after every copy in turn (the first copy's owner, model and variant; the counts of the first copy
    with the largest total), so SQLite sees one upsert per request instead of one per copy."""
    merged: dict[str, tuple] = {}
    for r in rows:
        prev = merged.get(r[0])
        if prev is None:
            merged[r[0]] = r
        elif r[20] > prev[20]:
            # Owner (session, chain, ts) and model stay the first copy's; the counts, the total and the
            # reasoning tokens (``_TOKEN_COLUMNS``; the file is this read's for every copy) come from this
            # larger copy; tier, speed and the compaction flag are never updated on conflict.
            merged[r[0]] = (*prev[:5], *r[5:17], *prev[17:20], *r[20:])
    return list(merged.values())


def _unread(path: Path, st: os.stat_result, known: dict[str, FileState]) -> int:
    """How many of a file's bytes the index has not read yet (all of them for a file it does not know)."""
    state = known.get(str(path))
    return max(st.st_size - (state.size if state is not None else 0), 0)


def _offsets(lines: list[bytes], offset: int) -> Iterator[tuple[int, bytes]]:
    """Each line with the file offset it starts at."""
    for raw in lines:
        yield offset, raw
        offset += len(raw) + 1


def read_and_parse(
    spath: str, src: type[Source], state: FileState | None, parser_state: str | None = None
) -> tuple[ReadResult, ParsedLines]:
    """Read a file's new lines chunk by chunk and parse each chunk as it comes (memory stays bounded).

    ``src`` is the class of the file's source; ``parser_state`` what its parser left after the previous read
    (ignored when the read starts at the file's first byte)."""
    ctx = src.context_for(Path(spath))
    parsed = ParsedLines(sessions={ctx.session_id}, file_session=ctx.session_id)
    if state is not None and state.offset == 0 and not state.fingerprint:
        state = None  # never read successfully (e.g. unreadable until now): a first read, not a reset
    parsers: list[FileParser] = []

    def on_block(block: memoryview, offset: int) -> None:
        if not parsers:
            # Read from the first byte (first read, truncated, replaced...): the parser starts afresh.
            parsers.append(src.parser(ctx, None if offset == 0 else parser_state))
        parse_block(block, offset, spath, src.markers, parsers[0], parsed)

    read = read_appended(spath, state, on_block=on_block)
    parsed.malformed += read.oversized
    parsed.requests = one_per_request(parsed.requests)  # here: in the worker, when a worker read it
    if parsers:
        parsed.parser_state = parsers[0].state
    elif not read.reset and read.state.offset:
        parsed.parser_state = parser_state  # nothing new: the parser would go on from the same place
    return read, parsed


def _read_and_parse(
    job: tuple[str, type[Source], FileState | None, str | None],
) -> tuple[ReadResult, ParsedLines] | str:
    """Worker-process entry: read a file's new lines and parse them; an OSError comes back as its text."""
    try:
        return read_and_parse(*job)
    except OSError as exc:
        return str(exc)


def _missing(path: str) -> bool:
    """The file is not there (an unreadable one is: it keeps what it held)."""
    try:
        os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return True
    except OSError:
        return False
    return False


def _die_with_parent(parent: int) -> None:
    """Worker initializer: a worker never outlives the ctxtop process that started it (kill -9 included).

    On Linux the kernel kills it with its parent (PR_SET_PDEATHSIG); elsewhere, and as a backstop, a thread
    notices the parent is gone (the worker is re-parented) and exits. Once the workers are gone, the
    multiprocessing resource tracker sees its pipe close and exits too."""
    import signal
    import threading

    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass  # not Linux: the watch thread below does it
    # Ctrl-C reaches the whole process group: the parent stops the pool; a worker must not print a traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    if os.getppid() != parent:
        os._exit(1)  # the parent died before the death signal was armed
    threading.Thread(target=watch, name="ctxtop-parent-watch", daemon=True).start()


BATCH_BYTES = 4 * 1024 * 1024
"""A worker's task: consecutive files up to about this many new bytes (or ``BATCH_FILES``), so the handing over
costs a few hundred tasks at 1 GB, not one per file (each costs ~0.2 ms of the parent's time in the pool's
threads), while a batch stays small enough for the parent to take one over when it would otherwise wait."""
BATCH_FILES = 64


def _read_and_parse_batch(
    jobs: list[tuple[str, type[Source], FileState | None, str | None]],
) -> list[tuple[ReadResult, ParsedLines] | str]:
    """Worker-process entry: ``_read_and_parse`` of each of a batch's files, in order."""
    return [_read_and_parse(job) for job in jobs]


PARALLEL_STATS_MIN = 64
"""A cold index's workers compute a share of the session stats when at least this many sessions changed."""
STATS_CHUNK = 24
"""Sessions per stats task."""


_WORKER_DBS: dict[str, sqlite3.Connection] = {}
"""A worker process's own read connections to the indexes it computes stats of (``_stats_of``)."""


def _stats_of(
    db: str, prices: PriceBook, session_ids: list[str]
) -> tuple[list[SessionStats], dict[str, Cached]]:
    """Worker-process entry: the stats of sessions, from their requests as committed in the index ``db``
    (``Index._committed_for_workers``; the parent adds what the sessions table says), and the price entries
    resolved for them that ``prices`` (a ``PriceBook.detached`` copy) did not hold, for the parent to keep."""
    conn = _WORKER_DBS.get(db)
    if conn is None:
        # Read-only: an index that vanished meanwhile is not created again as an empty file.
        uri = f"{Path(db).resolve().as_uri()}?mode=ro"  # resolved: a relative --cache-dir has no file URI
        conn = sqlite3.connect(uri, uri=True, timeout=5.0, isolation_level=None)
        _WORKER_DBS[db] = conn
    stats = [
        metrics.compute_rows(sid, _session_rows(conn, sid), _main_compactions(conn, sid), prices)
        for sid in session_ids
    ]
    return stats, prices.resolved_since_detached()


def _session_rows(
    conn: sqlite3.Connection,
    session_id: str | None,
    present_only: bool = False,
    since: float | None = None,
    *,
    with_key: bool = False,
) -> list[tuple]:
    """A session's requests (or every request from ``since`` on) as ``metrics.Row`` tuples, in the order
    its stats are computed in; ``with_key``: each with its key appended."""
    where, arg = ("session_id=?", session_id) if session_id is not None else ("ts>=?", since)
    return conn.execute(
        "SELECT chain, ts, model, i, o, cr, w5, w1, bi, bo, bcr, bw5, bw1, ws, wf, tier, speed, compaction, ro"
        f"{', key' if with_key else ''} "
        f"FROM requests WHERE {where} {'AND archived=0' if present_only else ''} ORDER BY ts, seq",
        (arg,),
    ).fetchall()


def _main_compactions(
    conn: sqlite3.Connection, session_id: str, present_only: bool = False
) -> list[Compaction]:
    """The main chain's compact boundaries of a session, in time order."""
    present = " AND file IN (SELECT path FROM files WHERE gone=0)" if present_only else ""
    return [
        Compaction(ts, trig, pre, post)
        for ts, trig, pre, post in conn.execute(
            f"SELECT ts, trigger, pre, post FROM compacts WHERE session_id=? AND chain='main'{present} "
            "ORDER BY ts",
            (session_id,),
        )
    ]


class _Prefetch:
    """Files read and parsed ahead, by a worker pool and by this process, handed over one at a time in the
    order they were submitted.

    Consecutive files go in batches (``BATCH_BYTES``). At most ``2 * workers`` batches are with the pool and
    not yet taken; when the next batch the parent needs is still being parsed, the parent does not wait: it
    reads and parses the first batch nobody has claimed yet itself, holding at most ``HOLD`` such batches.
    So the parent, which also writes SQLite, takes the share of the parsing its own time leaves room for,
    and the memory held is a few batches' results, never every file's."""

    HOLD = 2

    def __init__(
        self,
        pool: ProcessPoolExecutor,
        jobs: list[tuple[str, type[Source], FileState | None, str | None]],
        sizes: list[int],
        workers: int,
    ) -> None:
        self.pool = pool
        self.batches: list[list[tuple[str, type[Source], FileState | None, str | None]]] = []
        size = BATCH_BYTES
        for job, new in zip(jobs, sizes, strict=True):
            if size >= BATCH_BYTES or len(self.batches[-1]) >= BATCH_FILES:
                self.batches.append([])
                size = 0
            self.batches[-1].append(job)
            size += new
        self.batch_of = {job[0]: b for b, batch in enumerate(self.batches) for job in batch}
        self.ahead = 2 * workers
        self.futures: dict[int, Future] = {}  # with the pool, not taken yet
        self.held: dict[int, list] = {}  # parsed here ahead of their turn
        self.unclaimed = 0  # the first batch neither with the pool nor held
        self.at = 0  # the first batch not taken yet
        self.current: dict[str, tuple[FileState | None, object]] = {}  # the batch being taken, by path
        self.broken = False
        self.stolen = 0
        """Batches this process parsed itself (tests read it)."""
        self._fill()

    def _fill(self) -> None:
        while not self.broken and len(self.futures) < self.ahead and self.unclaimed < len(self.batches):
            try:
                self.futures[self.unclaimed] = self.pool.submit(
                    _read_and_parse_batch, self.batches[self.unclaimed]
                )
            except Exception:  # noqa: BLE001 - the pool broke: what is left is read in this process
                self.broken = True
                return
            self.unclaimed += 1

    def _here(self, b: int) -> list:
        self.stolen += 1
        return _read_and_parse_batch(self.batches[b])

    def _batch(self, b: int) -> list:
        """Batch ``b``'s results (None for a file to read in turn), from whoever parsed it."""
        if b in self.held:
            return self.held.pop(b)
        future = self.futures.pop(b, None)
        if future is None:  # nobody claimed it: parse it now
            self.unclaimed = max(self.unclaimed, b + 1)
            done = self._here(b)
            self._fill()
            return done
        while not future.done() and len(self.held) < self.HOLD and self.unclaimed < len(self.batches):
            # Rather than wait for the pool: parse the next unclaimed batch here, for its turn.
            self.held[self.unclaimed] = self._here(self.unclaimed)
            self.unclaimed += 1
        self._fill()
        try:
            return future.result()
        except Exception:  # noqa: BLE001 - e.g. a main module that cannot be re-imported: go sequential
            self.broken = True
            return [None] * len(self.batches[b])

    def take(self, spath: str, state: FileState | None) -> tuple[ReadResult, ParsedLines] | None:
        """The parsed read of ``spath`` if it was parsed from ``state``; None: read it in this process."""
        if spath not in self.current:
            b = self.batch_of.get(spath)
            if b is None or b < self.at:
                return None
            for skipped in range(self.at, b):  # not wanted any more (e.g. found gone under the lock)
                self.held.pop(skipped, None)
                future = self.futures.pop(skipped, None)
                if future is not None:
                    future.cancel()
            self.at = b + 1
            jobs = self.batches[b]
            self.current = {job[0]: (job[2], done) for job, done in zip(jobs, self._batch(b), strict=True)}
        job_state, done = self.current.pop(spath)
        if done is None or isinstance(done, str) or job_state != state:
            return None  # an OSError (read again here, to record it) or a state no longer current
        return done  # type: ignore[return-value]

    def close(self, *, abort: bool = False) -> None:
        self.held.clear()
        self.current.clear()
        if abort:
            procs = list((getattr(self.pool, "_processes", None) or {}).values())
            for proc in procs:
                proc.kill()
            for proc in procs:
                proc.join(5)
            # A worker killed while writing its result leaves half a message in the result pipe: the pool's
            # manager thread would wait for the rest forever, and shutdown (or the interpreter's exit) with
            # it. With the workers gone, closing this process's own copy of the pipe's write end turns that
            # wait into an end of file: the pool sees itself broken and stops.
            writer = getattr(getattr(self.pool, "_result_queue", None), "_writer", None)
            if writer is not None:
                writer.close()
        self.pool.shutdown(wait=True, cancel_futures=True)


class IndexUnavailable(Exception):
    """The index cannot be created or written where it lives (a read-only or foreign location)."""


class _LockLost(Exception):
    """A cold update could not take the write lock again after committing its requests (another ctxtop held
    it past the busy timeout)."""


class _Damaged(Exception):
    """The index file is not a usable SQLite database (it is set aside and rebuilt)."""


# SQLite's words for a file that is not (or no longer) a database, as opposed to a busy or read-only one.
_DAMAGE_WORDS = ("not a database", "malformed", "disk image", "file is encrypted", "no such table")


def _truncated(path: Path) -> bool:
    """The file is shorter than its own SQLite header says (cut short by a crash or a copy)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(100)
        size = os.path.getsize(path)
    except OSError:
        return False
    if len(head) < 100:
        return len(head) > 0
    page_size = int.from_bytes(head[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages = int.from_bytes(head[28:32], "big")
    # The page count in the header is valid only when its "valid-for" counter matches the change counter.
    return head[24:28] == head[92:96] and pages * page_size > size


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


class _SetAsideLock:
    """Setting a damaged index aside (exclusive) against opening one (shared), on ``<index>.lock``: an opener
    never finds the file moved and its WAL not yet (SQLite would create an empty file there and delete that
    WAL), and processes that judged the same file damaged set it aside once. Where no lock file can be made
    (a read-only dir, where nothing can be moved either) it locks nothing."""

    def __init__(self, path: Path, *, exclusive: bool) -> None:
        self.path, self.exclusive, self.fd = path, exclusive, -1

    def __enter__(self) -> None:
        try:
            import fcntl

            flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
            self.fd = os.open(f"{self.path}.lock", flags, 0o600)
            fcntl.flock(self.fd, fcntl.LOCK_EX if self.exclusive else fcntl.LOCK_SH)
        except (ImportError, OSError):
            pass

    def __exit__(self, *exc: object) -> None:
        if self.fd >= 0:
            os.close(self.fd)


def _connect(path: Path) -> sqlite3.Connection:
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as exc:
        raise IndexUnavailable(f"cannot create the index directory {path.parent}: {exc.strerror}") from exc
    with _SetAsideLock(path, exclusive=False):
        return _connect_locked(path)


def _connect_locked(path: Path) -> sqlite3.Connection:
    if path.exists() and not path.is_file():
        raise _Damaged("not a regular file")
    # A file shorter than its header says is cut short, or is being checkpointed by another process this
    # moment (page 1 is written before the pages that grow the file): SQLite's own check, which reads the
    # pages still in the WAL from there, tells them apart.
    suspect = _truncated(path)
    conn = sqlite3.connect(path, timeout=5.0, isolation_level=None, check_same_thread=False)
    try:
        os.chmod(path, 0o600)
    except OSError:
        pass
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA busy_timeout=5000")
        if suspect and (problem := conn.execute("PRAGMA quick_check(1)").fetchone()[0]) != "ok":
            raise _Damaged(f"truncated: {problem}")
    except (sqlite3.DatabaseError, _Damaged):
        conn.close()
        raise
    return conn


def _busy(exc: sqlite3.OperationalError) -> bool:
    """SQLite gave up waiting for another connection's lock (``busy_timeout``), as opposed to a real fault."""
    return "locked" in str(exc) or "busy" in str(exc)


def _begin_immediate(conn: sqlite3.Connection, *, wait: bool = True) -> None:
    """Take the write lock (``wait=False``: only if it is free now, not after the busy timeout)."""
    if wait:
        conn.execute("BEGIN IMMEDIATE")
        return
    timeout = conn.execute("PRAGMA busy_timeout").fetchone()[0]
    conn.execute("PRAGMA busy_timeout=0")
    try:
        conn.execute("BEGIN IMMEDIATE")
    finally:
        conn.execute(f"PRAGMA busy_timeout={int(timeout)}")


def _write_now(conn: sqlite3.Connection, write: Callable[[], None]) -> bool:
    """``write()`` in a transaction of its own; False (nothing written) when another connection held the
    write lock past the busy timeout."""
    try:
        conn.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        if not _busy(exc):
            raise
        return False
    try:
        write()
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return True


def _damaged(path: Path, exc: BaseException) -> bool:
    """``exc`` says the file is not a database, or a fresh read-only check of the file finds it damaged
    (an error raised while rolling back can hide SQLite's first word on it)."""
    if any(w in str(exc).lower() for w in _DAMAGE_WORDS):
        return True
    try:
        probe = sqlite3.connect(path.resolve().as_uri() + "?mode=ro", uri=True, timeout=1.0)
        try:
            return probe.execute("PRAGMA quick_check(1)").fetchone()[0] != "ok"
        finally:
            probe.close()
    except sqlite3.DatabaseError as err:
        return any(w in str(err).lower() for w in _DAMAGE_WORDS)


def _unavailable(path: Path, exc: BaseException) -> IndexUnavailable | None:
    """A read-only location, or an index another process holds: one clear message instead of a traceback."""
    text = str(exc).lower()
    if isinstance(exc, PermissionError) or "readonly" in text or "unable to open" in text:
        return IndexUnavailable(
            f"cannot write the index at {path} ({exc}): make that directory writable or pass --data-dir DIR"
        )
    if isinstance(exc, sqlite3.OperationalError) and _busy(exc):
        # Opening must upgrade the schema before anything can be read (new price data, overrides or time
        # zone wait for the lock instead: ``Index._open``), and another ctxtop mid-update holds the lock past
        # the busy timeout.
        return IndexUnavailable(
            f"another ctxtop is updating the index at {path}, and opening it needs a write first (a new "
            "schema): try again when it has finished"
        )
    return None


class Index:
    """One SQLite file; safe to use from one thread at a time (the UI runs it in a worker).

    A damaged file (truncated, garbage, a directory in its place...) is moved aside, kept, and the index rebuilt
    from the transcripts; ``notices`` says so, for the caller to show. A location that cannot
    be written raises ``IndexUnavailable`` with a message for the user."""

    def __init__(
        self, db_path: Path, prices: PriceBook | None = None, price_overrides: dict | None = None
    ) -> None:
        self.path = db_path
        self.scope: tuple[str, ...] | None = None
        """Roots (``<config>/projects``, API log dirs) whose sessions the queries return; None: all."""
        self.notices: list[str] = []
        self._args = (prices, price_overrides)
        try:
            self._open(prices, price_overrides)
        except (_Damaged, sqlite3.DatabaseError, OSError) as exc:
            self._recover(exc)
            self._open(prices, price_overrides)

    def _recover(self, exc: BaseException) -> None:
        """Set the damaged index aside (the file ``_open`` opened), re-raising anything that is not damage, so
        that it is rebuilt; nothing when another process set that file aside first."""
        unavailable = _unavailable(self.path, exc)
        if unavailable is not None:
            raise unavailable from exc
        conn = getattr(self, "conn", None)
        if conn is not None:
            conn.close()
        if not isinstance(exc, _Damaged) and not _damaged(self.path, exc):
            raise exc
        with _SetAsideLock(self.path, exclusive=True):
            # Not when another process set that file aside first (a file that was not there: nothing to keep).
            if self.opened is None or _identity(self.path) == self.opened:
                self._set_aside(exc)

    def _set_aside(self, exc: BaseException) -> None:
        stamp = f"{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"  # never another process's copy
        aside = self.path.with_name(f"{self.path.name}.damaged-{stamp}")
        try:
            os.replace(self.path, aside)
            # Its WAL and rollback journal go with it (left here, SQLite would apply them to the new file);
            # the shared-memory index is rebuilt from the WAL.
            for suffix in ("-wal", "-journal"):
                try:
                    os.replace(f"{self.path}{suffix}", f"{aside}{suffix}")
                except FileNotFoundError:
                    pass
            try:
                os.unlink(f"{self.path}-shm")
            except FileNotFoundError:
                pass
        except OSError as err:
            raise IndexUnavailable(
                f"the index at {self.path} is damaged ({exc}) and cannot be moved: {err}"
            ) from err
        self.notices.append(
            f"the index at {self.path} was damaged ({exc}); moved it to {aside.name} (sessions whose "
            "transcripts are gone stay in that copy) and rebuilt it from the transcripts"
        )

    def _open(self, prices: PriceBook | None, price_overrides: dict | None) -> None:
        self.opened = _identity(self.path)
        """The device and inode of the file opened (a damaged one is set aside only while it is still there)."""
        self.conn = _connect(self.path)
        if _schema_version(self.conn) != SCHEMA_VERSION:
            self._upgrade()
        self._reread: set[str] = set()
        self._kinds: dict[str, type[Source]] = {}
        self.skipped: dict[str, str] = {}
        """Files left out of the index and why (shown by doctor), beside the unreadable ones in ``files``."""
        self._seq = self.conn.execute("SELECT coalesce(max(seq), 0) FROM requests").fetchone()[0]
        self._written: set[str] | None = None
        self.stats_in_workers = 0
        """Sessions whose stats worker processes computed (``_refresh``; tests read it)."""
        self._price_cache = _PriceCache(self.conn) if prices is None else None
        self.prices = prices or PriceBook(price_overrides, cache=self._price_cache)
        # Cached session costs depend on the user's price overrides: a change re-prices every session.
        # ... and their daily buckets on the local time zone (``report_fast.zone``: names, offsets, TZ, zone file).
        # ... and on what the cached figures mean (metrics.STATS_VERSION).
        from ctxtop.report_fast import zone

        stamp = json.dumps(
            [price_overrides or {}, *zone(), metrics.STATS_VERSION],
            sort_keys=True,
            default=str,
        )
        row = self.conn.execute("SELECT value FROM meta WHERE key='overrides'").fetchone()
        self._overrides: str | None = None if row is not None and row[0] == stamp else stamp
        """New overrides, time zone or stats version not applied yet (as ``_PriceCache.pending``)."""
        deferred = self._price_cache is not None and self._price_cache.pending is not None
        # Once the lock was waited for in vain, not again: the index is answered from as it stands.
        if self._overrides is not None and (deferred or not _write_now(self.conn, self._apply_overrides)):
            deferred = True
        self.lock_elsewhere = deferred
        """The last wait for the write lock was in vain (another ctxtop holds it): the next update tries it
        without waiting, and writes that can wait (stored rows, kept outputs) are not tried."""
        if deferred:
            self.notices.append(
                f"another ctxtop is updating the index at {self.path}: figures are as of its last update "
                "(new price data, price overrides or time zone applied once it has finished)"
            )

    def _apply_overrides(self) -> None:
        """In the caller's write transaction: every session to be figured again with the new overrides."""
        if self._overrides is None:
            return
        self.conn.execute("UPDATE sessions SET dirty=1")
        self.conn.execute("INSERT OR REPLACE INTO meta VALUES ('overrides', ?)", (self._overrides,))
        self._overrides = None

    def close(self) -> None:
        self.conn.close()

    def _upgrade(self) -> None:
        """Create or upgrade the schema in one transaction: an interrupted upgrade leaves the old one."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            version = _schema_version(self.conn)  # again under the lock: another process may have done it
            if version is not None and version > SCHEMA_VERSION:
                raise RuntimeError(
                    f"{self.path} was written by a newer ctxtop (schema {version}); upgrade ctxtop to read it"
                )
            if version == SCHEMA_VERSION:  # another process upgraded it since this one looked
                self.conn.execute("COMMIT")
                return
            if version == 5:
                _migrate_from_5(self.conn)
            if version in (5, 6):
                _migrate_from_6(self.conn)
            # 7 to 8 adds a table only (otlp_sent: what the OTLP export sent), created below with the rest.
            if version in (5, 6, 7, 8):
                _migrate_from_8(self.conn)
            if version in (5, 6, 7, 8, 9):
                _migrate_from_9(self.conn)
            if version in (5, 6, 7, 8, 9, 10):
                _migrate_from_10(self.conn)
            if version in (5, 6, 7, 8, 9, 10, 11):
                # 11 to 12: no index of requests by file (every look-up by file goes by key now).
                self.conn.execute("DROP INDEX IF EXISTS requests_file")
            if version in (5, 6, 7, 8, 9, 10, 11, 12):
                _migrate_from_12(self.conn)
            elif version is None or version < 5:  # 13 to 14 adds an index only (requests_file_path)
                # A new file, or one from before schema 5, which held nothing the transcripts did not: built
                # again from them. Nothing else is ever dropped (archived history lives only here).
                for (name,) in self.conn.execute(
                    "SELECT name FROM sqlite_master WHERE type='table'"
                ).fetchall():
                    self.conn.execute(f"DROP TABLE IF EXISTS {name}")
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    self.conn.execute(statement)
            if version == 5:
                _record_known_copies(self.conn)
            if version in (6, 7, 8, 9, 10):
                _copies_by_file_id(self.conn)
            self.conn.execute("INSERT OR REPLACE INTO meta VALUES ('schema', ?)", (str(SCHEMA_VERSION),))
            self.conn.execute("COMMIT")
        except BaseException:
            self.conn.execute("ROLLBACK")
            self.conn.close()
            raise

    # ---------------------------------------------------------------- reading files

    def _kind(self, name: str | None) -> type[Source] | None:
        """The class of the source called ``name``: one of the sources last updated from, else the registry's."""
        return self._kinds.get(name) if name in self._kinds else kind(name)

    def _known(self) -> dict[str, FileState]:
        # A file never read (unreadable so far) has NULLs here: read as zeros, never as None.
        known: dict[str, FileState] = {}
        self._parser_states: dict[str, str] = {}
        for path, dev, ino, size, mtime, offset, fp, ctime, parser_state in self.conn.execute(
            "SELECT path, dev, ino, size, mtime_ns, offset, fingerprint, ctime_ns, parser_state FROM files "
            "WHERE gone=0"
        ):
            known[path] = FileState(
                dev or 0, ino or 0, size or 0, mtime or 0, offset or 0, b"", fp or b"", ctime or 0
            )
            if parser_state is not None:
                self._parser_states[path] = parser_state
        return known

    def _pending(
        self, todo: list[tuple[Path, str]], known: dict[str, FileState]
    ) -> list[tuple[Path, str, os.stat_result]]:
        pending = []
        for path, source in todo:
            spath = str(path)
            try:
                spath.encode("utf-8")
            except UnicodeEncodeError:
                # Not valid UTF-8 (SQLite cannot store the name); Claude Code never names a file so.
                self.skipped[os.fsencode(spath).decode("utf-8", "backslashreplace")] = (
                    "file name is not UTF-8"
                )
                continue
            try:
                st = os.stat(path)
            except OSError:
                continue
            state = known.get(spath)
            if state is not None and state.same_stat(st):
                continue
            pending.append((path, source, st))
        return pending

    def pending(self, sources: Sources) -> list[tuple[Path, int]]:
        """The files of ``sources`` with bytes not indexed yet, and how many, most recently modified first.

        The order a first screen wants: the live engine indexes a big backlog in batches of these (``update``
        with ``only``), newest sessions first; the owner of a request does not depend on the order."""
        from ctxtop.adapters import index_dirs
        from ctxtop.adapters.tree import listing_cache

        known = self._known()
        with listing_cache(index_dirs.load(self.conn)):  # listed as ``update`` lists, without writing
            todo = [(p, src.name) for p, src in sources.iter_files()]
        found = self._pending(todo, known)
        found.sort(key=lambda f: -f[2].st_mtime_ns)
        return [
            (p, max(st.st_size - (known[str(p)].size if str(p) in known else 0), 0)) for p, _, st in found
        ]

    def update(
        self,
        sources: Sources,
        only: Iterable[Path] | None = None,
        progress: Progress | None = None,
    ) -> UpdateResult:
        """Read what is new in every source file (or only in ``only``) and refresh the changed sessions.

        Several processes (the TUI, the statusline, a report) may update the same index: the work happens
        under SQLite's write lock (BEGIN IMMEDIATE), with the file states re-read once the lock is held, so
        no two processes count the same appended bytes.
        """
        try:
            return self._update(sources, only, progress)
        except sqlite3.DatabaseError as exc:
            # Damage found past the first pages (a garbled page deep in a table): set aside, rebuild once.
            self._recover(exc)
            self._open(*self._args)
            return self._update(sources, only, progress)

    def _update(
        self, sources: Sources, only: Iterable[Path] | None, progress: Progress | None
    ) -> UpdateResult:
        started = time.perf_counter()
        result = UpdateResult()
        # The sources given win over the registry's classes of the same name (tests inject their own).
        self._kinds.update({s.name: type(s) for s in sources.sources})
        if only is None:
            todo = self._listed(sources)
        else:
            # A path no source in effect claims is not a log ctxtop reads; a symlinked one is known by its
            # resolved directory, like the sources' own.
            todo = [
                (p, claimed.name)
                for p in map(resolved_file, only)
                if (claimed := sources.source_of(str(p))) is not None
            ]
        dirty = self.conn.execute("SELECT 1 FROM sessions WHERE dirty=1 LIMIT 1").fetchone() is not None
        known = self._known()
        pending = self._pending(todo, known)
        listed = {str(p) for p, _ in todo}
        vanished = self._vanished(known, listed, sources.roots() if only is None else ())
        deferred = self._overrides is not None or (
            self._price_cache is not None and self._price_cache.pending is not None
        )
        if not pending and not dirty and not vanished and not deferred:
            result.seconds = time.perf_counter() - started
            return result  # the warm path takes no write lock
        total_bytes = sum(_unread(p, st, known) for p, _, st in pending)
        start_method = _start_method() if total_bytes >= PARALLEL_MIN_BYTES else None
        done_bytes = 0
        prefetch: _Prefetch | None = None
        try:
            _begin_immediate(self.conn, wait=not self.lock_elsewhere)
        except sqlite3.OperationalError as exc:
            if not _busy(exc):
                raise
            self.lock_elsewhere = True
            # Another ctxtop (a TUI indexing a big history, ``export --watch``) holds the write lock past the
            # busy timeout: answer from the index as it stands, say so, and read the new bytes next time.
            notice = (
                f"another ctxtop is updating the index at {self.path}: figures are as of its last update "
                f"({len(pending)} file(s) with new lines not read yet)"
            )
            if not any(n.startswith(notice.split(": figures")[0]) for n in self.notices):
                self.notices.append(notice)  # said once, by opening or by the first update
            if self._price_cache is not None:
                self._price_cache.unwritable = True  # the lock is taken: its writes would wait as long again
            result.seconds = time.perf_counter() - started
            return result
        self.lock_elsewhere = False
        collecting = False
        try:
            # What opening could not write (the lock was taken): new price data, overrides, time zone.
            if self._price_cache is not None:
                self._price_cache.apply_pending()
            self._apply_overrides()
            # Another process may have indexed some of these bytes while we waited for the lock.
            fresh = self._known()
            renames = index_paths.moves(self.conn, todo, fresh, listed)
            if renames:
                # Known under the name an older index gave it (unresolved): the same rows, not a re-read.
                index_paths.rename(self.conn, renames)
                fresh = self._known()
            pending = self._pending(todo, fresh)
            self._seq = self.conn.execute("SELECT coalesce(max(seq), 0) FROM requests").fetchone()[0]
            _adopt_older_writes(self.conn)
            self._fid = self.conn.execute("SELECT coalesce(max(fid), 0) FROM files").fetchone()[0]
            # An index with no request yet (a first, cold update) holds only the keys this update writes.
            self._written = set() if self._seq == 0 else None
            for spath in self._vanished(fresh, listed, sources.roots() if only is None else ()):
                self._drop_file(spath, result, gone=True)
            self._queue_rereads(pending, 0)
            # The reads and the session stats make and drop many small objects, almost none in cycles: the
            # cyclic collector would walk every live object again and again for nothing (~10% of a cold
            # index). Refcounting frees what they drop; the collector is back on once they are done. (Forked
            # workers start with it off too.)
            collecting = gc.isenabled()
            gc.disable()
            if start_method is not None:
                prefetch = self._parse_in_workers(pending, fresh, start_method)
            n = 0
            while n < len(pending):
                path, source, _st = pending[n]
                n += 1
                spath = str(path)
                # Not read yet in this update: the state it was last read in (read since: None).
                prior = fresh.pop(spath, None)
                again = spath in self._reread
                before = None if again else prior
                pre = prefetch.take(spath, before) if prefetch is not None and not again else None
                # Read again from the start, yet its old content is gone too (replaced, truncated): what only
                # that content held must go, as for any reset, not stay beside the new content.
                replaced = again and prior is not None and restarts(spath, prior)
                read = self._read_file(path, source, before, result, pre, replaced=replaced)
                done_bytes += read
                # A truncated/replaced file sent the requests it held to other files: read them again now.
                self._reread.discard(spath)
                self._queue_rereads(pending, n)
                if progress is not None:
                    progress(n, len(pending), done_bytes, total_bytes)
            self._reread.clear()
            self._written = None
            pool = prefetch.pool if prefetch is not None and not prefetch.broken else None
            try:
                if pool is not None and not self._committed_for_workers(result.changed_sessions):
                    pool = None
            except _LockLost:
                # Another ctxtop took the write lock between the two transactions and kept it past the busy
                # timeout: the requests are in, their sessions marked dirty for whichever update comes next.
                if prefetch is not None:
                    prefetch.close()
                if collecting:
                    gc.enable()
                self.lock_elsewhere = True
                if self._price_cache is not None:
                    self._price_cache.unwritable = True  # its writes would wait as long again
                self.notices.append(
                    f"another ctxtop is updating the index at {self.path}: the figures of "
                    f"{len(result.changed_sessions)} session(s) read now are computed by the next update"
                )
                result.seconds = time.perf_counter() - started
                return result
            self._refresh(result.changed_sessions, pool)
            if prefetch is not None:
                prefetch.close()
            if collecting:
                gc.enable()
            self.conn.execute("COMMIT")
            if self._price_cache is not None:
                self._price_cache.unwritable = False  # the lock was ours again: cache entries persist
        except BaseException:
            if collecting:
                gc.enable()
            if prefetch is not None:
                # Ctrl-C or a failure: stop the workers now; waiting would finish the whole cold index first.
                prefetch.close(abort=True)
            self._reread.clear()
            self._written = None
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            raise
        result.seconds = time.perf_counter() - started
        return result

    def _committed_for_workers(self, changed: set[str]) -> bool:
        """Before a cold index's session stats: commit what the update wrote, so that worker processes can
        read the requests themselves, and take the write lock again at once. True when nobody else wrote in
        between (``PRAGMA data_version``): the workers then read exactly what this update left, and nobody
        can write until this update commits the stats. Until then a reader sees the new requests with their
        sessions marked dirty, as after an update interrupted before its stats (the next update computes
        them)."""
        if len(changed) < PARALLEL_STATS_MIN:
            return False
        version = self.conn.execute("PRAGMA data_version").fetchone()[0]
        self.conn.execute("COMMIT")
        try:
            _begin_immediate(self.conn)
        except sqlite3.OperationalError as exc:
            if not _busy(exc):
                raise
            raise _LockLost from exc
        return bool(self.conn.execute("PRAGMA data_version").fetchone()[0] == version)

    def _listed(self, sources: Sources) -> list[tuple[Path, str]]:
        """Every source file, listing again only the directories that changed since the last update."""
        from ctxtop.adapters import index_dirs
        from ctxtop.adapters.tree import listing_cache

        with listing_cache(index_dirs.load(self.conn)) as listings:
            todo = [(p, src.name) for p, src in sources.iter_files()]
        if not index_dirs.save(self.conn, listings, sources.roots(), wait=not self.lock_elsewhere):
            self.lock_elsewhere = True  # waited for the lock in vain: the update does not wait again
        return todo

    def _parse_in_workers(
        self, pending: list[tuple[Path, str, os.stat_result]], known: dict[str, FileState], start_method: str
    ) -> _Prefetch | None:
        """Cold index of a big history: read and parse files on several cores; SQLite stays in this process.

        Results are applied in the same file order as a sequential run, so "first seen" attribution and the
        totals are identical (a test checks this). None: read in this process (too few files, no process
        support here).
        """
        workers = min((os.cpu_count() or 1) - 1, 8)  # this process parses too
        if workers < 1 or len(pending) < 4:
            return None
        # A source's class travels to the worker by reference (module and name), not by value.
        jobs = [
            (str(p), src, known.get(str(p)), self._parser_states.get(str(p)))
            for p, source, _ in pending
            if (src := self._kind(source)) is not None
        ]
        if len(jobs) < len(pending):
            return None
        sizes = [_unread(p, st, known) for p, _, st in pending]
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        try:
            pool = ProcessPoolExecutor(
                workers,
                mp_context=multiprocessing.get_context(start_method),
                initializer=_die_with_parent,
                initargs=(os.getpid(),),
            )
        except Exception:  # noqa: BLE001 - no process support here (e.g. no semaphores): go sequential
            return None
        return _Prefetch(pool, jobs, sizes, workers)

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def _read_file(
        self,
        path: Path,
        source: str,
        state: FileState | None,
        result: UpdateResult,
        pre: tuple[ReadResult, ParsedLines] | None = None,
        *,
        replaced: bool = False,
    ) -> int:
        """Index what is new in ``path`` since ``state``; ``replaced``: its old content is gone although the
        read starts from the first byte anyway (a re-read of a file that was also replaced)."""
        src = self._kind(source)
        if src is None:
            return 0  # a file a newer ctxtop indexed, of a source this one does not know
        ctx = src.context_for(path)
        spath = str(path)
        try:
            parser_state = None if state is None else self._parser_states.get(spath)
            read, parsed = read_and_parse(spath, src, state, parser_state) if pre is None else pre
        except OSError as exc:
            self._record_error(spath, source, ctx, exc)
            return 0
        if read.reset or replaced:
            # The old content is gone: what it held goes to the files that still hold it (or is archived,
            # and revived below if the new content still has it). Its compactions are read again, with
            # those of the session's other files.
            self._drop_file(spath, result, gone=False)
            self.conn.execute("DELETE FROM compacts WHERE file=?", (spath,))
            for (other,) in self.conn.execute(
                "SELECT path FROM files WHERE session_id=? AND path<>? AND gone=0", (ctx.session_id, spath)
            ).fetchall():
                self._read_again(other)
            self.conn.execute("UPDATE files SET lines=0, malformed=0, first_ts=NULL WHERE path=?", (spath,))
        row = self.conn.execute("SELECT first_ts, fid FROM files WHERE path=?", (spath,)).fetchone()
        first_ts = row[0] if row and row[0] is not None else parsed.first_ts
        if row and row[1] is not None:
            fid = row[1]
        else:
            self._fid += 1  # a file read for the first time (or only ever unreadable before)
            fid = self._fid
        # Which session owns a request seen in several files: the file that starts earliest (as ccusage
        # decides); at the same instant the file named by the record's sessionId (a copy under another name
        # does not take the session from the real one), then by path. So the answer never depends on which
        # process indexed what first. ("0" named, "~" not: an index written before this rule, "<ts>|<path>",
        # sorts between them, so a named file still wins over it and a copy does not.)
        start = f"{first_ts if first_ts is not None else 9e12:020.6f}"
        # Columns: key, session, chain, ts, seq, the counts .. file, rank, (archived: 0), reasoning.
        requests = [
            (
                *r[:4],
                self._next_seq(),
                *r[4:-1],
                fid,
                f"{start}{'0' if r[0] in parsed.named else '~'}|{spath}",
                r[-1],
            )
            for r in parsed.requests  # one per request (``read_and_parse``)
        ]
        previous_owners = self._owners(self._known_keys([r[0] for r in requests]))
        compacts, metas, sessions, malformed = (
            parsed.compacts,
            parsed.metas,
            parsed.sessions,
            parsed.malformed,
        )
        c = self.conn
        c.executemany(UPSERT_REQUEST, requests)
        c.executemany("INSERT OR IGNORE INTO copies VALUES (?, ?)", {(r[0], fid) for r in requests})
        c.executemany("INSERT OR IGNORE INTO session_files VALUES (?, ?)", [(sid, spath) for sid in sessions])
        for owner in previous_owners:
            c.execute("UPDATE sessions SET dirty=1 WHERE session_id=?", (owner,))
            result.changed_sessions.add(owner)
        c.executemany("INSERT OR IGNORE INTO compacts VALUES (?,?,?,?,?,?,?)", compacts)
        for meta in metas.values():
            # A subagent file's record (``fallback``) only fills what the main file did not say.
            new, old = ("sessions", "excluded") if meta.fallback else ("excluded", "sessions")  # new wins
            c.execute(
                "INSERT INTO sessions(session_id, source, cwd, git_branch, version, project_dir, last_ts, dirty) "
                "VALUES (?,?,?,?,?,?,?,1) ON CONFLICT(session_id) DO UPDATE SET "
                f"cwd=coalesce({new}.cwd, {old}.cwd), git_branch=coalesce({new}.git_branch, {old}.git_branch), "
                f"version=coalesce({new}.version, {old}.version), dirty=1",
                (
                    meta.session_id,
                    ctx.source,
                    meta.cwd,
                    meta.git_branch,
                    meta.version,
                    ctx.project_dir,
                    meta.ts,
                ),
            )
        for sid in sessions:
            c.execute(
                "INSERT INTO sessions(session_id, source, project_dir, dirty) VALUES (?,?,?,1) "
                "ON CONFLICT(session_id) DO UPDATE SET dirty=1",
                (sid, ctx.source, ctx.project_dir),
            )
        # A stale copy replaced by this file's larger one changes the session that owns it: one of the previous
        # owners (marked above), or a session of this file when this copy took the request; only a request of
        # a session this file does not list (none, as the sources parse) leaves one to look up.
        if requests and not all(r[1] in sessions for r in requests):
            keys = [r[0] for r in requests]
            for i in range(0, len(keys), 500):
                chunk = keys[i : i + 500]
                c.execute(
                    "UPDATE sessions SET dirty=1 WHERE session_id IN (SELECT DISTINCT session_id FROM requests "
                    f"WHERE key IN ({','.join('?' * len(chunk))}) AND file=?)",
                    (*chunk, fid),
                )
        s = read.state
        c.execute(
            "INSERT INTO files(path, source, session_id, chain, dev, ino, size, mtime_ns, offset, partial, "
            "fingerprint, lines, malformed, first_ts, last_error, ctime_ns, parser_state, fid) "
            "VALUES (?,?,?,?,?,?,?,?,?,NULL,?,?,?,?,NULL,?,?,?) "
            "ON CONFLICT(path) DO UPDATE SET "
            "dev=excluded.dev, ino=excluded.ino, size=excluded.size, mtime_ns=excluded.mtime_ns, "
            "offset=excluded.offset, partial=NULL, fingerprint=excluded.fingerprint, "
            "lines=files.lines + excluded.lines, malformed=files.malformed + excluded.malformed, "
            "first_ts=coalesce(files.first_ts, excluded.first_ts), last_error=NULL, gone=0, ctime_ns=excluded.ctime_ns, "
            "parser_state=excluded.parser_state, fid=coalesce(files.fid, excluded.fid)",
            (spath, source, ctx.session_id, ctx.chain, s.dev, s.ino, s.size, s.mtime_ns, s.offset,
             s.fingerprint, parsed.lines, malformed, parsed.first_ts, s.ctime_ns, parsed.parser_state, fid),
        )  # fmt: skip
        result.files_read += 1
        result.bytes_read += read.bytes_read
        result.lines += parsed.lines
        result.malformed += malformed
        result.changed_sessions |= sessions
        return read.bytes_read

    def _record_error(self, spath: str, source: str, ctx: FileContext, exc: OSError) -> None:
        """Remember why a file could not be read (doctor shows it) without losing what was read before.

        The stat seen now is kept (ctime only, for a file read before), so an unchanged unreadable file is
        not retried on every run, while fixing its permissions (which changes its ctime) or replacing it
        makes the next run read it."""
        try:
            st = os.stat(spath)
            ident: tuple[int, ...] = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
        except OSError:
            ident = (0, 0, -1, 0, 0)
        self.conn.execute(
            "INSERT INTO files(path, source, session_id, chain, dev, ino, size, mtime_ns, ctime_ns, offset, "
            "last_error) VALUES (?,?,?,?,?,?,?,?,?,0,?) "
            "ON CONFLICT(path) DO UPDATE SET last_error=excluded.last_error, ctime_ns=excluded.ctime_ns",
            (spath, source, ctx.session_id, ctx.chain, *ident, str(exc)),
        )

    def _known_keys(self, keys: list[str]) -> list[str]:
        """Those of ``keys`` the requests table may hold: all of them, or in an update that began with none,
        the ones this update wrote (no lookup for the rest)."""
        written = self._written
        if written is None:
            return keys
        known = [k for k in keys if k in written]
        written.update(keys)
        if len(written) > WRITTEN_KEYS:
            self._written = None  # a huge first index: ask SQLite from here on rather than hold every key
        return known

    def _owners(self, keys: list[str]) -> set[str]:
        """Sessions that currently own any of ``keys`` (they change if a copy here wins)."""
        owners: set[str] = set()
        for i in range(0, len(keys), 500):
            chunk = keys[i : i + 500]
            owners.update(
                r[0]
                for r in self.conn.execute(
                    f"SELECT DISTINCT session_id FROM requests WHERE key IN ({','.join('?' * len(chunk))})",
                    chunk,
                )
            )
        return owners

    def _queue_rereads(self, pending: list[tuple[Path, str, os.stat_result]], n: int) -> None:
        """Append the files to read again from the start that are not already queued after ``n``."""
        if not self._reread:
            return
        queued = {str(p) for p, _, _ in pending[n:]}
        for again in sorted(self._reread - queued):
            row = self.conn.execute("SELECT source FROM files WHERE path=?", (again,)).fetchone()
            if row is None:
                continue
            try:
                pending.append((Path(again), row[0], os.stat(again)))
            except OSError:
                continue  # gone since: found vanished (and handled) by the next update

    def _vanished(self, known: dict[str, FileState], listed: set[str], roots: tuple[str, ...]) -> list[str]:
        """Known files that no longer exist: under ``roots`` but not listed, or listed (``only``) but missing.

        Files under other roots are left alone: a config dir not in effect today may simply be unmounted,
        and its files are checked the next time it is.
        """
        if roots:
            prefixes = tuple(r + os.sep for r in roots)
            candidates = [p for p in known if p not in listed and p.startswith(prefixes)]
        else:
            candidates = [p for p in known if p in listed]
        return [p for p in candidates if _missing(p)]

    def _drop_file(self, spath: str, result: UpdateResult, *, gone: bool) -> None:
        """``spath`` vanished (``gone``) or is about to be read again from the start (truncated, replaced).

        Its copies are forgotten and every request it held is archived; the other files holding any of them
        are read again, and the copy they still hold replaces the archived row, so owner and counts come out
        as a cold index of the files present would give them. A request no file holds any more stays
        archived, with its last owner.
        """
        c = self.conn
        row = c.execute("SELECT fid FROM files WHERE path=?", (spath,)).fetchone()
        fid = row[0] if row else None
        keys = [k for (k,) in c.execute("SELECT key FROM copies WHERE fid=?", (fid,))]
        c.execute("DELETE FROM copies WHERE fid=?", (fid,))
        if gone:
            c.execute(
                "UPDATE files SET gone=1, dev=0, ino=0, size=-1, mtime_ns=0, offset=0, partial=NULL, "
                "parser_state=NULL, fingerprint=NULL, lines=0, malformed=0, first_ts=NULL, last_error=NULL WHERE path=?",
                (spath,),
            )
        holders: set[str] = set()
        for i in range(0, len(keys), 500):
            chunk = keys[i : i + 500]
            marks = ",".join("?" * len(chunk))
            holders.update(
                r[0]
                for r in c.execute(
                    f"SELECT DISTINCT f.path FROM copies c JOIN files f ON f.fid = c.fid WHERE c.key IN ({marks})",
                    chunk,
                )
            )
        # A holder that vanished too is dropped first, or what only the two of them held would be lost.
        for holder in sorted(holders):
            held = c.execute(
                "SELECT 1 FROM copies WHERE fid=(SELECT fid FROM files WHERE path=?) LIMIT 1", (holder,)
            ).fetchone()
            if _missing(holder) and held:
                self._drop_file(holder, result, gone=True)
        holders = {h for h in holders if not _missing(h)}
        for i in range(0, len(keys), 500):
            chunk = keys[i : i + 500]
            marks = ",".join("?" * len(chunk))
            for (owner,) in c.execute(
                f"SELECT DISTINCT session_id FROM requests WHERE key IN ({marks})", chunk
            ):
                c.execute("UPDATE sessions SET dirty=1 WHERE session_id=?", (owner,))
                result.changed_sessions.add(owner)
            # Archived, not deleted, even where another file holds a copy: re-reading that file (below)
            # replaces the row with its copy, as a cold index would have it; if that file has lost it too
            # (replaced in the same update), the request stays in the history instead of vanishing.
            c.execute(f"UPDATE requests SET archived=1 WHERE key IN ({marks})", chunk)
        for holder in holders:
            self._read_again(holder)
        for (sid,) in c.execute("SELECT session_id FROM session_files WHERE path=?", (spath,)).fetchall():
            c.execute("UPDATE sessions SET dirty=1 WHERE session_id=?", (sid,))
            result.changed_sessions.add(sid)

    def _read_again(self, path: str) -> None:
        """Read ``path`` from the start in this update (its rows stay: reading them again changes nothing)."""
        self.conn.execute(
            "UPDATE files SET dev=0, ino=0, size=-1, offset=0, partial=NULL, parser_state=NULL, fingerprint=NULL, "
            "lines=0, "
            "malformed=0, first_ts=NULL WHERE path=?",
            (path,),
        )
        self._reread.add(path)

    # ---------------------------------------------------------------- session stats

    def requests_since(self, since: float) -> list[Req]:
        """Every request of every session from ``since`` on, in time order (the plan-limit blocks)."""
        return self._load_requests(None, since=since)

    def _load_requests(
        self,
        session_id: str | None,
        present_only: bool = False,
        since: float | None = None,
        keys: list[str] | None = None,
    ) -> list[Req]:
        rows = self._rows(session_id, present_only, since, with_key=keys is not None)
        if keys is not None:
            keys.extend(r[-1] for r in rows)
        return [metrics.req_of(r) for r in rows]

    def _rows(
        self,
        session_id: str | None,
        present_only: bool = False,
        since: float | None = None,
        *,
        with_key: bool = False,
    ) -> list[tuple]:
        """See ``_session_rows``."""
        return _session_rows(self.conn, session_id, present_only, since, with_key=with_key)

    def keyed_requests(self, session_id: str) -> tuple[list[str], list[Req]]:
        """A session's requests in the order its stats are computed in, with their keys (the OTLP export)."""
        keys: list[str] = []
        return keys, self._load_requests(session_id, keys=keys)

    def compactions(self, session_id: str) -> list[Compaction]:
        """The main chain's compact boundaries of a session, in time order."""
        return _main_compactions(self.conn, session_id)

    def _compute(self, session_id: str, keep_turns: bool = False, present_only: bool = False) -> SessionStats:
        stats = metrics.compute_rows(
            session_id,
            self._rows(session_id, present_only),
            _main_compactions(self.conn, session_id, present_only),
            self.prices,
            keep_turns=keep_turns,
        )
        return self._described(stats, present_only)

    def _described(self, stats: SessionStats, present_only: bool = False) -> SessionStats:
        """``stats`` with what the sessions table says of the session (source, cwd, branch, what is gone)."""
        row = self.conn.execute(
            "SELECT source, cwd, git_branch, version, project_dir, archived, deleted FROM sessions "
            "WHERE session_id=?",
            (stats.session_id,),
        ).fetchone()
        if row:
            # Before sources were recorded, ctxtop read only the first registered one (Claude Code).
            stats.source = row[0] or KINDS[0].name
            src = self._kind(stats.source)
            stats.cwd = row[1] or (src.project_cwd(row[4]) if row[4] and src is not None else None)
            stats.git_branch = row[2]
            stats.version = row[3]
            if not present_only:
                stats.archived_requests, stats.transcript_deleted = row[5] or 0, bool(row[6])
        return stats

    def _refresh(self, session_ids: Iterable[str], pool: ProcessPoolExecutor | None = None) -> None:
        """The stats of the dirty and changed sessions, computed and stored. With ``pool`` (a cold index's
        workers, idle by now, once ``_committed_for_workers``), a share of them is computed there
        (``_stats_of``); this process computes the rest and stores all."""
        dirty = {r[0] for r in self.conn.execute("SELECT session_id FROM sessions WHERE dirty=1")}
        todo = sorted(dirty | set(session_ids))
        for sid in todo:
            # What Claude Code deleted of this session: archived requests; no main transcript left.
            archived = self.conn.execute(
                "SELECT count(*) FROM requests WHERE session_id=? AND archived=1", (sid,)
            ).fetchone()[0]
            deleted = (
                self.conn.execute(
                    "SELECT 1 FROM session_files s JOIN files f ON f.path=s.path "
                    "WHERE s.session_id=? AND f.gone=0 AND f.chain='main' LIMIT 1",
                    (sid,),
                ).fetchone()
                is None
            )
            self.conn.execute(
                "UPDATE sessions SET archived=?, deleted=? WHERE session_id=?", (archived, int(deleted), sid)
            )
        if pool is None or len(todo) < PARALLEL_STATS_MIN:
            for sid in todo:
                self._store_stats(self._compute(sid))
            return
        # Sessions in chunks: the workers get the first ones, two chunks at a time (they read the rows this
        # update committed), while this process computes chunks from the end; each result is stored as it
        # comes.
        from collections import deque

        chunks = deque(todo[i : i + STATS_CHUNK] for i in range(0, len(todo), STATS_CHUNK))
        flight: deque[tuple[list[str], Future]] = deque()
        book = self.prices.detached()
        executor: ProcessPoolExecutor | None = pool

        def hand_over() -> None:
            nonlocal executor
            while executor is not None and len(flight) < 2 and len(chunks) > 1:
                chunk = chunks.popleft()
                try:
                    flight.append((chunk, executor.submit(_stats_of, str(self.path), book, chunk)))
                except Exception:  # noqa: BLE001 - the pool broke: the rest is computed here
                    chunks.appendleft(chunk)
                    executor = None

        def take(wait: bool) -> None:
            while flight and (wait or flight[0][1].done()):
                chunk, future = flight.popleft()
                try:
                    done, resolved = future.result()
                    self.prices.remember(resolved)  # persisted as if resolved here
                    computed = [self._described(stats) for stats in done]
                    self.stats_in_workers += len(computed)
                except Exception:  # noqa: BLE001 - a worker failed: compute these here
                    computed = [self._compute(sid) for sid in chunk]
                for stats in computed:
                    self._store_stats(stats)
                hand_over()

        hand_over()
        while chunks:
            for sid in chunks.pop():
                self._store_stats(self._compute(sid))
                take(wait=False)
        take(wait=True)

    def _store_stats(self, stats: SessionStats) -> None:
        self.conn.execute(
            "UPDATE sessions SET stats=?, last_ts=?, dirty=0 WHERE session_id=?",
            (json.dumps(metrics.to_json(stats), separators=(",", ":")), stats.last_ts, stats.session_id),
        )

    def scope_sql(self, column: str = "session_id") -> tuple[str, list[object]]:
        """SQL restricting sessions to those with a file (present or gone) under a root of ``self.scope``."""
        from ctxtop.report_fast import scope_sql

        return scope_sql(self.scope, column)

    def sessions(
        self,
        since: float | None = None,
        until: float | None = None,
        project: str | None = None,
        ids: Iterable[str] | None = None,
        *,
        present_only: bool = False,
        with_deleted: bool = True,
    ) -> list[SessionStats]:
        """Cached stats of the sessions in scope with activity in [since, until), newest activity first.

        ``present_only`` leaves out archived requests (whose transcripts are gone), as a cold index of the
        files present would; ``with_deleted=False`` leaves out the sessions whose main transcript is gone.
        """
        sql = "SELECT stats, archived, deleted FROM sessions WHERE stats IS NOT NULL AND last_ts IS NOT NULL"
        args: list[object] = []
        if since is not None:
            # sessions.last_ts is the cached stats' last_ts: old sessions are skipped before decoding them.
            sql += " AND last_ts >= ?"
            args.append(since)
        if ids is not None:
            wanted = list(ids)
            sql += f" AND session_id IN ({','.join('?' * len(wanted))})"
            args.extend(wanted)
        if not with_deleted:
            sql += " AND deleted=0"
        scope, scope_args = self.scope_sql()
        # session_id breaks ties: the order is the same whichever query lists the sessions (index_rows).
        sql += scope + " ORDER BY last_ts DESC, session_id"
        out: list[SessionStats] = []
        for blob, archived, deleted in self.conn.execute(sql, args + scope_args).fetchall():
            stats = metrics.from_json(_stats_json(blob))
            if present_only and archived:
                if archived >= stats.requests:
                    continue
                # Few sessions are partly archived: their present part is computed, not cached.
                stats = self._compute(stats.session_id, present_only=True)
                stats.transcript_deleted = bool(deleted)
            else:
                stats.archived_requests, stats.transcript_deleted = archived or 0, bool(deleted)
            if until is not None and (stats.first_ts or 0) >= until:
                continue
            if project and project.lower() not in (stats.cwd or "").lower():
                continue
            out.append(stats)
        return out

    def session(self, session_id: str) -> SessionStats | None:
        """Full stats of one session, with the per-turn series (computed fresh, not cached)."""
        if self.conn.execute("SELECT 1 FROM sessions WHERE session_id=?", (session_id,)).fetchone() is None:
            return None
        return self._compute(session_id, keep_turns=True)

    def session_files(self, session_id: str) -> list[str]:
        return [
            r[0]
            for r in self.conn.execute(
                "SELECT path FROM files WHERE session_id=? AND gone=0 ORDER BY path", (session_id,)
            )
        ]

    def requests(self, session_id: str) -> list[Req]:
        """The session's deduplicated requests (every chain), in time order: what its stats are computed from."""
        return self._load_requests(session_id)

    def compaction_times(self, session_id: str) -> dict[str, list[float]]:
        """Per chain, when the session compacted (its compact boundaries), in time order."""
        out: dict[str, list[float]] = {}
        for chain, ts in self.conn.execute(
            "SELECT chain, ts FROM compacts WHERE session_id=? ORDER BY ts", (session_id,)
        ):
            out.setdefault(chain, []).append(ts)
        return out

    def tool_outputs(self, session_id: str, limit: int = 10) -> list[ToolOutput]:
        """Largest tool results of a session, read from its files on demand (newest state, nothing cached)."""
        uses: dict[str, ToolUse] = {}
        results: dict[str, ToolResult] = {}
        for use, res, _chain in self.tool_results(session_id):
            if use is not None:
                uses[use.tool_use_id] = use
            prev = results.get(res.tool_use_id)
            if prev is None or res.chars > prev.chars:
                results[res.tool_use_id] = res
        from ctxtop.core.filters.tokens import count_tokens

        out = []
        # Characters pick the candidates (tokenising everything would be slow), tokens decide the order.
        for res in sorted(results.values(), key=lambda r: -r.chars)[: limit * 3]:
            use = uses.get(res.tool_use_id)
            # Transcripts carry no usage for tool results: count what the model received with tiktoken.
            tool, command = (use.name, use.command) if use else ("?", "")
            out.append(ToolOutput(tool, command, res.chars, res.is_error, res.ts, count_tokens(res.text)))
        out.sort(key=lambda t: -(t.tokens if t.tokens is not None else t.chars // 4))
        return out[:limit]

    def tool_results(self, session_id: str) -> Iterator[tuple[ToolUse | None, ToolResult, str]]:
        """Every tool result of a session's transcripts with the call it answers and its chain, read on demand.

        Tool results are the bulk of a history's bytes and are never indexed: this reads the session's files
        with each file's source parser (Claude Code's: ``parse_claude``), as the tool wrote them. A result may appear
        more than once (a retried write): callers keep one per ``tool_use_id``.
        """
        uses: dict[str, ToolUse] = {}
        from ctxtop.adapters.jsonl import decode_line

        for path, source in self.conn.execute(
            "SELECT path, source FROM files WHERE session_id=? AND gone=0 ORDER BY path", (session_id,)
        ).fetchall():
            src = self._kind(source)
            if src is None or not src.tool_markers:
                continue  # a source that records no tool outputs
            markers = src.tool_markers
            ctx = src.context_for(Path(path))
            parser = src.parser(ctx, None)
            try:
                with open(open_regular(path), "rb") as fh:  # never a FIFO planted under the name
                    for n, raw in enumerate(fh):
                        if not any(m in raw for m in markers):
                            continue
                        try:
                            obj = decode_line(raw)
                        except ValueError:
                            continue
                        if not isinstance(obj, dict):
                            continue
                        for fact in parser.parse(obj, f"{path}:{n}"):
                            if isinstance(fact, ToolUse):
                                uses[fact.tool_use_id] = fact
                            elif isinstance(fact, ToolResult):
                                yield uses.get(fact.tool_use_id), fact, ctx.chain
            except OSError:
                continue

    def subagents(self, session_id: str) -> list[tuple[str, int, int]]:
        """(chain, requests, billed tokens) of every non-main chain of a session."""
        return list(
            self.conn.execute(
                "SELECT chain, count(*), sum(bi+bo+bcr+bw5+bw1) FROM requests WHERE session_id=? AND chain<>'main' "
                "GROUP BY chain ORDER BY 3 DESC",
                (session_id,),
            )
        )

    def files(self, *, with_gone: bool = False) -> list[FileInfo]:
        """The files indexed under the roots in scope (``with_gone``: also those that vanished since)."""
        prefixes = tuple(r.rstrip(os.sep) + os.sep for r in self.scope) if self.scope is not None else None
        return [
            FileInfo(path, source, sid, size, offset, lines, malformed, error, bool(gone))
            for path, source, sid, size, offset, lines, malformed, error, gone in self.conn.execute(
                "SELECT path, source, session_id, size, offset, lines, malformed, last_error, gone FROM files "
                f"{'' if with_gone else 'WHERE gone=0 '}ORDER BY path"
            )
            if prefixes is None or path.startswith(prefixes)
        ]

    def archived(self) -> tuple[int, int]:
        """(sessions whose main transcript is gone, archived requests) in scope."""
        scope, args = self.scope_sql()
        sessions, requests = self.conn.execute(
            "SELECT coalesce(sum(deleted AND last_ts IS NOT NULL), 0), coalesce(sum(archived), 0) FROM sessions "
            f"WHERE 1{scope}",
            args,
        ).fetchone()
        return int(sessions), int(requests)

    def transcript_path(self, session_id: str, source: str | None = None) -> str | None:
        """The session's main log file on disk (ctxtop's one session -> file lookup), or None; ``source``:
        only a log of that source (``Source.name``)."""
        row = self.conn.execute(
            "SELECT path FROM files WHERE session_id=? AND chain='main' AND gone=0 AND (? IS NULL OR source=?) "
            "ORDER BY path LIMIT 1",
            (session_id, source, source),
        ).fetchone()
        return row[0] if row else None

    def match_sessions(self, short: str) -> list[str]:
        """Session ids of the index that ``short`` names (``core.session_ids.resolve``: a prefix, or the tail
        of a time-ordered id); an exact id wins over longer ones."""
        tail = "%" + short.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        rows = [r[0] for r in self.conn.execute(
            "SELECT session_id FROM sessions WHERE (session_id >= ? AND session_id < ?) "
            "OR session_id LIKE ? ESCAPE '\\'",
            (short, short + "\U0010ffff", tail),
        )]  # fmt: skip
        return session_ids.resolve(rows, short)


def _stats_json(text: str) -> Any:
    """A session's cached stats as ``json.loads`` reads them, by orjson (3-4x faster over a big history)
    where it accepts the text: ``json.dumps`` wrote it, so only a NaN or a lone surrogate escape, which orjson
    refuses, goes to the standard library."""
    import orjson  # loaded by the reports already; the statusline's few sessions pay it only here

    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def _schema_version(conn: sqlite3.Connection) -> int | None:
    try:
        row = conn.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
        return int(row[0]) if row else None
    except (sqlite3.Error, ValueError):
        return None


def _migrate_from_5(conn: sqlite3.Connection) -> None:
    """Schema 5 to 6 in place: a schema-5 index may hold requests whose transcripts are gone (it never
    dropped anything), and those are now history that must survive the upgrade."""
    for table, column in (("files", "gone"), ("requests", "archived"), ("sessions", "archived"),
                          ("sessions", "deleted")):  # fmt: skip
        conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} INTEGER DEFAULT 0")


def _migrate_from_6(conn: sqlite3.Connection) -> None:
    """Schema 6 to 7 in place: ctime joins a file's identity (a rewrite that keeps size and mtime). Until a
    file is read again its ctime is unknown (0), and the tailer then goes by size and mtime as before."""
    if "ctime_ns" not in {row[1] for row in conn.execute("PRAGMA table_info(files)")}:
        conn.execute("ALTER TABLE files ADD COLUMN ctime_ns INTEGER")


def _migrate_from_8(conn: sqlite3.Connection) -> None:
    """Schema 8 to 9 (and older, after their own steps) in place: a source's parser may leave a state for the next read of a file (none did
    before, so NULL is right for every file)."""
    if "parser_state" not in {row[1] for row in conn.execute("PRAGMA table_info(files)")}:
        conn.execute("ALTER TABLE files ADD COLUMN parser_state TEXT")


def _migrate_from_9(conn: sqlite3.Connection) -> None:
    """Schema 9 to 10 in place: a request's reasoning output tokens (Codex logs them; nothing indexed before
    did, so 0 is right for every request)."""
    if "ro" not in {row[1] for row in conn.execute("PRAGMA table_info(requests)")}:
        conn.execute("ALTER TABLE requests ADD COLUMN ro INTEGER DEFAULT 0")


def _migrate_from_10(conn: sqlite3.Connection) -> None:
    """Schema 10 to 11 in place (and older, after their own steps): a file has a number (``files.fid``), and
    ``copies`` names files by it, not by path (the path in every copy and in its index was a third of a cold
    index's bytes). The old copies are set aside here and converted once the new table exists
    (``_copies_by_file_id``)."""
    if "fid" not in {row[1] for row in conn.execute("PRAGMA table_info(files)")}:
        conn.execute("ALTER TABLE files ADD COLUMN fid INTEGER")
    _number_files(conn)
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    if "copies" in tables and "file" in {row[1] for row in conn.execute("PRAGMA table_info(copies)")}:
        conn.execute("DROP INDEX IF EXISTS copies_file")
        conn.execute("ALTER TABLE copies RENAME TO copies_by_path")


def _migrate_from_12(conn: sqlite3.Connection) -> None:
    """Schema 12 to 13 in place (and older, after their own steps, which number the files): ``requests.file``,
    the file of a request's largest copy, is that file's number, not its path (a path in every request)."""
    conn.execute(
        "UPDATE requests SET file = (SELECT fid FROM files WHERE files.path = requests.file) "
        "WHERE file IN (SELECT path FROM files)"
    )


def _number_files(conn: sqlite3.Connection) -> None:
    """A number for every file without one, above every number given (``fid`` is unique)."""
    conn.execute("UPDATE files SET fid = (SELECT coalesce(max(fid), 0) FROM files) + rowid WHERE fid IS NULL")


def _adopt_older_writes(conn: sqlite3.Connection) -> None:
    """What an older ctxtop still running wrote since this index was upgraded (it checks the schema only when
    it opens the index): files without a number, copies and requests naming their file by path (text, which
    sorts after every number: one index seek each when there are none). Numbered and converted in the caller's write
    transaction, before anything asks which files hold a request."""
    if conn.execute("SELECT 1 FROM files WHERE fid IS NULL LIMIT 1").fetchone() is not None:
        _number_files(conn)
    if conn.execute("SELECT 1 FROM copies WHERE fid >= '' LIMIT 1").fetchone() is not None:
        conn.execute(
            "INSERT OR IGNORE INTO copies SELECT c.key, f.fid FROM copies c JOIN files f ON f.path = c.fid "
            "WHERE c.fid >= ''"
        )
        conn.execute("DELETE FROM copies WHERE fid >= ''")
    # Its requests' largest-copy file by path (schema 12 and before; the column's text affinity keeps a
    # number as its digits): an index of such rows only (requests_file_path), empty here.
    if conn.execute("SELECT 1 FROM requests WHERE file GLOB '*[^0-9]*' LIMIT 1").fetchone() is not None:
        _migrate_from_12(conn)


def _copies_by_file_id(conn: sqlite3.Connection) -> None:
    """The copies set aside by ``_migrate_from_10``, by file number. A file every copy names has a row (a
    copy is recorded by the read that writes the file's row); one that had none would get one, to be read
    again, rather than lose what it holds."""
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    if "copies_by_path" not in tables:
        return
    conn.execute(
        "INSERT OR IGNORE INTO files(path, dev, ino, size, offset) "
        "SELECT DISTINCT file, 0, 0, -1, 0 FROM copies_by_path WHERE file NOT IN (SELECT path FROM files)"
    )
    _number_files(conn)
    conn.execute(
        "INSERT OR IGNORE INTO copies SELECT c.key, f.fid FROM copies_by_path c JOIN files f ON f.path = c.file"
    )
    conn.execute("DROP TABLE copies_by_path")


def _record_known_copies(conn: sqlite3.Connection) -> None:
    """After the schema-5 upgrade: the copies schema 5 knew (owner and largest), then every file once more
    from the start, which records all the others; a file found gone then archives what only it held."""
    conn.execute(
        "INSERT OR IGNORE INTO copies SELECT r.key, f.fid FROM requests r JOIN files f ON f.fid = r.file "
        "WHERE r.file IS NOT NULL"
    )
    conn.execute(
        "INSERT OR IGNORE INTO copies SELECT r.key, f.fid FROM requests r "
        "JOIN files f ON f.path = substr(r.rank, instr(r.rank, '|') + 1) WHERE r.rank LIKE '%|%'"
    )
    conn.execute("INSERT OR IGNORE INTO session_files SELECT session_id, path FROM files")
    conn.execute(
        "UPDATE files SET dev=0, ino=0, size=-1, mtime_ns=0, offset=0, partial=NULL, fingerprint=NULL, "
        "lines=0, malformed=0, first_ts=NULL"
    )
    conn.execute("UPDATE sessions SET dirty=1")


class _PriceCache(MutableMapping):
    """Resolved genai-prices entries persisted in the index, keyed to the installed genai-prices build."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.data: dict[str, object] | None = None
        self.unwritable = False
        """The index was found locked by another writer: new entries stay in memory until the next update
        that takes the lock (``Index.update`` clears it)."""
        stamp = _genai_stamp()
        row = self.conn.execute("SELECT value FROM meta WHERE key='genai_prices'").fetchone()
        self.pending: str | None = None if row is not None and row[0] == stamp else stamp
        """New price data not applied to the index yet: another ctxtop held the write lock (``Index.update``
        applies it once it takes the lock)."""
        if self.pending is not None and not _write_now(self.conn, self.apply_pending):
            self.data = {}  # the entries kept are another genai-prices build's: none of them applies
            self.unwritable = True

    def apply_pending(self) -> None:
        """In the caller's write transaction: forget the other price data's entries and mark every session
        to be priced again."""
        if self.pending is None:
            return
        self.conn.execute("DELETE FROM prices")
        self.conn.execute("INSERT OR REPLACE INTO meta VALUES ('genai_prices', ?)", (self.pending,))
        # New price data: every cached session cost is re-computed on the next update.
        self.conn.execute("UPDATE sessions SET dirty=1")
        self.pending = None

    def _load(self) -> dict[str, object]:
        if self.data is None:
            self.data = {k: json.loads(v) for k, v in self.conn.execute("SELECT key, value FROM prices")}
        return self.data

    def __getitem__(self, key: str) -> object:
        return self._load()[key]

    def __contains__(self, key: object) -> bool:
        return key in self._load()

    def __setitem__(self, key: str, value: object) -> None:
        self._load()[key] = value
        self._write("INSERT OR REPLACE INTO prices VALUES (?, ?)", (key, json.dumps(value)))

    def __delitem__(self, key: str) -> None:
        del self._load()[key]
        self._write("DELETE FROM prices WHERE key=?", (key,))

    def _write(self, sql: str, params: tuple[str, ...]) -> None:
        """Persist one entry when the index can be written now. The entry is a cache of genai-prices: while
        another ctxtop holds the write lock past the busy timeout (a TUI or ``export --watch`` indexing beside
        a report), this run keeps it in memory and a later run stores it, rather than failing the report."""
        if self.unwritable:
            return
        try:
            self.conn.execute(sql, params)
        except sqlite3.OperationalError as exc:
            if not _busy(exc):
                raise
            self.unwritable = True  # one wait for the lock, not one per entry

    def __iter__(self) -> Iterator[str]:
        return iter(self._load())

    def __len__(self) -> int:
        return len(self._load())


def _genai_stamp() -> str:
    """Identifies the installed genai-prices snapshot without importing it (that takes ~150 ms)."""
    import importlib.util

    spec = importlib.util.find_spec("genai_prices")
    if spec is None or not spec.origin:
        return "missing"
    data = Path(spec.origin).with_name("data.py")
    try:
        st = data.stat()
    except OSError:
        return spec.origin
    return f"{data}:{st.st_size}:{st.st_mtime_ns}"
