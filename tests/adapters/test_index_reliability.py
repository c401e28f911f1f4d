"""Bad input never crashes, hangs or skews the index (issue 15, items 8-10 and 15-18), on real files."""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import pytest

from ctxtop.adapters import tailer
from ctxtop.adapters.index import Index
from ctxtop.adapters.jsonl import decode_line
from tests.adapters.test_index_review import _line, _world


def _ctxtop(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ctxtop", *args], capture_output=True, text=True, timeout=timeout, check=False
    )


def _one(index: Index):  # type: ignore[no-untyped-def]
    [s] = index.sessions()
    return s


# ---------------------------------------------------------------- item 8: special files never hang


def test_a_fifo_named_like_a_transcript_never_hangs_report_or_doctor(tmp_path: Path) -> None:
    proj, _ = _world(tmp_path)
    (proj / "s.jsonl").write_text(_line("a", 7, sid="s"))
    os.mkfifo(proj / "x.jsonl")
    (proj / "s" / "subagents").mkdir(parents=True)
    os.mkfifo(proj / "s" / "subagents" / "agent-y.jsonl")
    common = ("--claude-dir", str(tmp_path / "claude"), "--cache-dir", str(tmp_path / "cache"))
    report = _ctxtop("report", "sessions", "--json", *common)
    assert report.returncode == 0, report.stderr
    assert [r["session_id"] for r in json.loads(report.stdout)] == ["s"]
    doctor = _ctxtop("doctor", "--json", *common)
    assert doctor.returncode == 0, doctor.stderr
    unreadable = {Path(u["path"]).name: u["error"] for u in json.loads(doctor.stdout)["unreadable"]}
    assert set(unreadable) == {"x.jsonl", "agent-y.jsonl"}
    assert all("not a regular file (FIFO)" in e for e in unreadable.values())


def test_the_read_helper_refuses_special_files_and_planted_links(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "fifo")
    with pytest.raises(tailer.NotRegularFile):
        tailer.open_regular(tmp_path / "fifo")  # returns at once: O_NONBLOCK
    with pytest.raises(tailer.NotRegularFile):
        tailer.open_regular("/dev/zero")
    (tmp_path / "real").write_text("{}\n")
    (tmp_path / "link").symlink_to(tmp_path / "real")
    os.close(tailer.open_regular(tmp_path / "link"))
    with pytest.raises(OSError):
        tailer.open_regular(tmp_path / "link", follow_symlinks=False)


def test_a_read_stops_at_its_size_and_time_budget_and_resumes(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    path.write_bytes(b"".join(b'{"n": %d}\n' % n for n in range(1000)))
    first = tailer.read_appended(str(path), None, max_bytes=100, chunk_bytes=64)
    assert not first.complete and 0 < len(first.lines) < 20
    late = tailer.read_appended(str(path), first.state, deadline=0.0, chunk_bytes=64)
    assert not late.complete and late.lines  # one chunk at least, then the deadline stops it
    rest = tailer.read_appended(str(path), late.state)
    assert rest.complete
    assert [json.loads(x)["n"] for x in first.lines + late.lines + rest.lines] == list(range(1000))


# ---------------------------------------------------------------- item 9: an unreadable file


def test_an_unreadable_transcript_is_reported_then_read_once_it_is_readable(tmp_path: Path) -> None:
    proj, sources = _world(tmp_path)
    (proj / "good.jsonl").write_text(_line("a", 7, sid="good"))
    # Tests run as root, for whom no mode is unreadable: a socket cannot be opened by anyone (ENXIO).
    bad = proj / "late.jsonl"
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(bad))
    index = Index(tmp_path / "i.sqlite3")
    index.update(sources)
    index.close()
    for _ in range(2):  # every later run works, and an unchanged unreadable file is not retried
        index = Index(tmp_path / "i.sqlite3")
        assert index.update(sources).files_read == 0
        assert [s.session_id for s in index.sessions()] == ["good"]
        [err] = [f.last_error for f in index.files() if f.last_error]
        assert "late.jsonl" in err
        index.close()
    server.close()
    bad.unlink()
    bad.write_text(_line("b", 9, sid="late"))
    index = Index(tmp_path / "i.sqlite3")
    index.update(sources)
    assert sorted(s.session_id for s in index.sessions()) == ["good", "late"]
    assert not any(f.last_error for f in index.files())


