"""The API session log writer and reader: file modes, whole lines under concurrency, resumable reads."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from ctxtop.sources.anthropic_api.log import (
    ApiLogWriter,
    iter_api_records,
    parse_api_line,
    read_api_records,
    utc_timestamp,
)


def _record(session_id: str = "s1", **extra: object) -> dict[str, object]:
    return {
        "type": "api_request",
        "schema": 1,
        "timestamp": "2026-01-02T03:04:05.678Z",
        "session_id": session_id,
        "model": "claude-sonnet-4-6",
        "usage": {"input_tokens": 1, "output_tokens": 2},
        **extra,
    }


def test_writer_creates_private_dir_and_file(tmp_path: Path) -> None:
    log_dir = tmp_path / "deep" / "api"
    writer = ApiLogWriter("s1", log_dir)
    writer.append(_record())
    writer.append(_record())
    assert stat.S_IMODE(log_dir.stat().st_mode) == 0o700
    assert stat.S_IMODE(writer.path.stat().st_mode) == 0o600
    assert writer.path == log_dir / "s1.jsonl"
    assert list(iter_api_records(writer.path)) == [_record(), _record()]


@pytest.mark.parametrize("bad", ["", "../x", "a/b", ".hidden", "x" * 300, "a b"])
def test_session_ids_that_are_not_safe_file_names_are_refused(tmp_path: Path, bad: str) -> None:
    with pytest.raises(ValueError):
        ApiLogWriter(bad, tmp_path)


def test_timestamp_is_utc_with_z() -> None:
    from datetime import datetime, timedelta, timezone

    moment = datetime(2026, 1, 2, 4, 4, 5, 678000, tzinfo=timezone(timedelta(hours=1)))
    assert utc_timestamp(moment) == "2026-01-02T03:04:05.678Z"


def test_reader_skips_malformed_waits_for_partial_line_and_resumes(tmp_path: Path) -> None:
    path = tmp_path / "s1.jsonl"
    good = json.dumps(_record()) + "\n"
    path.write_text(good + "not json\n" + json.dumps({"type": "other"}) + "\n\n" + good + good[:20])
    bad: list[int] = []
    rows = list(read_api_records(path, on_malformed=lambda offset, line: bad.append(offset)))
    assert len(rows) == 2 and len(bad) == 2
    end = rows[-1][0]
    with path.open("a") as fh:  # the half-written line completes
        fh.write(good[20:])
    resumed = list(read_api_records(path, offset=end))
    assert [r for _, r in resumed] == [_record()]
    assert resumed[0][0] == path.stat().st_size
    assert len(list(iter_api_records(path))) == 3


def test_parse_rejects_records_without_required_keys() -> None:
    record = _record()
    del record["usage"]
    assert parse_api_line(json.dumps(record)) is None
    assert parse_api_line(json.dumps(_record(usage=None))) is not None  # a failed request has no usage


def test_concurrent_writers_never_interleave_lines(tmp_path: Path) -> None:
    # Separate processes append large records to the same file at once: every line must stay whole.
    script = textwrap.dedent(
        """
        import sys
        from ctxtop.sources.anthropic_api.log import ApiLogWriter
        writer = ApiLogWriter("shared", sys.argv[1])
        for i in range(150):
            writer.append({"type": "api_request", "schema": 1, "timestamp": "t", "session_id": "shared",
                           "model": "m", "usage": {"input_tokens": i}, "pad": sys.argv[2] * 6000})
        """
    )
    procs = [subprocess.Popen([sys.executable, "-c", script, str(tmp_path), letter]) for letter in "abcd"]
    assert all(p.wait(timeout=60) == 0 for p in procs)
    lines = (tmp_path / "shared.jsonl").read_bytes().splitlines()
    assert len(lines) == 600
    records = [parse_api_line(line) for line in lines]
    assert all(r is not None and len(set(r["pad"])) == 1 for r in records)
    assert os.access(tmp_path / "shared.jsonl", os.R_OK)
