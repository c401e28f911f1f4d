"""``ctxtop history export|import`` round trips, and the weekly/monthly groupings with their totals rows.

They run on the repository's own fixtures (``claude_fixtures``); ``spread`` copies them with two of the three
sessions moved back in time (8 and 40 days: every timestamp of the transcript), so the history spans days,
weeks and months.
"""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from ctxtop import cli

REPORTS = ("sessions", "daily", "weekly", "monthly", "projects", "models")
# Where a session's transcript lives, not what it cost: these differ between the source and the import.
WHERE = ("transcript_deleted", "archived_requests")
_TIMESTAMP = re.compile(rb'"timestamp":"([^"]+)"')


def _out(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    assert cli.main(list(argv)) == 0
    return capsys.readouterr().out


def _reports(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, list[dict]]:
    out = {}
    for kind in REPORTS:
        rows = json.loads(_out(capsys, "report", kind, "--json", *args))
        out[kind] = [{k: v for k, v in r.items() if k not in WHERE} for r in rows]
    return out


@pytest.fixture
def spread(tmp_path: Path, claude_fixtures: Path) -> Path:
    """The fixtures' config dir, its sessions 0, 8 and 40 days before the day they were recorded."""
    dest = tmp_path / "claude"
    shutil.copytree(claude_fixtures, dest)
    files = sorted((dest / "projects").glob("*/*.jsonl"))
    assert len(files) == 3
    for days, path in zip((0, 8, 40), files, strict=True):

        def earlier(match: re.Match[bytes], days: int = days) -> bytes:
            when = datetime.fromisoformat(match.group(1).decode().replace("Z", "+00:00")) - timedelta(
                days=days
            )
            return (
                b'"timestamp":"'
                + when.isoformat(timespec="milliseconds").replace("+00:00", "Z").encode()
                + b'"'
            )

        path.write_bytes(_TIMESTAMP.sub(earlier, path.read_bytes()))
    return dest


def test_export_then_import_into_a_fresh_index_gives_the_same_reports(
    spread: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = ("--claude-dir", str(spread), "--data-dir", str(tmp_path / "old-machine"))
    want = _reports(capsys, *source)
    assert len(want["sessions"]) == len(want["daily"]) == len(want["weekly"]) == len(want["monthly"]) == 3
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
        f"Imported {n_requests:,} requests and {n_compactions:,} compactions into 3 sessions"
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
    spread: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = ("--claude-dir", str(spread), "--data-dir", str(tmp_path / "a"))
    days = sorted(r["date"] for r in json.loads(_out(capsys, "report", "daily", "--json", *source)))
    assert len(days) == 3
    since, until = days[1], days[2]  # the two later sessions; the one 40 days back is left out
    text = _out(capsys, "history", "export", "--since", since, "--until", until, *source)
    records = [json.loads(line) for line in text.splitlines()]
    window = ("--since", since, "--until", until)
    sessions = json.loads(_out(capsys, "report", "sessions", "--json", *window, *source))
    assert len(sessions) == 2
    assert {r["session_id"] for r in records} == {s["session_id"] for s in sessions}
    daily = json.loads(_out(capsys, "report", "daily", "--json", *window, *source))
    # Damaged lines are skipped and listed with the reason; the rest is imported, and a bad line leaves
    # nothing behind (each of these is a real record made bad in one field, under a key of its own).
    good = json.loads(text.splitlines()[0])

    def bad(key: str, **changes: object) -> str:
        return json.dumps({**good, "key": key, **changes})

    lines = text.splitlines()
    lines[1:1] = [
        "{not json",
        "[1]",
        '{"record": "request", "session_id": "../x", "ts": 1}',
        "",
        bad("k:surrogate", project=good["project"] + "\ud800"),  # a lone surrogate, as JSON escapes it
        bad("k:big", tokens={**good["tokens"], "input": 10**30}),  # past SQLite's 64 bits
        "[" * 100_000 + "]" * 100_000,
        bad("k:ts", ts=10**400),
    ]
    dump = tmp_path / "damaged.jsonl"
    dump.write_bytes("\n".join(lines).encode() + b"\n" + b'{"record": "request", "key": "\xff"}\n')
    empty = tmp_path / "empty"
    target = ("--claude-dir", str(empty), "--data-dir", str(tmp_path / "b"))
    assert cli.main(["history", "import", str(dump), *target]) == 0
    captured = capsys.readouterr()
    assert "8 lines skipped" in captured.out
    for said in (
        "skipped line 2: not JSON",
        "skipped line 3: not a JSON object",
        "skipped line 4: bad session_id",
        "skipped line 6: project is not valid Unicode (lone surrogate '\\ud800')",
        "skipped line 7: not a count: 1000000000000000000000000000000",
        "skipped line 8: JSON nested too deeply",
        "skipped line 9: bad ts: 1000000000",
        f"skipped line {len(lines) + 1}: not UTF-8 (byte 0xff at ",
    ):
        assert said in captured.err, (said, captured.err)
    imported = json.loads(_out(capsys, "report", "daily", "--json", *target))
    assert imported == daily
    assert cli.main(["history", "import", str(tmp_path / "missing.jsonl"), *target]) == 1
    assert "cannot read" in capsys.readouterr().err


def test_weekly_and_monthly_reports_and_totals_rows(
    spread: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ("--claude-dir", str(spread), "--data-dir", str(tmp_path / "d"))
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
    assert len(weekly) == len(monthly) == 3
    # JSON is rows only; text and CSV end with the total.
    sessions = json.loads(_out(capsys, "report", "sessions", "--json", *args))
    assert all(s["session_id"] != "TOTAL" for s in sessions)
    for kind, label in (("daily", "date"), ("weekly", "week"), ("monthly", "month"), ("projects", "project"),
                        ("models", "model")):  # fmt: skip
        assert all(r[label] != "TOTAL" for r in json.loads(_out(capsys, "report", kind, "--json", *args)))
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
    # The sessions CSV: a row per session, then TOTAL with the sums (and the session count).
    *rows, total_row = csv.DictReader(io.StringIO(_out(capsys, "report", "sessions", "--csv", *args)))
    assert [r["session_id"] for r in rows] == [s["session_id"] for s in sessions]
    assert total_row["session_id"] == "TOTAL" and int(total_row["sessions"]) == len(sessions)
    assert Decimal(total_row["cost_usd"]) == total
    for key in sessions[0]["tokens"]:
        assert int(total_row[f"tokens.{key}"]) == sum(s["tokens"][key] for s in sessions), key
    assert int(total_row["turns"]) == sum(s["turns"] for s in sessions)
