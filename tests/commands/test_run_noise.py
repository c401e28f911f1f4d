"""``ctxtop report noise``: removed tokens, re-reads until compaction, worth, share, negatives, estimates."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from ctxtop.adapters import filter_log
from ctxtop.commands import noise as noise_cmd
from ctxtop.core import noise as accounting
from ctxtop.core.pricing import PriceBook
from ctxtop.services import noise
from ctxtop.services.monitor import Monitor

NOISY = "".join(f"tests/t.py::test_{i} PASSED [{i % 100:3d}%]\n" for i in range(300)) + "1 failed\n"


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")


def _transcript(
    path: Path, sid: str, t0: float, *, bash_output: str | None = None, compact_after: int = 99
) -> None:
    """A session: a Bash call at t0, then five API requests, with a compaction after ``compact_after`` of them."""
    lines = []

    def rec(kind: str, ts: float, message: dict | None = None, **extra: object) -> None:
        lines.append({"type": kind, "sessionId": sid, "cwd": "/home/u/proj", "timestamp": _iso(ts),
                      **({"message": message} if message else {}), **extra})  # fmt: skip

    usage = {"input_tokens": 10, "cache_read_input_tokens": 20000, "cache_creation_input_tokens": 1000,
             "output_tokens": 50, "cache_creation": {"ephemeral_5m_input_tokens": 1000}}  # fmt: skip
    # Each request's content blocks are lines of their own with one message id and request id (as Claude
    # Code writes them): the index counts each request once.
    rec("assistant", t0 - 1, {"id": "m0", "model": "claude-sonnet-4-5", "usage": usage, "content": [
        {"type": "tool_use", "id": "tu1", "name": "Bash", "input": {"command": "pytest -v"}}]}, requestId="req_0")  # fmt: skip
    if bash_output is not None:
        rec("user", t0, {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "tu1",
            "content": bash_output, "is_error": False}]}, toolUseResult={"stdout": bash_output, "stderr": ""})  # fmt: skip
    for i in range(5):
        if i == compact_after:
            rec("system", t0 + 1.7 + i, subtype="compact_boundary")
        rec(
            "assistant",
            t0 + 2 + i,
            {"id": f"m{i + 1}", "model": "claude-sonnet-4-5", "usage": usage, "content": []},
            requestId=f"req_{i + 1}",
        )
        rec(
            "assistant",
            t0 + 2.5 + i,
            {"id": f"m{i + 1}", "model": "claude-sonnet-4-5", "usage": usage, "content": []},
            requestId=f"req_{i + 1}",
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    monkeypatch.setenv("CTXTOP_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("CTXTOP_CONFIG_DIR", str(tmp_path / "cfg"))
    return tmp_path / "claude", tmp_path / "data" / "filter-log"


def _rows(claude: Path, log: Path, **filters: str) -> list[noise.Row]:
    """The report's rows over a fresh index of ``claude`` (as ``ctxtop report noise`` builds them)."""
    monitor = Monitor.open([str(claude)], str(claude.parent / "api"), str(claude.parent / "cache"))
    try:
        monitor.refresh()
        return noise.build_rows(monitor.index, log_folder=log, **filters)
    finally:
        monitor.close()


def test_filtered_session_worth_counts_rereads_until_compaction(world: tuple[Path, Path]) -> None:
    claude, log = world
    t0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC).timestamp()
    _transcript(claude / "projects" / "-p" / "s-filtered.jsonl", "s-filtered", t0, compact_after=3)
    filter_log.append({"session_id": "s-filtered", "cwd": "/home/u/proj", "raw_chars": 9000, "raw_tokens": 3000,
                       "filtered_chars": 600, "filtered_tokens": 200}, folder=log, now=t0)  # fmt: skip
    (row,) = _rows(claude, log)
    assert (row.estimated, row.removed_tokens) == (False, 2800)
    assert row.rereads == 2800 * 3  # three requests before the compaction
    rates = PriceBook().rates("claude-sonnet-4-5", t0 + 2, 21010)
    assert rates is not None
    expected = 2800 * (rates.cache_write_5m + 2 * rates.cache_read) / Decimal(1_000_000)
    assert row.worth_usd == expected
    assert row.session_input_tokens == 6 * 21010
    assert row.share == pytest.approx(8400 / (6 * 21010 + 8400))


def test_large_output_credited_as_preview_can_be_negative(world: tuple[Path, Path]) -> None:
    claude, log = world
    t0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC).timestamp()
    _transcript(claude / "projects" / "-p" / "s-big.jsonl", "s-big", t0)
    filter_log.append({"session_id": "s-big", "raw_chars": 300_000, "raw_tokens": 90_000,
                       "filtered_chars": 12_000, "filtered_tokens": 3_000}, folder=log, now=t0)  # fmt: skip
    (row,) = _rows(claude, log)
    assert row.credited_raw_tokens == 600 + accounting.PREVIEW_OVERHEAD_TOKENS
    assert row.removed_tokens < 0 and row.negative_outputs == 1
    assert row.worth_usd is not None and row.worth_usd < 0


def test_unfiltered_session_is_estimated_from_its_transcript(world: tuple[Path, Path]) -> None:
    claude, log = world
    t0 = datetime(2026, 11, 21, 9, 0, tzinfo=UTC).timestamp()
    _transcript(claude / "projects" / "-p" / "s-plain.jsonl", "s-plain", t0, bash_output=NOISY)
    (row,) = _rows(claude, log)
    assert row.estimated and row.outputs == 1
    assert row.removed_tokens > 0.8 * row.raw_tokens
    assert row.rereads == row.removed_tokens * 5
    assert _rows(claude, log, since="2026-11-22") == []
    assert _rows(claude, log, project="elsewhere") == []


def test_report_formats(world: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    claude, log = world
    t0 = datetime(2026, 11, 21, 9, 0, tzinfo=UTC).timestamp()
    _transcript(claude / "projects" / "-p" / "s-plain.jsonl", "s-plain", t0, bash_output=NOISY)
    base = {"claude_dir": [str(claude)], "since": None, "until": "20261130", "project": None}
    assert noise_cmd.run(argparse.Namespace(json=True, csv=False, **base)) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["sessions"][0]["session_id"] == "s-plain" and data["days"][0]["estimated"] is True
    assert noise_cmd.run(argparse.Namespace(json=False, csv=True, **base)) == 0
    assert capsys.readouterr().out.startswith("session_id,")
    assert noise_cmd.run(argparse.Namespace(json=False, csv=False, **base)) == 0
    assert "estimate" in capsys.readouterr().out
