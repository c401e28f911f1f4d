"""Codex rollouts through the real index (SQLite on tmp_path): totals, costs, live growth, restarts."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ctxtop.adapters.index import Index
from ctxtop.core.metrics import SessionStats
from ctxtop.sources.codex.source import Codex
from ctxtop.sources.registry import Sources
from tests.sources.codex.expected import (
    CODEX_HOME,
    COST,
    D_COMPLETED,
    FILES,
    MODELS,
    TOKENS,
    UNPRICED_E,
    A,
    B,
    C,
    D,
    E,
)


@pytest.fixture(autouse=True)
def utc(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    # Days are local: pin the zone.
    import time

    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def _home(tmp_path: Path, only: list[str] | None = None) -> Path:
    home = tmp_path / "codex"
    for sid, rel in FILES.items():
        if only is None or sid in only:
            (home / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(CODEX_HOME / rel, home / rel)
    return home


def _sessions(index: Index) -> dict[str, SessionStats]:
    return {s.session_id: s for s in index.sessions()}


def _figures(s: SessionStats) -> tuple[int, int, int, int]:
    return (s.requests, s.tokens.input, s.tokens.output, s.tokens.cache_read)


def test_fixture_sessions_totals_and_costs(tmp_path: Path) -> None:
    home = _home(tmp_path)
    index = Index(tmp_path / "index.sqlite3")
    try:
        index.update(Sources((Codex((home,)),)))
        found = _sessions(index)
        for sid in FILES:
            n, i, o, cr, reasoning = TOKENS[sid]
            s = found[sid]
            assert (s.source, _figures(s), s.tokens.cache_write) == ("codex", (n, i, o, cr), 0), sid
            assert s.reasoning_tokens == reasoning, sid
            assert sorted(s.models) == MODELS[sid], sid
            assert s.cost.total == COST[sid], sid
            assert s.cwd == "/home/dev/shop" and s.git_branch == "fix-cart-totals"
        # A 5-minute pause with 95% of the context still read from OpenAI's cache is no expiry (nothing was
        # written again: OpenAI bills no cache writes).
        assert found[A].expiries == [] and found[A].cache_miss_cost > 0
        e = found[E]
        assert e.unknown_models == ["gpt-oss-local"]
        assert (
            e.unknown_cost_tokens.input,
            e.unknown_cost_tokens.output,
            e.unknown_cost_tokens.cache_read,
        ) == UNPRICED_E
        assert [(c.trigger, c.pre_tokens) for c in e.compactions] == [("codex", 180000)]
        # B's first day, replayed at the head of its fork C, stays B's: C has only its own turn.
        assert found[C].requests == 1 and found[B].requests == 3
    finally:
        index.close()


def test_resumed_session_grows_in_place_across_days(tmp_path: Path) -> None:
    home = _home(tmp_path, [B])
    path = home / FILES[B]
    lines = path.read_bytes().splitlines(keepends=True)
    cut = next(n for n, raw in enumerate(lines) if b"2026-11-22T" in raw)
    path.write_bytes(b"".join(lines[:cut]))
    sources = Sources((Codex((home,)),))
    index = Index(tmp_path / "index.sqlite3")
    try:
        index.update(sources)
        assert _figures(_sessions(index)[B]) == (2, 13224, 1100, 11776)
    finally:
        index.close()
    # A restart, then `codex resume` appends: only the new bytes are read, the model comes from the saved
    # parser state and the new turn_context, and the re-emitted counters add nothing.
    with open(path, "ab") as fh:
        fh.write(b"".join(lines[cut:]))
    index = Index(tmp_path / "index.sqlite3")
    try:
        result = index.update(sources)
        assert result.bytes_read == sum(len(x) for x in lines[cut:])
        b = _sessions(index)[B]
        assert _figures(b) == TOKENS[B][:4]
        assert sorted(b.models) == MODELS[B]
        assert sorted(b.buckets) == ["2026-11-21|gpt-5-codex", "2026-11-22|gpt-5.1-codex"]
        assert b.cost.total == COST[B]
    finally:
        index.close()


def test_half_written_last_line_counts_once_complete(tmp_path: Path) -> None:
    home = _home(tmp_path, [D])
    path = home / FILES[D]
    sources = Sources((Codex((home,)),))
    index = Index(tmp_path / "index.sqlite3")
    try:
        index.update(sources)
        assert _figures(_sessions(index)[D]) == TOKENS[D][:4]
        # Codex finishes writing the line.
        from tests.support.make_codex_fixtures import session_d

        _, half = session_d()
        whole = _complete_d()
        assert whole.startswith(half)
        with open(path, "ab") as fh:
            fh.write(whole[len(half) :].encode() + b"\n")
        index.update(sources)
        assert _figures(_sessions(index)[D]) == D_COMPLETED[:4]
        index.update(sources)  # nothing new: nothing counted twice
        assert _figures(_sessions(index)[D]) == D_COMPLETED[:4]
    finally:
        index.close()


def _complete_d() -> str:
    from tests.support.make_codex_fixtures import token_count, usage

    return token_count(
        "2026-11-24T11:00:09.010Z", usage(12800, 5888, 500, 256), usage(6800, 5888, 300, 128), 258400
    )


def test_a_copy_of_a_session_is_counted_once(tmp_path: Path) -> None:
    # Codex moves a session it archives to archived_sessions/; a copy left in both places is one session.
    home = _home(tmp_path, [A])
    (home / "archived_sessions").mkdir()
    shutil.copyfile(home / FILES[A], home / "archived_sessions" / Path(FILES[A]).name)
    index = Index(tmp_path / "index.sqlite3")
    try:
        index.update(Sources((Codex((home,)),)))
        assert _figures(_sessions(index)[A]) == TOKENS[A][:4]
    finally:
        index.close()


@pytest.mark.parametrize("sid", [A, E])
def test_cold_and_warm_index_agree(tmp_path: Path, sid: str) -> None:
    """Read line by line across restarts (the live tail), the figures are those of one cold read."""
    home = _home(tmp_path, [sid])
    path = home / FILES[sid]
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"")
    sources = Sources((Codex((home,)),))
    for raw in lines:
        with open(path, "ab") as fh:
            fh.write(raw)
        index = Index(tmp_path / "warm.sqlite3")
        try:
            index.update(sources)
        finally:
            index.close()
    warm = Index(tmp_path / "warm.sqlite3")
    cold = Index(tmp_path / "cold.sqlite3")
    try:
        cold.update(sources)
        w, c = _sessions(warm)[sid], _sessions(cold)[sid]
        assert (_figures(w), w.cost.total, w.models, w.context_tokens) == (
            _figures(c), c.cost.total, c.models, c.context_tokens,
        )  # fmt: skip
        assert _figures(w) == TOKENS[sid][:4]
    finally:
        warm.close()
        cold.close()


def test_an_index_of_schema_9_gains_the_reasoning_column_and_keeps_its_requests(tmp_path: Path) -> None:
    import sqlite3

    home = _home(tmp_path, [A])
    sources = Sources((Codex((home,)),))
    index = Index(tmp_path / "index.sqlite3")
    index.update(sources)
    index.close()
    conn = sqlite3.connect(tmp_path / "index.sqlite3")
    conn.execute("ALTER TABLE requests DROP COLUMN ro")  # what schema 9 had
    conn.execute("UPDATE meta SET value='9' WHERE key='schema'")
    conn.commit()
    conn.close()
    index = Index(tmp_path / "index.sqlite3")
    try:
        a = _sessions(index)[A]
        assert _figures(a) == TOKENS[A][:4]
        assert "ro" in {row[1] for row in index.conn.execute("PRAGMA table_info(requests)")}
    finally:
        index.close()


def test_history_export_and_import_keep_codex_sessions(tmp_path: Path) -> None:
    import json

    from ctxtop.adapters import index_io

    home = _home(tmp_path)
    index = Index(tmp_path / "index.sqlite3")
    try:
        index.update(Sources((Codex((home,)),)))
        lines = [json.dumps(r) for r in index_io.export(index)]
    finally:
        index.close()
    assert all(json.loads(x)["source"] == "codex" for x in lines)
    # Into an empty index, for a Codex home that holds none of the files: archived sessions filed under it.
    other = Sources((Codex((tmp_path / "elsewhere",)),))
    fresh = Index(tmp_path / "fresh.sqlite3")
    try:
        fresh.scope = other.roots()
        result = index_io.import_lines(fresh, lines, other)
        assert result.added == sum(TOKENS[s][0] for s in FILES)
        found = _sessions(fresh)
        for sid in FILES:
            assert (_figures(found[sid]), found[sid].reasoning_tokens) == (TOKENS[sid][:4], TOKENS[sid][4]), (
                sid
            )
            assert found[sid].source == "codex" and found[sid].cost.total == COST[sid]
    finally:
        fresh.close()


def test_a_codex_session_has_no_context_breakdown_rather_than_claude_codes(tmp_path: Path) -> None:
    # The breakdown asks the session's source for its events (Source.context_events); Codex has no reader
    # for them, so there is none, rather than its rollout read as a Claude Code transcript.
    from ctxtop.services.context_io import session_breakdown

    index = Index(tmp_path / "index.sqlite3")
    try:
        index.update(Sources((Codex((_home(tmp_path),)),)))
        assert index.transcript_path(A) is not None
        assert session_breakdown(index, A) is None
    finally:
        index.close()
