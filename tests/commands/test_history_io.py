"""``ctxtop history export|import`` round trips, and the weekly/monthly groupings with their totals rows."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from ctxtop import cli

REPORTS = ("sessions", "daily", "weekly", "monthly", "projects", "models")
# Where a session's transcript lives, not what it cost: these differ between the source and the import.
WHERE = ("transcript_deleted", "archived_requests")


def _out(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    assert cli.main(list(argv)) == 0
    return capsys.readouterr().out


def _reports(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, list[dict]]:
    out = {}
    for kind in REPORTS:
        rows = json.loads(_out(capsys, "report", kind, "--json", *args))
        out[kind] = [{k: v for k, v in r.items() if k not in WHERE} for r in rows]
    return out


def test_export_then_import_into_a_fresh_index_gives_the_same_reports(
    corpus_copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = ("--claude-dir", str(corpus_copy), "--data-dir", str(tmp_path / "old-machine"))
    want = _reports(capsys, *source)
    assert len(want["sessions"]) == 6
    dump = tmp_path / "history.jsonl"
    dump.write_text(_out(capsys, "history", "export", *source))
    records = [json.loads(line) for line in dump.read_text().splitlines()]
    assert {r["record"] for r in records} == {"request", "compaction"}
    assert sum(r["record"] == "request" for r in records) == sum(s["requests"] for s in want["sessions"])
    assert all(r["session_id"] and r["model"] and "project" in r for r in records if r["record"] == "request")
    # A new machine: no transcripts at all, an empty index.
    empty = tmp_path / "new-claude"
    (empty / "projects").mkdir(parents=True)
    target = ("--claude-dir", str(empty), "--data-dir", str(tmp_path / "new-machine"))
    said = _out(capsys, "history", "import", str(dump), *target)
    n_requests = sum(r["record"] == "request" for r in records)
    n_compactions = len(records) - n_requests
    assert said.startswith(
        f"Imported {n_requests:,} requests and {n_compactions:,} compactions into 6 sessions"
    )
    got = _reports(capsys, *target)
    assert got == want
    sessions = json.loads(_out(capsys, "report", "sessions", "--json", *target))
    assert all(s["transcript_deleted"] for s in sessions)
    # Idempotent: a second import adds nothing and changes no number.
    said = _out(capsys, "history", "import", str(dump), *target)
    assert said.startswith("Imported 0 requests and 0 compactions into 0 sessions")
    assert _reports(capsys, *target) == want
    # Into the index that has the transcripts: every request is already there (same key as indexing).
    said = _out(capsys, "history", "import", str(dump), *source)
    assert said.startswith("Imported 0 requests")
    assert _reports(capsys, *source) == want


def test_export_since_until_and_bad_lines(
    corpus_copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = ("--claude-dir", str(corpus_copy), "--data-dir", str(tmp_path / "a"))
    text = _out(capsys, "history", "export", "--since", "2026-02-10", "--until", "2026-02-11", *source)
    records = [json.loads(line) for line in text.splitlines()]
    assert records and all("2026-02-10" <= r["time"][:10] <= "2026-02-11" for r in records)
    daily = json.loads(
        _out(capsys, "report", "daily", "--json", "--since", "2026-02-10", "--until", "2026-02-11", *source)
    )
    # Damaged lines are skipped and listed; the rest is imported.
    lines = text.splitlines()
    lines[1:1] = ["{not json", "[1]", '{"record": "request", "session_id": "../x", "ts": 1}', ""]
    dump = tmp_path / "damaged.jsonl"
    dump.write_text("\n".join(lines) + "\n")
    empty = tmp_path / "empty"
    target = ("--claude-dir", str(empty), "--data-dir", str(tmp_path / "b"))
    assert cli.main(["history", "import", str(dump), *target]) == 0
    captured = capsys.readouterr()
    assert "3 lines skipped" in captured.out
    assert "skipped line 2" in captured.err and "skipped line 4: bad session_id" in captured.err
    imported = json.loads(_out(capsys, "report", "daily", "--json", *target))
    assert imported == daily
    assert cli.main(["history", "import", str(tmp_path / "missing.jsonl"), *target]) == 1
    assert "cannot read" in capsys.readouterr().err


def test_weekly_and_monthly_reports_and_totals_rows(
    corpus_copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ("--claude-dir", str(corpus_copy), "--data-dir", str(tmp_path / "d"))
    daily = json.loads(_out(capsys, "report", "daily", "--json", *args))
    weekly = json.loads(_out(capsys, "report", "weekly", "--json", *args))
    monthly = json.loads(_out(capsys, "report", "monthly", "--json", *args))
    total = sum(Decimal(r["cost_usd"]) for r in daily)
    for rows in (weekly, monthly):
        assert sum(Decimal(r["cost_usd"]) for r in rows) == total
        assert sum(r["requests"] for r in rows) == sum(r["requests"] for r in daily)
    for row in weekly:
        assert date.fromisoformat(row["week"]).weekday() == 0
        days = [
            d
            for d in daily
            if 0 <= (date.fromisoformat(d["date"]) - date.fromisoformat(row["week"])).days < 7
        ]
        assert Decimal(row["cost_usd"]) == sum(Decimal(d["cost_usd"]) for d in days)
    for row in monthly:
        days = [d for d in daily if d["date"][:7] == row["month"]]
        assert Decimal(row["cost_usd"]) == sum(Decimal(d["cost_usd"]) for d in days)
    assert [r["week"] for r in weekly] == sorted(r["week"] for r in weekly)
    # JSON is rows only; text and CSV end with the total.
    assert all(r["week"] != "TOTAL" for r in weekly)
    sessions = json.loads(_out(capsys, "report", "sessions", "--json", *args))
    for kind, label in (("daily", "date"), ("weekly", "week"), ("monthly", "month"), ("projects", "project"),
                        ("models", "model")):  # fmt: skip
        rows = list(csv.DictReader(io.StringIO(_out(capsys, "report", kind, "--csv", *args))))
        assert rows[-1][label] == "TOTAL"
        assert Decimal(rows[-1]["cost_usd"]) == total
        assert int(rows[-1]["requests"]) == sum(int(r["requests"]) for r in rows[:-1])
        assert int(rows[-1]["sessions"]) == len(sessions)
        last = _out(capsys, "report", kind, *args).splitlines()[-1].split()
        assert last[0] == "TOTAL" and last[-1] == f"${total:.2f}" and last[1] == str(len(sessions))
    last = _out(capsys, "report", "sessions", *args).splitlines()[-1].split()
    assert last[0] == "TOTAL" and last[-1] == f"${total:.2f}"
    assert int(last[1]) == sum(s["turns"] for s in sessions)
