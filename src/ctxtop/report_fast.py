"""The fast path of ``ctxtop report sessions|daily|weekly|monthly|projects|models [--json|--csv]``: the output
the last full run kept, printed again when the index proves nothing changed.

``python -m ctxtop`` and ``ctxtop.cli`` come here before anything else of ctxtop is imported. This module uses
``os``, ``sys``, ``time``, ``_sqlite3`` (the C half of ``sqlite3``) and ``ctxtop.statusline_fast``'s JSON and
data-dir helpers: no argparse, pathlib, dataclasses, config, metrics or pricing. It answers only when all of
this holds, else it returns None and the full command runs (and keeps what this path checks, for the next run):

- the command line is one of those reports with no filter and at most ``--claude-dir``, ``--api-logs``,
  ``--codex-dir`` and ``--data-dir``/``--cache-dir``; the record the last full run left in the index was made
  with the same options, working directory, environment (``ENV_PREFIXES``), time zone, ``config.toml``,
  genai-prices data and ctxtop code and data files (``record_key``);
- the index has nothing to do: the last walk of these roots kept every directory it reached and each is
  unchanged (``adapters.tree``), and every known file under them has the identity, size, mtime and ctime it
  was indexed at (what ``Index.update`` checks before doing nothing);
- the report's output is kept (``output_key``, ``output_file``; only when no session waited for its stats)
  and nothing that lists or renders a session changed in the index since (triggers on the ``WATCHED`` tables
  drop every kept output at the first change), and the row inputs of the sessions it shows (``row_inputs``:
  settings files, observation file) and stdout's encoding are as that run found them.

The work that grows with the history is then a stat per directory and per known file and writing the output:
no session row is fetched, decoded, checked or joined one by one.
"""

from __future__ import annotations

import os
import sys
import time

from ctxtop.statusline_fast import ENV_PREFIXES as _STATUSLINE_ENV
from ctxtop.statusline_fast import data_dir, dumps, loads

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: importing typing costs ~5 ms
if TYPE_CHECKING:
    import sqlite3
    from typing import Any

RECORD = "report_fast"
"""The meta key of the full run's record."""
ENV_PREFIXES = (*_STATUSLINE_ENV, "CODEX_", "TZ")
"""The environment a record is valid for: what configures compaction, the window and where ctxtop and the
tools keep their files (the statusline's prefixes), Codex's home, the time zone."""
RACY_NS = 2_000_000_000
"""A file modified less than this long ago (ns) may be rewritten unseen within one mtime tick: a key made
from its stamp then matches no later run (``racy``)."""
OUTPUT = "report_output"
"""The prefix of the meta keys (``output_key``) saying which output the last full run of a report printed (the
stamp of its file, ``output_file``), for which roots, and what it is checked by (``output_checks``)."""
REPORTS = ("sessions", "daily", "weekly", "monthly", "projects", "models")
"""The reports kept so, each as text, CSV or JSON (``output_name``)."""
SESSIONS_JSON = "sessions.json"
"""``output_name`` of ``report sessions --json`` (whose rows ``Monitor.session_rows`` splices)."""
WATCHED = ("sessions", "session_files", "files")
"""The index tables an output is rendered from (the sessions' stats, flags and order; which files, so which
scope and config dir, are a session's): any row written in one of them drops every kept output."""
TRIGGERS = {
    f"{OUTPUT}_{table}_{op.lower()}": (
        table,
        f"CREATE TRIGGER {OUTPUT}_{table}_{op.lower()} AFTER {op} ON {table} "
        f"BEGIN DELETE FROM meta WHERE key GLOB '{OUTPUT}:*'; END",
    )
    for table in WATCHED
    for op in ("INSERT", "UPDATE", "DELETE")
}
"""name: (table, SQL) of the triggers that drop them. An output is served only while all of them are there as
written (a migration that rebuilt a table drops its triggers with it). ``meta`` is the index's first table:
a trigger that deleted from a table of its own would fail every write once that table was gone."""
OPTIONS = {"--claude-dir": "claude_dirs", "--api-logs": "api_logs", "--codex-dir": "codex_dirs",
           "--data-dir": "data_dir", "--cache-dir": "data_dir"}  # fmt: skip


