"""Regression tests for defects a review of the accounting core and the index found (each reproduced first)."""

from __future__ import annotations

import json
import os
import shutil
import time
from decimal import Decimal
from pathlib import Path

import pytest

from ctxtop.adapters.index import Index
from ctxtop.core.metrics import Req, compute
from ctxtop.core.pricing import PriceBook
from ctxtop.core.usage import Tokens
from ctxtop.sources.claude_code.source import ClaudeCode
from ctxtop.sources.registry import Sources
from tests.support.fixtures import FIXTURES, scenario


def _line(
    mid: str, out: int, *, sid: str, ts: str = "2026-11-20T10:00:00.000Z", usage: dict | None = None
) -> str:
    u = {
        "input_tokens": 5,
        "output_tokens": out,
        "cache_read_input_tokens": 0,
        "cache_creation_input_tokens": 0,
    }
    u.update(usage or {})
    return json.dumps(
        {"type": "assistant", "timestamp": ts, "sessionId": sid, "requestId": f"req_{mid}", "cwd": "/p",
         "message": {"id": f"msg_{mid}", "model": "claude-opus-4-8", "usage": u}}
    ) + "\n"  # fmt: skip


def _world(tmp_path: Path) -> tuple[Path, Sources]:
    proj = tmp_path / "claude" / "projects" / "p"
    proj.mkdir(parents=True)
    return proj, Sources((ClaudeCode((tmp_path / "claude",)),))


@pytest.mark.parametrize(
    ("value", "valid"),
    [("1e400", True), ("-Infinity", False), ("NaN", False), ("99999999999999999999999", True)],
)
def test_absurd_numbers_in_usage_are_never_fatal(tmp_path: Path, value: str, valid: bool) -> None:
    # JSON.parse (Claude Code's and ccusage's reader) takes 1e400 and huge integers but rejects NaN and
    # Infinity: so does ctxtop's one decoder, whatever the size of the read (issue 15 item 16).
    proj, sources = _world(tmp_path)
    good = _line("a", 7, sid="s")
    bad = good.replace('"input_tokens": 5', f'"input_tokens": {value}').replace("msg_a", "msg_b")
    (proj / "s.jsonl").write_text(good + bad)
    index = Index(tmp_path / "i.sqlite3")
    index.update(sources)
    [s] = index.sessions()
    assert s.requests == (2 if valid else 1)
    assert s.tokens.input == 5 and s.tokens.output == (14 if valid else 7)
    assert [f.malformed for f in index.files()] == [0 if valid else 1]


def test_server_compaction_pass_is_priced_at_its_own_tier() -> None:
    # The API's documented example: a 180K compaction pass and a 23K message pass; neither crosses 200K.
    billed = Tokens(input=203_000, output=4_500)
    top = Tokens(input=23_000, output=1_000)
    req = Req("main", 1_790_000_000.0, "claude-sonnet-4-5-20250929", top, billed)
    stats = compute("s", [req], [], PriceBook())
    expected = (Decimal(203_000) * 3 + Decimal(4_500) * 15) / 1_000_000
    assert stats.cost_usd == expected == Decimal("0.6765")


def test_owner_of_a_duplicated_request_does_not_depend_on_read_order(tmp_path: Path) -> None:
    proj, sources = _world(tmp_path)
    (proj / "2222.jsonl").write_text(
        _line("x", 50, sid="2222", ts="2026-11-20T11:00:00.000Z") + _line("y", 7, sid="2222", ts="2026-11-20T11:00:01.000Z")
    )  # fmt: skip
    (proj / "1111.jsonl").write_text(_line("x", 50, sid="1111", ts="2026-11-20T10:00:00.000Z"))
    statusline_first = Index(tmp_path / "a.sqlite3")
    statusline_first.update(sources, only=[proj / "2222.jsonl"])
    statusline_first.update(sources)
    cold = Index(tmp_path / "b.sqlite3")
    cold.update(sources)
    got = {s.session_id: s.tokens.output for s in statusline_first.sessions()}
    assert got == {s.session_id: s.tokens.output for s in cold.sessions()} == {"1111": 50, "2222": 7}


def test_replacing_the_file_holding_the_largest_copy_loses_nothing(tmp_path: Path) -> None:
    proj, sources = _world(tmp_path)
    (proj / "a.jsonl").write_text(
        _line("m1", 5, sid="a") + _line("m2", 5, sid="a", ts="2026-11-20T10:00:05.000Z")
    )
    (proj / "b.jsonl").write_text(_line("m1", 50, sid="b", ts="2026-11-20T10:00:00.000Z"))
    index = Index(tmp_path / "i.sqlite3")
    index.update(sources)
    replacement = proj / "b.new"
    replacement.write_text(_line("z", 1, sid="b", ts="2026-11-20T12:00:00.000Z"))
    os.replace(replacement, proj / "b.jsonl")
    index.update(sources)
    fresh = Index(tmp_path / "fresh.sqlite3")
    fresh.update(sources)
    got = {s.session_id: s.tokens for s in index.sessions()}
    assert got == {s.session_id: s.tokens for s in fresh.sessions()}
    assert got["a"].output == 10


def test_a_file_rewritten_in_place_is_read_again(tmp_path: Path) -> None:
    proj, sources = _world(tmp_path)
    path = proj / "s.jsonl"
    path.write_text(_line("a", 7, sid="s"))
    index = Index(tmp_path / "i.sqlite3")
    index.update(sources)
    with open(path, "r+") as fh:  # same inode, different content, larger
        fh.write(_line("b", 9, sid="s") + _line("c", 7, sid="s"))
    index.update(sources)
    fresh = Index(tmp_path / "fresh.sqlite3")
    fresh.update(sources)
    # The present content is counted as a cold index counts it; request "a", no longer in any file, stays
    # in the history as archived.
    assert [s.tokens for s in index.sessions(present_only=True)] == [s.tokens for s in fresh.sessions()]
    assert index.sessions(present_only=True)[0].tokens.output == 16
    assert index.sessions()[0].tokens.output == 23 and index.sessions()[0].archived_requests == 1