# ---------------------------------------------------------------- item 10: malformed lines never crash


def test_malformed_lines_of_every_kind_are_skipped_and_counted(tmp_path: Path) -> None:
    proj, sources = _world(tmp_path)
    good = _line("a", 7, sid="s")
    deep = '{"type":"assistant","message":{"usage":' + "[" * 5000 + "]" * 5000 + "}}\n"
    deep_plain = '{"x":' + '{"y":' * 3000 + "1" + "}" * 3001 + "\n"
    surrogate = (
        _line("b", 3, sid="s")
        .replace("claude-opus-4-8", "claude-\\ud800")
        .replace('"cwd": "/p"', '"cwd": "/p\\udfff"')
        .replace("req_b", "req_\\ud83d")
    )
    raw_bad_utf8 = (
        _line("c", 4, sid="s").replace('"cwd": "/p"', '"cwd": "/p\udcff"').encode("utf-8", "surrogateescape")
    )
    compact = {
        "type": "system", "subtype": "compact_boundary", "timestamp": "2026-11-20T10:00:01.000Z",
        "compactMetadata": {"trigger": "auto", "preTokens": 2**64 - 1, "postTokens": 2**63},
    }  # fmt: skip
    data = (
        (good + deep + deep_plain + surrogate).encode() + raw_bad_utf8 + (json.dumps(compact) + "\n").encode()
    )
    (proj / "s.jsonl").write_bytes(data)
    index = Index(tmp_path / "i.sqlite3")
    index.update(sources)
    s = _one(index)
    assert s.requests == 3  # the good line, the one with lone surrogates, the one with invalid UTF-8
    assert s.tokens.output == 7 + 3 + 4
    assert "claude-\ufffd" in s.models
    assert [f.malformed for f in index.files()] == [2]  # the two nested too deeply
    [boundary] = index.conn.execute("SELECT pre, post FROM compacts").fetchall()
    assert boundary == (0, 0)  # token counts no 64-bit column holds are not token counts


def test_a_file_name_that_is_not_utf8_is_skipped_and_reported(tmp_path: Path) -> None:
    proj, sources = _world(tmp_path)
    (proj / "s.jsonl").write_text(_line("a", 7, sid="s"))
    os.makedirs(os.fsencode(proj) + b"/proj\xff")
    with open(os.fsencode(proj) + b"/proj\xff/x\xfe.jsonl", "wb") as fh:
        fh.write(_line("b", 1, sid="x").encode())
    index = Index(tmp_path / "i.sqlite3")
    index.update(sources)
    assert [s.session_id for s in index.sessions()] == ["s"]
    assert list(index.skipped.values()) == ["file name is not UTF-8"]
    assert "\\xfe.jsonl" in next(iter(index.skipped))


# ---------------------------------------------------------------- items 15 and 16: one decoder, all lines


def test_every_line_that_fails_to_decode_is_counted(tmp_path: Path) -> None:
    proj, sources = _world(tmp_path)
    broken = [
        '{"type": "user", "message": {"content": "unterminated}',  # looks like an object, mentions no marker
        '{"type": "progress", "data": [1, 2,]}',
        '{"a": NaN}',
        "\ufeff{}",
        '{"a": 1} trailing',
    ]
    (proj / "s.jsonl").write_text(_line("a", 7, sid="s") + "\n".join(broken) + "\n\n   \n")
    index = Index(tmp_path / "i.sqlite3")
    index.update(sources)
    assert [f.malformed for f in index.files()] == [len(broken)]  # blank lines are not malformed


EDGE_CASES = {
    "nan": '"output_tokens": NaN',
    "infinity": '"output_tokens": Infinity',
    "overflowing double": '"output_tokens": 1e400',
    "huge integer": '"output_tokens": 123456789012345678901234567890',
    "lone surrogate": '"output_tokens": 7, "note": "\\udc00"',
    "deep": '"output_tokens": 7, "deep": ' + "[" * 1100 + "]" * 1100,
}