def parse_args(argv: list[str]) -> tuple[str, dict[str, Any]] | None:
    """The report and format (``output_name``) and the options of ``report REPORT [--json|--csv]
    [OPTIONS]`` (``argv`` after ``report``); None: anything else, for argparse to handle."""
    if not argv or argv[0] not in REPORTS:
        return None
    fmt = "table"
    out: dict[str, Any] = {"claude_dirs": [], "api_logs": None, "codex_dirs": [], "data_dir": None}
    rest = argv[1:]
    while rest:
        arg = rest.pop(0)
        if arg in ("--json", "--csv"):
            if fmt != "table":
                return None  # both, or one twice
            fmt = arg[2:]
            continue
        name, eq, value = arg.partition("=")
        if name not in OPTIONS:
            return None
        if not eq:
            if not rest:
                return None
            value = rest.pop(0)
        if not value or value.startswith("-"):
            return None
        key = OPTIONS[name]
        if isinstance(out[key], list):
            out[key].append(value)
        else:
            out[key] = value
    return output_name(argv[0], fmt), out


def output_name(report: str, fmt: str) -> str:
    """``sessions.json``, ``daily.table``...: a report (``REPORTS``) in a format (``json``, ``csv``, ``table``)."""
    return f"{report}.{fmt}"


def output_key(name: str) -> str:
    """The meta key of report ``name``'s kept output."""
    return f"{OUTPUT}:{name}"


def output_file(index_path: str, name: str) -> str:
    """Where report ``name``'s kept output is, beside the index: a file is read in one call where SQLite
    reads a blob page by page (at 1 GB of history, 3 MB: 0.5 ms instead of 6 ms)."""
    return os.path.join(os.path.dirname(index_path), f"report-{name}")


def stdout_encoding() -> str:
    """How text reaches this process's stdout: a kept text output is printed again only as it was encoded."""
    return f"{sys.stdout.encoding}/{sys.stdout.errors}"


def options_of(claude_dirs: Any, api_logs: Any, codex_dirs: Any, data_dir: Any) -> dict[str, Any]:
    """The options as ``parse_args`` gives them, from the full command's parsed arguments."""
    return {"claude_dirs": list(claude_dirs or []), "api_logs": api_logs or None,
            "codex_dirs": list(codex_dirs or []), "data_dir": data_dir or None}  # fmt: skip


def stamp(path: str) -> list[int] | None:
    """(device, inode, size, mtime, ctime) of ``path``, or None when it cannot be stat'ed."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return [st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns]


def racy(stamps: list[list[int] | None], now: int | None = None) -> bool:
    now = time.time_ns() if now is None else now
    return any(s is not None and now - s[3] < RACY_NS for s in stamps)


_CODE: list[object] | None = None


def code_stamp() -> list[object]:
    """ctxtop's own code and data (an edited checkout must not serve what its old code rendered): every file's
    size and mtime, the TUI's aside. Taken once per process: the code that renders is the code it loaded."""
    global _CODE
    if _CODE is None:
        _CODE = _code_stamp()
    return _CODE


def _code_stamp() -> list[object]:
    import ctxtop

    package = os.path.dirname(ctxtop.__file__)
    code: list[object] = [ctxtop.__version__]
    folders = [package]
    while folders:
        folder = folders.pop()
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError:
            continue
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False):
                    if entry.name not in ("ui", "__pycache__"):
                        folders.append(entry.path)
                    continue
                st = entry.stat()
            except OSError:
                continue
            code.append([folder[len(package) :], entry.name, st.st_size, st.st_mtime_ns])
    return code


def digest(text: str) -> str:
    try:
        from _blake2 import blake2b  # what hashlib.blake2b is, without loading OpenSSL (~3 ms)
    except ImportError:  # pragma: no cover - a Python built without it
        from hashlib import blake2b
    return blake2b(text.encode(), digest_size=20).hexdigest()


