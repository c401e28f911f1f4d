"""A new index built by a one-shot command (``Index.build_alone``): SQLite's rollback-journal mode while it is
built, the same rows as a build in WAL mode, WAL once built, and a kill mid-build loses nothing."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ctxtop.adapters.index import Index
from tests.adapters.test_index import _fixture_copies, _parallel_everything
from tests.adapters.test_index_review import _line, _world

TABLES = {
    "requests": "SELECT * FROM requests ORDER BY key",
    "copies": "SELECT * FROM copies ORDER BY key, fid",
    "sessions": "SELECT session_id, source, cwd, git_branch, version, last_ts, dirty, stats, archived, deleted "
    "FROM sessions ORDER BY session_id",
    "files": "SELECT path, source, session_id, chain, size, offset, fingerprint, lines, malformed, first_ts, fid "
    "FROM files ORDER BY path",
    "compacts": "SELECT * FROM compacts ORDER BY session_id, chain, ts",
}


def _tables(index: Index) -> dict[str, list[tuple]]:
    return {name: index.conn.execute(sql).fetchall() for name, sql in TABLES.items()}


def _mode(index: Index) -> str:
    return str(index.conn.execute("PRAGMA journal_mode").fetchone()[0])


def test_a_new_index_built_alone_holds_what_a_wal_build_holds_and_is_in_wal_mode_once_built(
    tmp_path: Path, monkeypatch
) -> None:
    import ctxtop.adapters.index as index_module

    sources = _fixture_copies(tmp_path)
    wal = Index(tmp_path / "wal.sqlite3")
    wal.update(sources)
    assert _mode(wal) == "wal"
    path = tmp_path / "alone.sqlite3"
    alone = Index(path, build_alone=True)
    assert _mode(alone) == "delete"
    modes: list[str] = []
    commit = index_module.Index._store_stats

    def store(self, stats):  # type: ignore[no-untyped-def]
        modes.append(_mode(self))
        return commit(self, stats)

    monkeypatch.setattr(index_module.Index, "_store_stats", store)
    alone.update(sources)
    assert set(modes) == {"delete"}  # written without the log ...
    assert _mode(alone) == "wal"  # ... and in WAL mode once committed
    assert alone.conn.execute("PRAGMA cache_spill").fetchone()[0] > 0  # pages spill again after the stats
    assert _tables(alone) == _tables(wal) and _tables(wal)["requests"]
    other = Index(path)
    assert alone.update(sources).files_read == 0 and other.update(sources).files_read == 0
    assert _tables(other) == _tables(wal)
    # An index that exists already is opened as any other, whoever opens it.
    again = Index(tmp_path / "wal.sqlite3", build_alone=True)
    assert _mode(again) == "wal"


def test_an_index_built_alone_that_another_process_reads_is_put_in_wal_mode_by_the_next_opener(
    tmp_path: Path, monkeypatch
) -> None:
    import ctxtop.adapters.index as index_module

    sources = _fixture_copies(tmp_path)
    path = tmp_path / "alone.sqlite3"
    alone = Index(path, build_alone=True)
    to_wal = index_module.Index._to_wal
    took: list[float] = []

    def read_meanwhile(self):  # type: ignore[no-untyped-def]
        # Another process reads just as the update has committed: the switch does not wait for it.
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("BEGIN")
        other.execute("SELECT count(*) FROM meta").fetchone()
        started = time.monotonic()
        to_wal(self)
        took.append(time.monotonic() - started)
        other.execute("COMMIT")

    monkeypatch.setattr(index_module.Index, "_to_wal", read_meanwhile)
    alone.update(sources)
    assert took and took[0] < 1.0  # not the busy timeout (5 s)
    assert _mode(alone) == "delete"
    assert _mode(Index(path)) == "wal"
    assert alone.update(sources).files_read == 0  # and it goes on through the log


def test_the_stats_workers_read_an_index_built_alone_while_it_writes(tmp_path: Path, monkeypatch) -> None:
    """The workers read the requests the first commit left while this process writes the stats (in pages enough
    to go past a small cache): the same rows as a sequential build, most stats computed there, no wait."""
    import ctxtop.adapters.index as index_module

    proj, sources = _world(tmp_path)
    for f in range(60):
        (proj / f"s{f}.jsonl").write_text("".join(_line(f"{f}x{n}", n, sid=f"s{f}") for n in range(20)))
    sequential = Index(tmp_path / "seq.sqlite3")
    sequential.update(sources)
    _parallel_everything(monkeypatch)
    connect = index_module._connect

    def small_cache(path: Path, *, wal: bool = True) -> sqlite3.Connection:
        conn = connect(path, wal=wal)
        conn.execute("PRAGMA cache_size=10")  # pages go to the file as soon as a few are changed
        return conn

    monkeypatch.setattr(index_module, "_connect", small_cache)
    slow = index_module.Index._compute

    def compute(self, sid, *args, **kwargs):  # type: ignore[no-untyped-def]
        time.sleep(0.01)  # this process is slow: the workers compute every chunk they can
        return slow(self, sid, *args, **kwargs)

    monkeypatch.setattr(index_module.Index, "_compute", compute)
    store = index_module.Index._store_stats

    def store_more(self, stats):  # type: ignore[no-untyped-def]
        # Pages enough to go past the cache with every session stored (stats as big as a long session's).
        self.conn.execute(
            "INSERT OR REPLACE INTO meta VALUES (?, ?)", (f"test {stats.session_id}", "x" * 20_000)
        )
        return store(self, stats)

    monkeypatch.setattr(index_module.Index, "_store_stats", store_more)
    alone = Index(tmp_path / "alone.sqlite3", build_alone=True)
    started = time.monotonic()
    alone.update(sources)
    elapsed = time.monotonic() - started
    assert _mode(alone) == "wal"
    assert _tables(alone) == _tables(sequential)  # (meta, where the test wrote, is not compared)
    assert alone.stats_in_workers >= 20, "the workers gave up (they could not read)"
    assert elapsed < 4.5  # no worker waited for the busy timeout (5 s)


def test_after_a_build_alones_first_commit_its_writes_never_lock_readers_out(tmp_path: Path) -> None:
    # In rollback-journal mode a page written to the file before the commit takes the exclusive lock; the
    # stats workers read meanwhile (``_committed_for_workers``): such writes wait for the commit.
    alone = Index(tmp_path / "alone.sqlite3", build_alone=True)
    alone.conn.execute("PRAGMA cache_size=10")
    alone.conn.execute("BEGIN IMMEDIATE")
    alone.conn.execute("INSERT INTO meta VALUES ('test', 'x')")
    assert alone._committed_for_workers({f"s{n}" for n in range(100)})
    alone.conn.executemany("INSERT INTO meta VALUES (?, ?)", [(f"k{n}", "x" * 2000) for n in range(500)])
    reader = sqlite3.connect(f"{(tmp_path / 'alone.sqlite3').as_uri()}?mode=ro", uri=True, timeout=0)
    assert reader.execute("SELECT value FROM meta WHERE key='test'").fetchone() == ("x",)
    alone.conn.execute("COMMIT")
    assert reader.execute("SELECT count(*) FROM meta WHERE key LIKE 'k%'").fetchone() == (500,)


_BUILD = """
import sys
from pathlib import Path