@pytest.mark.parametrize("case", sorted(EDGE_CASES))
def test_cold_and_incremental_reads_decode_every_edge_case_alike(tmp_path: Path, case: str) -> None:
    # Reads of more than 200 lines used orjson and smaller ones json.loads: a cold run and an incremental
    # one disagreed (249 turns against 250). Now one decoder decides, whatever the read size.
    lines = [
        _line(f"m{n}", 7, sid="s", ts=f"2026-11-20T10:{n // 60:02d}:{n % 60:02d}.000Z") for n in range(250)
    ]
    lines[120] = lines[120].replace('"output_tokens": 7', EDGE_CASES[case])
    cold_dir, incr_dir = tmp_path / "cold", tmp_path / "incr"
    results = []
    for work, step in ((cold_dir, 250), (incr_dir, 7)):
        proj, sources = _world(work)
        index = Index(work / "i.sqlite3")
        for start in range(0, 250, step):
            with open(proj / "s.jsonl", "a") as fh:
                fh.write("".join(lines[start : start + step]))
            index.update(sources)
        s = _one(index)
        results.append((s.requests, s.turns, s.tokens, index.files()[0].malformed))
    assert results[0] == results[1]


def test_the_decoder_reads_lines_as_json_parse_does() -> None:
    assert decode_line(b'{"a": 1e400}') == {"a": float("inf")}
    assert decode_line(b'{"a": "x\\ud800"}') == {"a": "x\ufffd"}
    assert decode_line(b'{"a": "\\ud83d\\ude00"}') == {"a": "\U0001f600"}  # a valid pair stays one character
    assert decode_line(b'{"a": "\xff"}') == {"a": "\ufffd"}
    for bad in (b'{"a": NaN}', b'{"a": -Infinity}', b"\xef\xbb\xbf{}", b"[" * 100_000, b'{"a": "\x01"}'):
        with pytest.raises(ValueError):
            decode_line(bad)


# ---------------------------------------------------------------- item 17: rewritten in place


def _rewrite_keeping_stat(path: Path, old: bytes, new: bytes) -> None:
    st = path.stat()
    data = path.read_bytes()
    assert len(old) == len(new) and data.count(old) == 1
    with open(path, "r+b") as fh:  # same inode, same size
        fh.write(data.replace(old, new))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))  # and the same mtime


@pytest.mark.parametrize("lines", [40, 4000], ids=["small file", "big file"])
def test_a_file_rewritten_in_place_with_the_same_size_and_mtime_is_read_again(
    tmp_path: Path, lines: int
) -> None:
    proj, sources = _world(tmp_path)
    path = proj / "s.jsonl"
    path.write_text("".join(_line(f"m{n}", 10000 + n, sid="s") for n in range(lines)))
    assert (path.stat().st_size > tailer.SMALL_FILE) == (lines > 1000)
    index = Index(tmp_path / "i.sqlite3")
    index.update(sources)
    before = _one(index).tokens.output
    mid = lines // 2
    _rewrite_keeping_stat(
        path, b'"output_tokens": %d' % (10000 + mid), b'"output_tokens": %d' % (60000 + mid)
    )
    index.update(sources)
    assert _one(index).tokens.output == before + 50000


def test_a_rewrite_with_the_same_head_and_tail_then_an_append_is_read_again(tmp_path: Path) -> None:
    proj, sources = _world(tmp_path)
    path = proj / "s.jsonl"
    path.write_text("".join(_line(f"m{n}", 1000 + n, sid="s") for n in range(40)))
    index = Index(tmp_path / "i.sqlite3")
    index.update(sources)
    _rewrite_keeping_stat(path, b'"output_tokens": 1020', b'"output_tokens": 5020')
    with open(path, "a") as fh:
        fh.write(_line("new", 1, sid="s"))
    index.update(sources)
    s = _one(index)
    assert (s.requests, s.tokens.output) == (41, sum(1000 + n for n in range(40)) + 4000 + 1)


# ---------------------------------------------------------------- item 18: bounded memory