def genai_stamp(path: str | None) -> str | None:
    """``index._genai_stamp()`` for the genai-prices data file at ``path``."""
    if not path:
        return None
    try:
        st = os.stat(path)
    except OSError:
        return None
    return f"{path}:{st.st_size}:{st.st_mtime_ns}"


def record_key(options: dict[str, Any], config_file: str, genai: str | None) -> str:
    """What a record is valid for (see the module's docstring), as text: compared whole, not hashed (a few
    KB; loading a hash costs more than comparing them)."""
    env = sorted((k, v) for k, v in os.environ.items() if k.startswith(ENV_PREFIXES))
    config = stamp(config_file)
    return dumps([options, os.getcwd(), env, zone(), config, racy([config]), genai, code_stamp()])


def zone() -> list[object]:
    """The local time zone, as far as it decides a timestamp's local day: its names and offsets are not enough
    (Europe/Athens and Africa/Cairo share both, not their summer time), so also the ``TZ`` variable and the
    zone file ``/etc/localtime`` names, with its size and mtime (a copy rather than a link, as in many
    containers; a tzdata update). The index keys its daily buckets on this too."""
    local = os.path.realpath("/etc/localtime")
    found = stamp(local)
    return [list(time.tzname), time.timezone, time.altzone, os.environ.get("TZ"), local,
            found[2:4] if found else None]  # fmt: skip


def settings_key(files: list[str]) -> str:
    """The settings files a row's compaction figures were read from, as they are now."""
    stamps = [stamp(f) for f in files]
    return repr(stamps) + (f" racy {time.time_ns()}" if racy(stamps) else "")


def observed_names(observed_dir: str) -> set[str]:
    """The observation files there are (one listing, not a stat per session)."""
    try:
        return set(os.listdir(observed_dir))
    except OSError:
        return set()


def observed_key(observed_dir: str, session_id: str, names: set[str]) -> str:
    """What Claude Code last reported to its statusline for the session (its observation file, as it is);
    ``names``: ``observed_names(observed_dir)``."""
    name = f"{session_id}.json"
    found = stamp(os.path.join(observed_dir, name)) if name in names else None
    return repr(found) + (f" racy {time.time_ns()}" if racy([found]) else "")


def row_inputs(common: str, config_dir: str, settings: str, observed: str, extra: list[str]) -> str:
    """Everything a session's row is rendered from besides its stats: the run's common inputs, the settings
    files that apply to it, Claude Code's report, and (``extra``) a source's own files when it decides its
    window itself."""
    return "\0".join([common, config_dir, settings, observed, *extra])


def output_checks(
    rows: list[tuple[str, str | None, str]], settings_files: dict[str, list[str]]
) -> dict[str, Any] | None:
    """What ``serve`` checks before it prints a kept output, from the (id, cwd, ``row_inputs``) of the
    sessions it shows with inputs of their own (none for totals) and the settings files the settings reader
    named for each config dir and cwd: the common inputs, each (config dir, cwd)'s settings files and key,
    the observation keys there were, the sessions, how text was encoded. None when no output may be kept: a
    session whose inputs this path cannot work out (a source's own files), or rows of more than one run's
    common inputs."""
    commons: set[str] = set()
    wheres: dict[str, list[Any]] = {}
    observed: dict[str, str] = {}
    for sid, cwd, inputs in rows:
        common, config_dir, settings, seen, *extra = inputs.split("\0")
        if extra:
            return None
        commons.add(common)
        where = f"{config_dir}\0{cwd or ''}"
        if wheres.setdefault(where, [settings_files[where], settings])[1] != settings:
            return None
        if seen != "None":
            observed[sid] = seen
    if len(commons) > 1:
        return None
    return {"common": next(iter(commons), None), "wheres": wheres, "observed": observed,
            "sessions": [sid for sid, _cwd, _inputs in rows], "encoding": stdout_encoding()}  # fmt: skip


