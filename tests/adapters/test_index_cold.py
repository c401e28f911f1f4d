"""The cold index's write path: one upsert per request and file leaves exactly the rows one upsert per copy
did (owner, counts, order), on the fixture transcripts (written by the real CLI) and copies of them."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

import ctxtop.adapters.index as index_module
from ctxtop.adapters.index import Index, one_per_request
from ctxtop.sources.claude_code.source import ClaudeCode
from ctxtop.sources.registry import Sources

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "claude"


def _history(tmp_path: Path) -> Path:
    """The fixtures, plus a resumed-style copy of every session under another name that starts earlier (its
    first line moved to the front), and a copy that keeps only the first half of the lines: the same requests
    in several files, with stale and final counts, owned by whichever file starts first."""
    history = tmp_path / "claude"
    shutil.copytree(FIXTURES / "projects", history / "projects")
    for src in sorted((FIXTURES / "projects").glob("*/*.jsonl")):
        lines = src.read_bytes().split(b"\n")[:-1]
        half = history / "projects" / src.parent.name / f"half-{src.name}"
        half.write_bytes(b"\n".join(lines[: len(lines) // 2]) + b"\n")
        moved = history / "projects" / f"{src.parent.name}-copy" / src.name
        moved.parent.mkdir(parents=True, exist_ok=True)
        moved.write_bytes(b"\n".join([lines[-1], *lines[:-1]]) + b"\n")
    return history


def _rows(db: Path) -> tuple[list[tuple], list[tuple]]:
    conn = sqlite3.connect(db)
    try:
        columns = [r[1] for r in conn.execute("PRAGMA table_info(requests)") if r[1] != "seq"]
        rows = conn.execute(f"SELECT {', '.join(columns)} FROM requests ORDER BY key").fetchall()
        order = conn.execute("SELECT key FROM requests ORDER BY session_id, ts, seq").fetchall()
        return rows, order
    finally:
        conn.close()


def test_one_upsert_per_request_leaves_the_rows_one_per_copy_did(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sources = Sources((ClaudeCode((_history(tmp_path),)),))
    merged = Index(tmp_path / "merged.sqlite3")
    merged.update(sources)
    calls: list[tuple[int, int]] = []

    def every_copy(rows: list[tuple]) -> list[tuple]:
        calls.append((len(rows), len(one_per_request(rows))))
        return list(rows)

    monkeypatch.setattr(index_module, "one_per_request", every_copy)
    copies = Index(tmp_path / "copies.sqlite3")
    copies.update(sources)
    # The transcripts do repeat requests within a file (one line per content block): the merge had work.
    assert sum(n for n, _ in calls) > sum(m for _, m in calls) > 0
    assert _rows(tmp_path / "merged.sqlite3") == _rows(tmp_path / "copies.sqlite3")

    def summary(ix: Index) -> list[tuple]:
        return [(s.session_id, s.tokens, s.cost_usd, s.reread_tokens, s.turns) for s in ix.sessions()]

    assert summary(merged) == summary(copies)


def test_the_largest_copy_gives_the_counts_and_the_first_the_owner() -> None:
    def row(key: str, sid: str, model: str, output: int, total: int, tier: str) -> tuple:
        counts = (1, output, 0, 0, 0, 1, output, 0, 0, 0, 0, 0)
        return (key, sid, "main", 10.0, model, *counts, tier, None, 0, total, 0)

    first = row("k", "s1", "m1", 5, 6, "standard")
    bigger = row("k", "s2", "m2", 50, 51, "batch")
    same = row("k", "s3", "m3", 50, 51, "priority")
    other = row("j", "s1", "m1", 1, 2, "standard")
    merged = one_per_request([first, other, bigger, same])
    assert [r[0] for r in merged] == ["k", "j"]
    assert merged[0][:5] == first[:5] and merged[0][17:20] == first[17:20]
    assert merged[0][5:17] == bigger[5:17] and merged[0][20:] == bigger[20:]