import ctxtop.adapters.index as ix
from ctxtop.sources.claude_code.source import ClaudeCode
from ctxtop.sources.registry import Sources

ix.PARALLEL_MIN_BYTES = 1 << 60  # one process: the kill lands while it writes
print("started", flush=True)
ix.Index(Path(sys.argv[1]), build_alone=True).update(Sources((ClaudeCode((Path(sys.argv[2]),)),)))
"""


def test_a_kill_in_the_middle_of_a_build_alone_leaves_an_index_that_is_built_again_in_full(
    tmp_path: Path,
) -> None:
    proj, sources = _world(tmp_path)
    for f in range(24):
        with open(proj / f"s{f}.jsonl", "w") as fh:
            fh.write("".join(_line(f"{f}x{n}", n, sid=f"s{f}") for n in range(3000)))
    db = tmp_path / "i.sqlite3"
    proc = subprocess.Popen(
        [sys.executable, "-c", _BUILD, str(db), str(tmp_path / "claude")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline() == b"started\n"
        deadline = time.monotonic() + 30
        # Killed once its first pages are in the file, mid-transaction (the journal is there).
        while time.monotonic() < deadline and proc.poll() is None:
            if os.path.exists(f"{db}-journal") and db.stat().st_size > 64 * 1024:
                break
            time.sleep(0.005)
        assert proc.poll() is None, "finished before it could be killed: make the history bigger"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert os.path.exists(f"{db}-journal")  # a hot journal: the next opener rolls the build back
    index = Index(db)
    assert index.notices == []  # rolled back, not damaged
    index.update(sources)
    fresh = Index(tmp_path / "fresh.sqlite3")
    fresh.update(sources)
    assert _tables(index) == _tables(fresh) and len(_tables(fresh)["requests"]) == 24 * 3000


@pytest.mark.parametrize("build_alone", [True, False])
def test_a_report_builds_its_new_index_alone_and_the_tui_does_not(tmp_path: Path, build_alone: bool) -> None:
    from ctxtop.services.monitor import Monitor

    _world(tmp_path)
    monitor = Monitor.open([str(tmp_path / "claude")], None, str(tmp_path / "data"), build_alone=build_alone)
    assert _mode(monitor.index) == ("delete" if build_alone else "wal")


def test_opening_an_index_while_it_is_built_alone_says_to_try_again(tmp_path: Path, monkeypatch) -> None:
    # Another ctxtop opening the index mid-build must put it in WAL mode, which waits for the build's lock:
    # after the busy timeout (shortened here) one clear message, not a traceback.
    import ctxtop.adapters.index as index_module
    from ctxtop.adapters.index import IndexUnavailable

    path = tmp_path / "alone.sqlite3"
    alone = Index(path, build_alone=True)
    alone.conn.execute("BEGIN IMMEDIATE")
    alone.conn.execute("INSERT INTO meta VALUES ('test', 'x')")
    alone.conn.execute("PRAGMA cache_size=10")
    alone.conn.executemany("INSERT INTO meta VALUES (?, ?)", [(f"k{n}", "x" * 2000) for n in range(500)])
    connect = index_module.sqlite3.connect
    monkeypatch.setattr(index_module.sqlite3, "connect", lambda *a, **k: connect(*a, **{**k, "timeout": 0.2}))
    with pytest.raises(IndexUnavailable, match="try again when it has finished"):
        Index(path)
    alone.conn.execute("COMMIT")