def joined(rows: list[bytes]) -> bytes:
    """The report's JSON list of rendered rows (``report sessions --json``'s output)."""
    return b"[\n" + b",\n".join(rows) + b"\n]\n" if rows else b"[]\n"


def scope_sql(
    roots: tuple[str, ...] | None, column: str = "session_id", *, exists: bool = False
) -> tuple[str, list[object]]:
    """SQL restricting sessions to those with a file (present or gone) under one of ``roots`` (None: all).
    ``exists``: as a lookup per session (``column`` qualified by its table), where most sessions of the
    index are listed; else one subquery listing the sessions in scope."""
    if roots is None:
        return "", []
    if not roots:
        return " AND 0", []
    ranges = []
    args: list[object] = []
    for root in roots:
        prefix = root.rstrip(os.sep) + os.sep
        # Paths under the root sort between "root/" and "root0" ("0" follows "/"): an index range scan.
        ranges.append("(f.path >= ? AND f.path < ?)")
        args += [prefix, prefix[:-1] + chr(ord(os.sep) + 1)]
    if exists:
        where = f"f.session_id = {column} AND ({' OR '.join(ranges)})"
        return f" AND EXISTS (SELECT 1 FROM session_files f WHERE {where})", args
    return f" AND {column} IN (SELECT f.session_id FROM session_files f WHERE {' OR '.join(ranges)})", args


def _index_path(options: dict[str, Any]) -> str | None:
    if options["data_dir"]:
        return os.path.join(os.path.expanduser(options["data_dir"]), "index.sqlite3")
    base = data_dir()
    return None if base is None else os.path.join(base, "index.sqlite3")


def _fresh(conn: sqlite3.Connection, roots: list[str]) -> bool:
    """The tree under ``roots`` is as the index saw it: the last walk of these roots kept every directory it
    reached, each is unchanged, and every known file has the identity, size, mtime and ctime it was indexed
    at (what ``Index.update`` checks before doing nothing).

    Files before directories, the most recently added rows first (a backward scan, no sort): while a session
    runs, its transcript is the one that changed (an append), so a run that must go the full way learns it
    from a few stats, not after every one."""
    walked = conn.execute("SELECT value FROM meta WHERE key='walk_complete'").fetchone()
    if walked is None or walked[0] != "\0".join(sorted(roots)):
        return False
    prefixes = tuple(r.rstrip(os.sep) + os.sep for r in roots)
    stat = os.stat
    for path, dev, ino, size, mtime, ctime in conn.execute(
        "SELECT path, dev, ino, size, mtime_ns, ctime_ns FROM files WHERE gone=0 ORDER BY rowid DESC"
    ):
        if path.startswith(prefixes):
            try:
                st = stat(path)
            except OSError:
                return False
            if (st.st_size != size or st.st_mtime_ns != mtime or st.st_ctime_ns != ctime or st.st_ino != ino
                    or st.st_dev != dev):  # fmt: skip
                return False
    kept = set()
    for path, dev, ino, mtime, ctime in conn.execute(
        "SELECT path, dev, ino, mtime_ns, ctime_ns FROM dirs ORDER BY rowid DESC"
    ):
        if path in roots or path.startswith(prefixes):
            try:
                st = stat(path)
            except OSError:
                return False
            if st.st_mtime_ns != mtime or st.st_ctime_ns != ctime or st.st_ino != ino or st.st_dev != dev:
                return False
            kept.add(path)
    return not any(os.path.isdir(r) and r not in kept for r in roots)


def _triggers_kept(conn: sqlite3.Connection) -> bool:
    """Every trigger that drops the stored output is there, on its table, as ``TRIGGERS`` writes it."""
    found = conn.execute(
        "SELECT name, tbl_name, sql FROM sqlite_master WHERE type='trigger' AND name LIKE ?", (f"{OUTPUT}%",)
    ).fetchall()
    return {name: (table, sql) for name, table, sql in found} == TRIGGERS


