"""A real Claude Code session against the fake API: ctxtop's totals equal what the API reported."""

from __future__ import annotations

import json

import pytest

from tests.support.claude_cli import MODEL, ClaudeCLI
from tests.support.fake_api import FakeAPI, Reply, Usage, bash, text, write

pytestmark = pytest.mark.timeout(60)


def _usage(i: int) -> Usage:
    # Distinct, growing numbers per response so a dropped or double-counted response shows in the sums.
    return Usage(
        input_tokens=3 + i,
        output_tokens=40 + 7 * i,
        cache_read_input_tokens=20_000 + 1_500 * i if i else 0,
        cache_creation_5m=300 + 11 * i,
        cache_creation_1h=1_200 + 13 * i,
    )


def test_report_totals_equal_the_usage_the_api_reported(claude: ClaudeCLI, fake_api: FakeAPI) -> None:
    steps = [
        # text + tool_use in one response: Claude Code writes two transcript lines repeating the usage.
        Reply(
            text="Let me look around first.", tool_calls=[("Bash", {"command": "ls -la"})], usage=_usage(0)
        ),
        write(str(claude.project / "notes.txt"), "hello\n", usage=_usage(1)),
        bash("cat notes.txt && echo done", usage=_usage(2)),
        text("All steps done.", usage=_usage(3)),
    ]
    fake_api.script(steps)
    first = claude.run("Look around and write notes.txt")
    fake_api.script([bash("wc -c notes.txt", usage=_usage(4)), text("It has 6 bytes.", usage=_usage(5))])
    second = claude.run("How big is notes.txt?", "--continue")
    assert second.session_id == first.session_id

    reported = fake_api.reported_usage()
    assert len(reported) == 6, [r.kind for r in fake_api.messages]
    proc = claude.ctxtop(
        "report", "sessions", "--json", "--claude-dir", str(claude.config_dir),
        "--cache-dir", str(claude.home / "ctxtop-cache"),
    )  # fmt: skip
    rows = json.loads(proc.stdout)
    assert [r["session_id"] for r in rows] == [first.session_id]
    row = rows[0]
    assert row["source"] == "claude"
    assert MODEL in row["models"]
    assert row["tokens"] == {
        "input": sum(u.input_tokens for u in reported),
        "output": sum(u.output_tokens for u in reported),
        "cache_read": sum(u.cache_read_input_tokens for u in reported),
        "cache_write_5m": sum(u.cache_creation_5m for u in reported),
        "cache_write_1h": sum(u.cache_creation_1h for u in reported),
    }
    last = reported[-1]
    # Claude Code's context figure: the latest request's prompt, without its output.
    assert row["context_tokens"] == last.prompt_tokens
    assert row["compactions"] == 0
    # Claude Code's own accounting of the second run agrees with the fake API too.
    assert second.result["usage"]["output_tokens"] == sum(u.output_tokens for u in reported[4:])