def test_memory_stays_bounded_by_the_chunk_not_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    proj, sources = _world(tmp_path)
    path = proj / "s.jsonl"
    path.write_text(_line("a", 7, sid="s"))
    index = Index(tmp_path / "i.sqlite3")
    index.update(sources)  # prices and modules loaded: what follows measures the read alone
    filler = json.dumps({"type": "user", "message": {"content": "x" * 100_000}}) + "\n"
    with open(path, "a") as fh:
        for _ in range(480):  # 48 MB of lines ctxtop only checks
            fh.write(filler)
        fh.write(_line("b", 8, sid="s"))
    monkeypatch.setattr(tailer, "CHUNK_BYTES", 4 * 1024 * 1024)
    tracemalloc.start()
    try:
        index.update(sources)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert _one(index).tokens.output == 15
    # A chunk, its lines, one decoded line: about 3 chunks. Reading it whole took 3x the file (150 MB).
    assert peak < 16 * 1024 * 1024, f"peak {peak / 1e6:.0f} MB while reading a 48 MB append"


# ---------------------------------------------------------------- item 11: a damaged index


def _damage(db: Path, kind: str) -> None:
    data = db.read_bytes()
    for suffix in ("-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    if kind == "truncated":
        db.write_bytes(data[: len(data) // 2])
    elif kind == "garbage":
        db.write_bytes(os.urandom(len(data)))
    elif kind == "header":
        db.write_bytes(b"\0" * 100 + data[100:])
    elif kind == "middle page":
        mid = len(data) // 2
        db.write_bytes(data[:mid] + os.urandom(4096) + data[mid + 4096 :])
    elif kind == "directory":
        db.unlink()
        db.mkdir()
        (db / "x").write_text("x")
    elif kind == "empty":
        db.write_bytes(b"")
    elif kind == "garbage wal":
        Path(f"{db}-wal").write_bytes(os.urandom(64 * 1024))
    elif kind == "text":
        db.write_text("not an index\n")


DAMAGE = ["truncated", "garbage", "header", "middle page", "directory", "empty", "garbage wal", "text"]


def _history(tmp_path: Path, lines: int) -> tuple[Path, object, Path]:
    """One session of ``lines`` requests: its project dir, its sources and where its index goes (made)."""
    proj, sources = _world(tmp_path)
    (proj / "s.jsonl").write_text("".join(_line(f"m{n}", 10 + n, sid="s") for n in range(lines)))
    db = tmp_path / "cache" / "index.sqlite3"
    db.parent.mkdir()
    return proj, sources, db


@pytest.mark.parametrize("kind", DAMAGE)
def test_a_damaged_index_is_set_aside_and_rebuilt(tmp_path: Path, kind: str) -> None:
    proj, sources, db = _history(tmp_path, 300)
    index = Index(db)
    index.update(sources)
    expected = (_one(index).requests, _one(index).tokens)
    index.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    index.close()
    _damage(db, kind)
    index = Index(db)
    index.update(sources)
    assert (_one(index).requests, _one(index).tokens) == expected
    if kind in ("truncated", "garbage", "header", "directory", "text"):
        [notice] = index.notices
        assert "damaged" in notice and ".damaged-" in notice
        assert len(list(db.parent.glob("index.sqlite3.damaged-*"))) == 1


def _mid_checkpoint(db: Path) -> None:
    """Put the database file in the state another process's checkpoint leaves it in for a moment: page 1 (the
    header with the new page count) copied from the WAL, the pages that grow the file not yet."""
    wal = Path(f"{db}-wal").read_bytes()
    page_size = int.from_bytes(wal[8:12], "big")
    frames = range(32, len(wal) - 24 - page_size + 1, 24 + page_size)
    page1 = [
        wal[at + 24 : at + 24 + page_size] for at in frames if wal[at : at + 4] == (1).to_bytes(4, "big")
    ]
    with open(db, "r+b") as fh:
        fh.write(page1[-1])


def test_an_index_another_process_is_checkpointing_is_not_taken_for_damaged(tmp_path: Path) -> None:
    proj, sources, db = _history(tmp_path, 3000)
    writer = Index(db)
    writer.conn.execute("PRAGMA wal_autocheckpoint=0")
    writer.update(sources)
    expected = (_one(writer).requests, _one(writer).tokens)
    _mid_checkpoint(db)
    assert db.stat().st_size < int.from_bytes(db.read_bytes()[28:32], "big") * 4096, "not truncated-looking"
    reader = Index(db)
    assert reader.notices == [] and not list(db.parent.glob("*.damaged-*"))
    assert (_one(reader).requests, _one(reader).tokens) == expected
    reader.close()
    writer.close()
    # Cut short for real, with no WAL to complete it: set aside and rebuilt.
    data = db.read_bytes()
    db.write_bytes(data[: len(data) // 2])
    index = Index(db)
    index.update(sources)
    assert (_one(index).requests, _one(index).tokens) == expected
    assert "damaged" in index.notices[0] and len(list(db.parent.glob("index.sqlite3.damaged-*"))) == 1
    index.close()


def test_an_upgrade_another_process_finished_first_drops_nothing(tmp_path: Path) -> None:
    """Two ctxtops open an index of the previous schema at once: both see it old, one upgrades it, and the other,
    taking the lock after it, finds it current and leaves it be (it dropped every table, archived history with
    them)."""
    proj, sources, db = _history(tmp_path, 50)
    first = Index(db)
    first.update(sources)
    expected = (_one(first).requests, _one(first).tokens)
    # What the slower process does once it has the lock: it had read the schema before the other upgraded.
    late = Index(db)
    late._upgrade()
    assert (_one(late).requests, _one(late).tokens) == expected
    late.close()
    first.close()
    (proj / "s.jsonl").unlink()  # its transcript gone: the index is the only copy left
    again = Index(db)
    again.update(sources)
    assert (_one(again).requests, _one(again).tokens) == expected
    again.close()


def test_a_damaged_index_two_processes_judged_is_set_aside_once(tmp_path: Path) -> None:
    """Two ctxtops find the same file damaged; the second to take the lock finds it set aside and rebuilt by the
    first and moves nothing (it moved the new index over the copy set aside: the only one of that history)."""
    proj, sources = _world(tmp_path)
    (proj / "s.jsonl").write_text(_line("a", 7, sid="s"))
    db = tmp_path / "cache" / "index.sqlite3"
    db.parent.mkdir()
    damaged = os.urandom(20_000)
    db.write_bytes(damaged)
    judged = (db.stat().st_dev, db.stat().st_ino)  # what the slower process looked at
    first = Index(db)
    first.update(sources)
    [aside] = db.parent.glob("index.sqlite3.damaged-*")
    late = Index.__new__(Index)
    late.path, late.notices, late.opened = db, [], judged
    late._recover(sqlite3.DatabaseError("file is not a database"))
    assert late.notices == [] and [p.name for p in db.parent.glob("index.sqlite3.damaged-*")] == [aside.name]
    assert aside.read_bytes() == damaged
    assert [s.session_id for s in first.sessions()] == ["s"]
    first.close()
    assert [s.session_id for s in Index(db).sessions()] == ["s"]


def test_the_cli_says_in_one_line_that_it_rebuilt_a_damaged_index(tmp_path: Path) -> None:
    proj, _ = _world(tmp_path)
    (proj / "s.jsonl").write_text(_line("a", 7, sid="s"))
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "index.sqlite3").write_bytes(os.urandom(20_000))
    common = ("--claude-dir", str(tmp_path / "claude"), "--cache-dir", str(cache))
    run = _ctxtop("report", "sessions", "--json", *common)
    assert run.returncode == 0
    assert [r["session_id"] for r in json.loads(run.stdout)] == ["s"]
    [line] = run.stderr.splitlines()
    assert line.startswith("ctxtop: the index at ") and "was damaged" in line and "rebuilt" in line
    again = _ctxtop("report", "sessions", "--json", *common)
    assert again.returncode == 0 and again.stderr == ""


def _read_only(path: Path) -> None:
    if os.geteuid() != 0:
        path.chmod(0o500)
    elif subprocess.run(["chattr", "+i", str(path)], capture_output=True, check=False).returncode != 0:
        pytest.skip("root, and no chattr to make a directory read-only")


def test_a_read_only_cache_dir_gives_one_clear_message(tmp_path: Path) -> None:
    proj, _ = _world(tmp_path)
    (proj / "s.jsonl").write_text(_line("a", 7, sid="s"))
    cache = tmp_path / "cache"
    cache.mkdir()
    _read_only(cache)
    try:
        for where in (cache, cache / "sub"):
            run = _ctxtop(
                "report", "sessions", "--claude-dir", str(tmp_path / "claude"), "--cache-dir", str(where)
            )
            assert run.returncode == 1
            [line] = run.stderr.splitlines()
            assert line.startswith("ctxtop: cannot ") and "Traceback" not in run.stderr
            assert str(where) in line
    finally:
        if os.geteuid() == 0:
            subprocess.run(["chattr", "-i", str(cache)], check=False)
        else:
            cache.chmod(0o700)


# ---------------------------------------------------------------- item 12: no process left after a kill

_INDEX_SCRIPT = """
import sys
from pathlib import Path

import ctxtop.adapters.index as ix
from ctxtop.sources.claude_code.source import ClaudeCode
from ctxtop.sources.registry import Sources

ix.PARALLEL_MIN_BYTES = 0  # the worker pool, whatever the size
ix.os.cpu_count = lambda: 3  # two workers (and this process), whatever the machine
ix._start_method = lambda: sys.argv[3]  # forked or spawned
ix.Index(Path(sys.argv[1])).update(Sources((ClaudeCode((Path(sys.argv[2]),)),)))
"""


def _children(pid: int) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(entry))
    return out


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(
    not Path("/proc/self/stat").exists() or (os.cpu_count() or 1) < 2, reason="needs /proc, 2 cores"
)
@pytest.mark.parametrize("start_method", ["fork", "spawn"])
@pytest.mark.parametrize("sig", ["SIGKILL", "SIGTERM", "SIGINT"])
def test_killing_a_cold_index_leaves_no_worker_behind(tmp_path: Path, sig: str, start_method: str) -> None:
    import signal
    import time

    proj, _ = _world(tmp_path)
    for f in range(16):  # two map chunks of 8 files: two workers
        with open(proj / f"s{f}.jsonl", "w") as fh:
            fh.write("".join(_line(f"{f}x{n}", n, sid=f"s{f}") for n in range(4000)))
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            _INDEX_SCRIPT,
            str(tmp_path / "i.sqlite3"),
            str(tmp_path / "claude"),
            start_method,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        spawned: list[int] = []
        while time.monotonic() < deadline and proc.poll() is None:
            spawned = _children(proc.pid)
            # Two workers (spawned: and the resource tracker).
            if len(spawned) >= (3 if start_method == "spawn" else 2):
                break
            time.sleep(0.05)
        assert len(spawned) >= (3 if start_method == "spawn" else 2), "the worker pool never started"
        time.sleep(0.3)  # the workers are importing or parsing
        assert proc.poll() is None, "finished before it could be killed: make the history bigger"
        proc.send_signal(getattr(signal, sig))
        proc.wait(timeout=30)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and any(_alive(p) for p in spawned):
            time.sleep(0.1)
        assert not [p for p in spawned if _alive(p)]
        assert b"Traceback" not in proc.stderr.read() or sig == "SIGINT"
    finally:
        if proc.poll() is None:
            proc.kill()
        for p in spawned:
            if _alive(p):
                os.kill(p, 9)


def test_a_schema_6_index_is_upgraded_in_place_without_reading_its_files_again(tmp_path: Path) -> None:
    proj, sources = _world(tmp_path)
    (proj / "s.jsonl").write_text("".join(_line(f"m{n}", 10 + n, sid="s") for n in range(50)))
    db = tmp_path / "i.sqlite3"
    index = Index(db)
    index.update(sources)
    expected = _one(index).tokens
    # What schema 6 held: no ctime column, the old head-and-tail fingerprint.
    [(size,)] = index.conn.execute("SELECT offset FROM files").fetchall()
    data = (proj / "s.jsonl").read_bytes()
    index.conn.execute("UPDATE files SET fingerprint=?", (data[:256] + data[size - 64 : size],))
    index.conn.execute("ALTER TABLE files DROP COLUMN ctime_ns")
    index.conn.execute("UPDATE meta SET value='6' WHERE key='schema'")
    index.close()
    index = Index(db)
    result = index.update(sources)
    assert result.bytes_read == 0 and _one(index).tokens == expected  # checked the old way, not re-read
    _rewrite_keeping_stat(proj / "s.jsonl", b'"output_tokens": 30', b'"output_tokens": 90')
    index.update(sources)
    assert _one(index).tokens.output == expected.output + 60


def test_a_schema_7_index_gains_the_export_table_in_place(tmp_path: Path) -> None:
    """Schema 8 adds only ``otlp_sent`` (what the OTLP export sent): a schema-7 index keeps everything."""
    proj, sources = _world(tmp_path)
    (proj / "s.jsonl").write_text("".join(_line(f"m{n}", 10 + n, sid="s") for n in range(5)))
    db = tmp_path / "i.sqlite3"
    index = Index(db)
    index.update(sources)
    expected = _one(index).tokens
    index.conn.execute("DROP TABLE otlp_sent")
    index.conn.execute("UPDATE meta SET value='7' WHERE key='schema'")
    index.close()
    index = Index(db)
    assert index.conn.execute("SELECT count(*) FROM otlp_sent").fetchone() == (0,)
    assert index.update(sources).bytes_read == 0 and _one(index).tokens == expected


def test_a_locked_index_never_fails_a_price_lookup(tmp_path: Path) -> None:
    """Another ctxtop (the TUI, ``export --watch``) holding the index's write lock past the busy timeout made
    ``report sessions`` die with "database is locked" while caching a genai-prices entry: the entry is a
    cache, so it stays in memory for this run and the next run stores it."""
    import sqlite3

    from ctxtop.adapters.index import _PriceCache

    db = tmp_path / "index.db"
    Index(db).close()
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # the other process's write transaction
    conn = sqlite3.connect(db, timeout=0.05, isolation_level=None)
    cache = _PriceCache(conn)
    cache["claude-x"] = {"window": 200000}
    cache["claude-y"] = {"window": 1000000}
    assert cache["claude-x"] == {"window": 200000} and "claude-y" in cache
    assert cache.unwritable
    holder.execute("COMMIT")
    assert "claude-x" not in _PriceCache(sqlite3.connect(db, isolation_level=None))
    fresh = _PriceCache(sqlite3.connect(db, isolation_level=None))
    fresh["claude-x"] = {"window": 200000}
    assert "claude-x" in _PriceCache(sqlite3.connect(db, isolation_level=None))


def test_an_update_beside_another_ctxtops_long_write_answers_from_the_index_as_it_stands(
    tmp_path: Path,
) -> None:
    """A report run while a TUI cold-indexes a big history (one long write transaction) died with
    "database is locked" after the busy timeout. It now answers from what the index holds, with a notice,
    and the next update reads the lines it could not."""
    import sqlite3

    proj, sources = _world(tmp_path)
    log = proj / "s1.jsonl"
    log.write_text(_line("a", 10, sid="s1") + "\n")
    db = tmp_path / "index.db"
    index = Index(db)
    index.update(sources)
    assert index.session("s1").tokens.output == 10  # type: ignore[union-attr]
    with log.open("a") as fh:
        fh.write(_line("b", 7, sid="s1") + "\n")
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # the other process, mid-update
    index.conn.execute("PRAGMA busy_timeout=50")
    result = index.update(sources)
    assert result.files_read == 0 and index.session("s1").tokens.output == 10  # type: ignore[union-attr]
    assert any("another ctxtop is updating the index" in n for n in index.notices)
    index.update(sources)
    assert len(index.notices) == 1  # said once, not once per refresh
    holder.execute("COMMIT")
    assert index.update(sources).files_read == 1
    assert index.session("s1").tokens.output == 17  # type: ignore[union-attr]


def test_opening_an_index_another_ctxtop_holds_answers_from_it_as_it_stands(tmp_path: Path) -> None:
    """Opening writes when the price data changed since the index was written (every session is marked to be
    priced again). With another ctxtop mid-update holding the lock that died with a traceback, then with one
    line; the stored figures are still every session's: the report prints them, says so once, waits for the
    lock once, and the next run applies the new price data."""
    import sqlite3

    claude = tmp_path / "claude"
    (claude / "projects" / "p").mkdir(parents=True)
    (claude / "projects" / "p" / "s1.jsonl").write_text(_line("a", 10, sid="s1") + "\n")
    args = ("report", "sessions", "--json", "--claude-dir", str(claude), "--data-dir", str(tmp_path / "data"))
    before = _ctxtop(*args)
    assert before.returncode == 0 and json.loads(before.stdout)
    db = tmp_path / "data" / "index.sqlite3"
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("UPDATE meta SET value='an older genai-prices' WHERE key='genai_prices'")
    holder.execute("UPDATE meta SET value='other overrides' WHERE key='overrides'")
    # A line the other process has not indexed yet: this run must not wait for the lock again to read it.
    with (claude / "projects" / "p" / "s1.jsonl").open("a") as fh:
        fh.write(_line("b", 7, sid="s1") + "\n")
    holder.execute("BEGIN IMMEDIATE")  # the other process, mid-update
    try:
        started = time.monotonic()
        proc = _ctxtop(*args)
        took = time.monotonic() - started
    finally:
        holder.execute("COMMIT")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == before.stdout  # the index as it stands
    assert proc.stderr.count("another ctxtop is updating the index") == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert took < 9, "waited for the lock more than once (5 s each)"
    assert holder.execute("SELECT value FROM meta WHERE key='genai_prices'").fetchone() == (
        "an older genai-prices",
    )  # deferred, not written
    after = _ctxtop(*args)
    assert after.returncode == 0 and "another ctxtop" not in after.stderr
    [row] = json.loads(after.stdout)
    assert row["tokens"]["output"] == 17  # and once it has finished, the next run writes and reads it all
    assert holder.execute("SELECT value FROM meta WHERE key='genai_prices'").fetchone() != (
        "an older genai-prices",
    )
    assert holder.execute("SELECT count(*) FROM sessions WHERE dirty=1").fetchone() == (0,)


def test_opening_an_index_that_needs_a_new_schema_while_another_holds_it_gives_one_line(
    tmp_path: Path,
) -> None:
    """An older schema must be upgraded before anything can be read: with the lock taken, one line, no
    traceback (and the report runs once the other process has finished)."""
    import sqlite3

    claude = tmp_path / "claude"
    (claude / "projects" / "p").mkdir(parents=True)
    (claude / "projects" / "p" / "s1.jsonl").write_text(_line("a", 10, sid="s1") + "\n")
    args = ("report", "sessions", "--claude-dir", str(claude), "--data-dir", str(tmp_path / "data"))
    assert _ctxtop(*args).returncode == 0
    holder = sqlite3.connect(tmp_path / "data" / "index.sqlite3", isolation_level=None)
    holder.execute("UPDATE meta SET value='9' WHERE key='schema'")
    holder.execute("BEGIN IMMEDIATE")
    try:
        proc = _ctxtop(*args)
    finally:
        holder.execute("COMMIT")
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    assert "another ctxtop is updating the index" in proc.stderr and "schema" in proc.stderr
    assert _ctxtop(*args).returncode == 0


def test_what_opening_could_not_write_is_written_by_the_next_update_that_takes_the_lock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A long-lived process (the TUI) that opened the index while another held its lock prices its sessions
    with the new price data as soon as one of its updates takes the lock."""
    import sqlite3

    import ctxtop.adapters.index as ix

    connect = ix._connect

    def short_wait(path: Path) -> sqlite3.Connection:
        conn = connect(path)
        conn.execute("PRAGMA busy_timeout=50")  # the lock waits of this test, not 5 s each
        return conn

    monkeypatch.setattr(ix, "_connect", short_wait)
    proj, sources = _world(tmp_path)
    (proj / "s1.jsonl").write_text(_line("a", 10, sid="s1") + "\n")
    db = tmp_path / "index.db"
    first = Index(db)
    first.update(sources)
    first.close()
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("UPDATE meta SET value='an older genai-prices' WHERE key='genai_prices'")
    holder.execute("BEGIN IMMEDIATE")
    index = Index(db)
    assert index.lock_elsewhere and len(index.notices) == 1
    assert index.update(sources).files_read == 0 and len(index.notices) == 1
    assert index.session("s1").tokens.output == 10  # type: ignore[union-attr]
    holder.execute("COMMIT")
    index.update(sources)
    assert not index.lock_elsewhere
    assert holder.execute("SELECT value FROM meta WHERE key='genai_prices'").fetchone() != (
        "an older genai-prices",
    )
    assert holder.execute("SELECT count(*) FROM sessions WHERE dirty=1").fetchone() == (0,)
