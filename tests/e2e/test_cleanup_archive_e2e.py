"""Claude Code's own cleanup (``cleanupPeriodDays``) deletes old transcripts: ctxtop keeps their history."""

from __future__ import annotations

import json
import os
import time

import pytest

from tests.support.claude_cli import CLAUDE_VERSIONS, ClaudeCLI
from tests.support.fake_api import FakeAPI, Usage, bash, text

pytestmark = pytest.mark.timeout(120)


def _report(claude: ClaudeCLI, kind: str, *extra: str) -> list[dict]:
    return json.loads(claude.ctxtop("report", kind, "--json", *extra).stdout)


@pytest.mark.parametrize("claude", CLAUDE_VERSIONS, indirect=True)
def test_transcripts_claude_code_cleans_up_stay_in_the_history(claude: ClaudeCLI, fake_api: FakeAPI) -> None:
    fake_api.script([text("First answer.", usage=Usage(input_tokens=12, output_tokens=50))])
    old = claude.run("An old question")
    fake_api.script([text("Second answer.", usage=Usage(input_tokens=30, output_tokens=70))])
    claude.run("Another old question")
    before = {r["session_id"]: r for r in _report(claude, "sessions")}
    assert len(before) == 2 and old.session_id in before
    # Both transcripts are now 60 days old, and Claude Code keeps 30 days (its default) of them.
    aged = time.time() - 60 * 86400
    transcripts = list(claude.projects_dir.glob("*/*.jsonl"))
    assert len(transcripts) == 2
    for path in transcripts:
        os.utime(path, (aged, aged))
    claude.settings_path.write_text(json.dumps({"cleanupPeriodDays": 30}))
    # Claude Code cleans up 5 s after it starts, in the background: this run lasts longer than that.
    fake_api.script(
        [bash("sleep 7", usage=Usage(input_tokens=5, output_tokens=9)),
         text("A new answer.", usage=Usage(input_tokens=6, output_tokens=11))]
    )  # fmt: skip
    new = claude.run("A new question", timeout=90)
    assert not any(p.exists() for p in transcripts), "Claude Code did not clean up the old transcripts"
    after = {r["session_id"]: r for r in _report(claude, "sessions")}
    assert set(after) == {*before, new.session_id}
    for sid, row in before.items():
        assert after[sid]["transcript_deleted"] is True
        assert (after[sid]["cost_usd"], after[sid]["tokens"]) == (row["cost_usd"], row["tokens"])
    assert after[new.session_id]["transcript_deleted"] is False
    present = _report(claude, "sessions", "--present-only")
    assert [r["session_id"] for r in present] == [new.session_id]
    doctor = json.loads(claude.ctxtop("doctor", "--json").stdout)
    assert doctor["index"]["archived_sessions"] == 2
