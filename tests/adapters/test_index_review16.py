"""Adversarial review of issue 16's cold path, kept outputs and schema 11: each test is a finding.

The cold path (one C check over a block, the narrow msgspec decode) must give the facts and counts of the
line-by-line path (the one decoder and ``parse_claude``), and both must read a line the way ``JSON.parse``
(Claude Code, ccusage) reads it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ctxtop.adapters import jsonl
from ctxtop.adapters.index import ParsedLines, parse_block, parse_lines
from ctxtop.sources.claude_code.source import ClaudeCode

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "claude"
TRANSCRIPTS = sorted(FIXTURES.glob("projects/*/*.jsonl"))

LONG_INT = b"9" * 5000
"""An integer literal longer than CPython's int-from-string limit (4,300 digits). ``JSON.parse`` reads it as
Infinity (``node -e 'JSON.parse("{\\"a\\":" + "9".repeat(5000) + "}")'``); so does msgspec, skipping it."""


def _facts(out: ParsedLines) -> tuple:
    return out.requests, out.compacts, out.metas, out.malformed, out.lines, out.first_ts, out.named


def _parse_lines(lines: list[bytes], path: Path) -> tuple:
    ctx = ClaudeCode.context_for(path)
    out = ParsedLines(sessions={ctx.session_id}, file_session=ctx.session_id)
    parse_lines(lines, 0, str(path), ClaudeCode.markers, ClaudeCode.parser(ctx, None), out)
    return _facts(out)


def _parse_block(data: bytes, path: Path) -> tuple:
    ctx = ClaudeCode.context_for(path)
    out = ParsedLines(sessions={ctx.session_id}, file_session=ctx.session_id)
    parse_block(memoryview(data), 0, str(path), ClaudeCode.markers, ClaudeCode.parser(ctx, None), out)
    return _facts(out)


def test_a_line_with_a_very_long_integer_is_json_as_json_parse_reads_it() -> None:
    # Node's JSON.parse accepts it (Infinity); decode_line's standard-library rescue raised ValueError
    # ("Exceeds the limit (4300 digits)"), so the line counted as malformed.
    value = jsonl.decode_line(b'{"a":' + LONG_INT + b',"b":1}')
    assert isinstance(value, dict) and value["b"] == 1 and value["a"] == float("inf")


@pytest.mark.skipif(not jsonl._BOUNDED, reason="CPython 3.11 only: from 3.12 every line goes by decode_line")
def test_a_long_integer_in_a_skipped_field_gives_the_same_facts_on_both_paths(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # An assistant line of the real CLI with one more field holding a 5,000-digit integer: the block path
    # (msgspec skips the field, index_facts takes the request) and the line-by-line path (decode_line)
    # must agree, and the request counts as JSON.parse sees the line.
    path = TRANSCRIPTS[0]
    body = path.read_bytes().rstrip(b"\n")
    lines = body.split(b"\n")
    at = next(n for n, raw in enumerate(lines) if b'"type":"assistant"' in raw and b'"usage"' in raw)
    lines[at] = b'{"n":' + LONG_INT + b"," + lines[at][1:]
    body = b"\n".join(lines)
    monkeypatch.setattr(jsonl, "CHECK_MIN_BYTES", 0)
    block = _parse_block(body, path)
    monkeypatch.setattr(jsonl, "all_objects", lambda lines: False)
    monkeypatch.setattr(jsonl, "block_objects", lambda block, lines: False)
    one_by_one = _parse_lines(lines, path)
    assert block == one_by_one
    assert block[3] == 0  # nothing malformed: JSON.parse reads every line


def test_daily_figures_follow_a_change_of_time_zone_that_keeps_its_abbreviations(tmp_path: Path) -> None:
    # Europe/Athens and Africa/Cairo are both ('EET', 'EEST') with time.timezone -7200, yet on 2026-04-10
    # Athens is on summer time (+3) and Cairo not yet (+2): 21:2x UTC is the 11th in one, the 10th in the
    # other. The index re-figures its daily buckets, and report_fast keys its record, on (tzname, timezone)
    # only, so after the switch the daily report still shows Athens' days. (The same with /etc/localtime
    # pointed from one to the other, where no TZ variable changes.)
    from tests.test_report_fast import World

    world = World(tmp_path)
    for path in world.home.glob("projects/**/*.jsonl"):
        path.write_bytes(
            path.read_bytes().replace(b'"timestamp":"2026-12-01T22:2', b'"timestamp":"2026-04-10T21:2')
        )
    world.settle()
    daily = ("daily", "--json")
    world.env["TZ"] = "Europe/Athens"
    athens = world.run(report=daily)[0]
    assert [row["date"] for row in json.loads(athens)] == ["2026-04-11"]
    world.env["TZ"] = "Africa/Cairo"
    cairo = world.cold(report=daily)
    assert [row["date"] for row in json.loads(cairo)] == ["2026-04-10"]
    assert world.run(report=daily)[0] == cairo


def test_an_empty_line_appended_alone_is_read_once_msgspec_is_loaded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A long-lived process (the TUI after a big cold index) has msgspec loaded, so every block is checked in C.
    # A transcript that then gets a lone newline hands the parser an empty block (one empty line): the block
    # check read its first byte and raised IndexError, failing the whole update.
    from ctxtop.adapters.index import Index
    from ctxtop.sources.registry import Sources

    history = tmp_path / "claude"
    transcript = history / "projects" / TRANSCRIPTS[0].parent.name / TRANSCRIPTS[0].name
    transcript.parent.mkdir(parents=True)
    transcript.write_bytes(TRANSCRIPTS[0].read_bytes())
    monkeypatch.setattr(jsonl, "CHECK_MIN_BYTES", 0)  # msgspec loaded: as after any read of 256 KB or more
    index = Index(tmp_path / "index.sqlite3")
    sources = Sources((ClaudeCode((history,)),))
    index.update(sources)
    before = [(f.lines, f.malformed) for f in index.files()]
    with transcript.open("ab") as fh:
        fh.write(b"\n")
    result = index.update(sources)
    assert result.lines == 1 and result.malformed == 0
    assert [(f.lines, f.malformed) for f in index.files()] == [(before[0][0] + 1, before[0][1])]


def test_an_observation_under_another_name_changes_no_report_unseen(tmp_path: Path) -> None:
    # The full path read every observation file by the session id inside it; report_fast (and the stored rows)
    # check only ``<session>.json``. A file of the session under another name (a copy, "S-old.json") changed
    # the full path's window and fill while the kept output was still served. The one writer names each file
    # by its session: a file named otherwise is not that session's.
    import os
    import time

    from tests.test_report_fast import World

    world = World(tmp_path)
    before, fast = world.warm()
    assert fast
    transcript = next(world.home.glob("projects/*/*.jsonl"))
    line = next(x for x in reversed(transcript.read_bytes().splitlines()) if b'"usage"' in x)
    folder = tmp_path / "data" / "observed"
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    copy = folder / f"{transcript.stem}-old.json"
    copy.write_text(json.dumps({
        "session_id": transcript.stem, "model": {"id": json.loads(line)["message"]["model"]},
        "observed_at": time.time(), "context_window": {"context_window_size": 432_100, "used_percentage": 3}}))  # fmt: skip
    os.chmod(copy, 0o600)
    world.settle()
    assert world.run()[0] == world.cold()


@pytest.mark.parametrize("upgraded", [False, True])
def test_what_an_older_ctxtop_still_running_writes_is_archived_all_the_same(
    tmp_path: Path, upgraded: bool
) -> None:
    # An older ctxtop (a TUI, ``export --watch``) checks the schema only when it opens the index. After this
    # ctxtop upgraded the index to schema 11 under it, its reads go on writing schema 10's rows: a new file's
    # row without a number, its copies as (key, path) in ``copies``, now (key, file number) (reproduced with
    # 75bffbd's code). Such a copy names no file: deleting that transcript later left its requests present
    # instead of archived. Here those rows are made as that code makes them, then the transcript is deleted.
    import shutil

    from ctxtop.adapters.index import Index
    from ctxtop.sources.registry import Sources
    from tests.adapters.test_index_writes import _to_schema_10

    root = tmp_path / "claude"
    shutil.copytree(FIXTURES, root)
    db = tmp_path / "i.sqlite3"
    sources = Sources((ClaudeCode((root,)),))
    victim = max(root.glob("projects/*/*.jsonl"), key=lambda p: p.stat().st_size)
    kept = victim.read_bytes()
    victim.unlink()
    index = Index(db)
    index.update(sources)
    index.close()
    if upgraded:
        _to_schema_10(db)
    index = Index(db)  # upgraded in place (or already 11)
    victim.write_bytes(kept)
    index.update(sources)
    conn = index.conn
    # Schema 12 and before also named a request's largest-copy file by path (``requests.file``).
    conn.execute("UPDATE requests SET file = ? WHERE file = (SELECT fid FROM files WHERE path = ?)",
                 (str(victim), str(victim)))  # fmt: skip
    conn.execute("UPDATE copies SET fid = (SELECT path FROM files WHERE path = ?) WHERE fid = "
                 "(SELECT fid FROM files WHERE path = ?)", (str(victim), str(victim)))  # fmt: skip
    conn.execute("UPDATE files SET fid = NULL WHERE path = ?", (str(victim),))
    conn.commit()
    keys = [k for (k,) in conn.execute("SELECT key FROM requests WHERE file = ?", (str(victim),))]
    assert keys
    victim.unlink()
    index.update(sources)
    marks = ",".join("?" * len(keys))
    assert conn.execute(
        f"SELECT count(*), sum(archived) FROM requests WHERE key IN ({marks})", keys
    ).fetchone() == (len(keys), len(keys))
    assert conn.execute("SELECT count(*) FROM copies WHERE typeof(fid) <> 'integer'").fetchone() == (0,)
    assert conn.execute("SELECT count(*) FROM requests WHERE file GLOB '*[^0-9]*'").fetchone() == (0,)