def _observed_same(observed_dir: str, checks: dict[str, Any]) -> bool:
    """Each listed session's observation file is as the full run found it (none where there was none)."""
    seen: dict[str, str] = checks["observed"]
    names = observed_names(observed_dir)
    if any(f"{sid}.json" not in names for sid in seen):
        return False
    # Only the observation files of listed sessions matter: one set lookup per file there is.
    listed = set(checks["sessions"]) if names else set()
    for name in names:
        sid = name[:-5]
        if (
            sid in listed
            and name.endswith(".json")
            and observed_key(observed_dir, sid, names) != seen.get(sid, "None")
        ):
            return False
    return True


def read_output(path: str, expected: object) -> bytes | None:
    """The bytes of the output file at ``path`` when it is the file ``expected`` (its ``stamp`` when it was
    written, from the index) names, else None. Read through one descriptor: what was checked is what is read."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if [st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns] != expected:
            return None
        chunks = []
        left = st.st_size
        while left > 0:
            chunk = os.read(fd, left)
            if not chunk:
                return None  # shorter than it was: not the file that was stored
            chunks.append(chunk)
            left -= len(chunk)
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)
    finally:
        os.close(fd)


def serve(argv: list[str]) -> bytes | None:
    """What ``report ARGV...`` prints, as its last full run kept it; None when the full command must run."""
    parsed = parse_args(argv)
    if parsed is None:
        return None
    name, options = parsed
    path = _index_path(options)
    if path is None or not os.path.isfile(path):
        return None
    try:
        # The C module ``sqlite3`` wraps: its Python half imports ``datetime`` for adapters never used here.
        import _sqlite3 as sqlite3
    except ImportError:  # pragma: no cover - a build without it
        import sqlite3  # type: ignore[no-redef]

    try:
        conn = sqlite3.connect(path, timeout=1.0, isolation_level=None)
    except sqlite3.Error:
        return None
    try:
        conn.execute("BEGIN")  # one snapshot for every check and every row
        row = conn.execute("SELECT value FROM meta WHERE key=?", (RECORD,)).fetchone()
        record = loads(row[0]) if row else None
        if not isinstance(record, dict):
            return None
        schema = conn.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
        if schema is None or schema[0] != record["schema"]:
            return None
        genai = genai_stamp(record["genai_path"])
        if genai is None or genai != record["genai"]:
            return None
        if record_key(options, record["config_file"], genai) != record["key"]:
            return None
        if any(os.path.realpath(given) != resolved for given, resolved in record["links"]):
            return None  # a directory named through a symlink that points elsewhere now
        roots = list(record["roots"])
        if not _triggers_kept(conn):
            return None
        row = conn.execute("SELECT value FROM meta WHERE key=?", (output_key(name),)).fetchone()
        output = loads(row[0]) if row else None
        if not isinstance(output, dict) or output["roots"] != roots:
            return None
        checks = output["checks"]
        if checks["common"] not in (None, record["common"]):
            return None
        if not name.endswith(".json") and checks["encoding"] != stdout_encoding():
            return None
        if not _fresh(conn, roots):
            return None
        # The settings files of each (config dir, working directory), as the full run's reader named them.
        for files, key in checks["wheres"].values():
            if settings_key(files) != key:
                return None
        if not _observed_same(record["observed_dir"], checks):
            return None
        return read_output(output_file(path, name), output["file"])
    except (sqlite3.Error, KeyError, TypeError, ValueError, OSError):
        return None  # an index or record this path does not understand: the full command decides
    finally:
        conn.close()


ASKED = False
"""True once ``python -m ctxtop`` asked ``main`` before ``ctxtop.cli`` loaded (which then does not ask again)."""


def main(argv: list[str]) -> bool:
    """Print the answer when this path has it (True); False: the full command runs."""
    answer = serve(argv)
    if answer is None:
        return False
    try:
        sys.stdout.buffer.write(answer)
        sys.stdout.flush()
    except BrokenPipeError:
        sys.stderr.close()  # `ctxtop report sessions --json | head` must not print a traceback
    return True
