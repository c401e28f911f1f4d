"""A session of which only a subagent's file is left (the main transcript deleted), written by the real CLI.

Its project comes from the records' ``cwd``, not from the project dir name (Claude Code writes every
character that is not a letter or digit as ``-``, so ``my-proj.v2`` cannot be decoded back); its context is
unknown (no main-chain request), and its active time and burn rate come from the subagent's own requests.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from tests.support.claude_cli import ClaudeCLI
from tests.support.fake_api import FakeAPI, bash, text, tool

pytestmark = pytest.mark.timeout(60)


def test_a_session_left_with_only_a_subagent_file(tmp_path: Path, fake_api: FakeAPI) -> None:
    claude = ClaudeCLI(tmp_path, fake_api, project="my-proj.v2")
    task = {"description": "Count files", "prompt": "Count the files.", "subagent_type": "general-purpose"}
    fake_api.script([tool("Agent", task), bash("ls"), text("No files."), text("The subagent found none.")])
    run = claude.run("How many files are there? Ask a subagent.")
    [main] = [p for p in claude.transcripts() if "subagents" not in p.parts]
    [sub] = [p for p in claude.transcripts() if "subagents" in p.parts]
    assert main.parent.name != str(claude.project).replace("/", "-")  # the name is lossy: "-v2", not ".v2"
    main.unlink()
    # Burn needs a minute of activity: the subagent's second request (and what follows it) two minutes on.
    lines = sub.read_text().splitlines()
    ids = [(json.loads(line).get("message") or {}).get("id") for line in lines]
    second = next(i for i, mid in enumerate(ids) if mid and mid != next(m for m in ids if m))
    for i in range(second, len(lines)):
        record = json.loads(lines[i])
        if "timestamp" in record:
            moved = datetime.fromisoformat(record["timestamp"].replace("Z", "+00:00")) + timedelta(minutes=2)
            record["timestamp"] = moved.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        lines[i] = json.dumps(record)
    sub.write_text("\n".join(lines) + "\n")

    rows = json.loads(claude.ctxtop("report", "sessions", "--json").stdout)
    [row] = [r for r in rows if r["session_id"] == run.session_id]
    records = [json.loads(line) for line in sub.read_text().splitlines() if line.strip()]
    assert {r["cwd"] for r in records if "cwd" in r} == {str(claude.project)}
    assert row["project"] == str(claude.project)
    assert (
        row["context_tokens"] is None and row["fill"] is None and row["room_before_compaction_tokens"] is None
    )
    assert row["transcript_deleted"] is True and row["requests"] == 2

    # Active time: the span of the subagent's requests (no gap over five minutes); burn: cost per active hour.
    stamps = sorted(
        datetime.fromisoformat(r["timestamp"].replace("Z", "+00:00")).timestamp()
        for r in records
        if r.get("type") == "assistant"
    )
    span = stamps[-1] - stamps[0]
    assert 120 <= span < 180
    assert row["active_minutes"] == pytest.approx(span / 60, abs=0.01)
    burn = Decimal(row["cost_usd"]) / Decimal(span / 3600)
    assert Decimal(row["burn_usd_per_hour"]) == pytest.approx(burn, rel=Decimal("0.01"))