def test_new_price_data_reprices_cached_sessions(tmp_path: Path) -> None:
    proj, sources = _world(tmp_path)
    (proj / "s.jsonl").write_text(_line("a", 1_000_000, sid="s"))
    index = Index(tmp_path / "i.sqlite3")
    index.update(sources)
    assert index.sessions()[0].cost_usd == Decimal("25.000025")
    # Pretend genai-prices changed: the cached cost is stale and must be recomputed.
    index.conn.execute("UPDATE meta SET value='an older build' WHERE key='genai_prices'")
    index.conn.execute("UPDATE sessions SET stats=replace(stats, '25.000025', '1')")
    index.close()
    again = Index(tmp_path / "i.sqlite3")
    again.update(sources)
    assert again.sessions()[0].cost_usd == Decimal("25.000025")


def test_time_zone_change_rebuilds_daily_buckets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    proj, sources = _world(tmp_path)
    (proj / "s.jsonl").write_text(_line("a", 1, sid="s", ts="2026-11-20T23:30:00.000Z"))
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    try:
        index = Index(tmp_path / "i.sqlite3")
        index.update(sources)
        assert [b.day for b in index.sessions()[0].buckets.values()] == ["2026-11-20"]
        index.close()
        monkeypatch.setenv("TZ", "Pacific/Kiritimati")  # UTC+14
        time.tzset()
        again = Index(tmp_path / "i.sqlite3")
        again.update(sources)
        assert [b.day for b in again.sessions()[0].buckets.values()] == ["2026-11-21"]
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


def test_a_session_that_outgrew_the_default_window_shows_its_real_window(
    tmp_path: Path, claude_fixtures: Path
) -> None:
    from ctxtop.services.monitor import Monitor
    from tests.support.fixtures import scenario

    long = scenario("long")
    monitor = Monitor.open([str(claude_fixtures)], str(tmp_path / "api"), str(tmp_path / "c"))
    monitor.refresh()
    [view] = [v for v in monitor.views() if v.stats.session_id == long.session_id]
    # It went far past 200K on claude-opus-4-8 and compacted only after "prompt is too long".
    assert long.api_errors and "prompt is too long" in long.api_errors[0]
    peak = max(
        a["input_tokens"] + a["cache_read_input_tokens"] + a["cache_creation_input_tokens"]
        for a in long.answers("main")
    )  # fmt: skip  (the prompt alone: Claude Code's figure)
    assert peak > 200_000 and view.stats.max_context == peak
    # Claude Code 2.1.197 runs its default opus-4-8 with 1M; a prompt past its proactive point (967,000)
    # without a compaction would prove it never compacts proactively here.
    assert view.window == 1_000_000
    assert view.compaction.compact_at == (None if peak > 967_000 else 967_000)


def test_a_same_instant_copy_under_another_name_does_not_take_the_session(tmp_path: Path) -> None:
    # A real transcript and a byte-identical copy under a name that sorts first: both start at the same
    # instant, so only the records' sessionId (the real file's name) can decide. Path order gave the session
    # to the copy, and the real session showed context 0 (issue 8).
    real = scenario("refactor")
    proj = tmp_path / "claude" / real.relpath().parent
    proj.mkdir(parents=True)
    shutil.copyfile(real.path, proj / real.path.name)
    copy = proj / "00000000-0000-4000-8000-000000000000.jsonl"
    shutil.copyfile(real.path, copy)
    sources = Sources((ClaudeCode((tmp_path / "claude",)),))
    sid = real.path.stem
    ref = Index(tmp_path / "ref.sqlite3")
    ref.update(Sources((ClaudeCode((FIXTURES,)),)), only=[real.path])
    [expected] = [s for s in ref.sessions() if s.session_id == sid]
    for name, only in (("cold", None), ("copy-first", [copy]), ("real-first", [proj / real.path.name])):
        index = Index(tmp_path / f"{name}.sqlite3")
        if only is not None:
            index.update(sources, only=only)
        index.update(sources)
        got = {s.session_id: s for s in index.sessions()}
        assert got[sid].requests == expected.requests > 0, name
        assert got[sid].tokens == expected.tokens, name
        assert got[sid].context_tokens == expected.context_tokens and expected.context_tokens, name
        assert copy.stem not in got or got[copy.stem].requests == 0, name


def test_a_copy_does_not_take_the_session_from_an_index_written_before_the_rule(tmp_path: Path) -> None:
    # An index written before the sessionId rule ranks by "<start>|<path>" only; a same-instant copy found
    # later must not win against it.
    real = scenario("refactor")
    proj = tmp_path / "claude" / real.relpath().parent
    proj.mkdir(parents=True)
    shutil.copyfile(real.path, proj / real.path.name)
    sources = Sources((ClaudeCode((tmp_path / "claude",)),))
    index = Index(tmp_path / "i.sqlite3")
    index.update(sources)
    [before] = index.sessions()
    index.conn.execute("UPDATE requests SET rank = substr(rank, 1, 20) || substr(rank, 22)")
    assert {r[0][20] for r in index.conn.execute("SELECT rank FROM requests")} == {"|"}
    shutil.copyfile(real.path, proj / "00000000-0000-4000-8000-000000000000.jsonl")
    index.update(sources)
    got = {s.session_id: s.requests for s in index.sessions()}
    assert got[real.path.stem] == before.requests and got.get("00000000-0000-4000-8000-000000000000", 0) == 0
