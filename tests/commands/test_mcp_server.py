"""``ctxtop mcp`` spoken to by the MCP SDK's own stdio client, on the committed fixture transcripts.

The server is a real subprocess (``python -m ctxtop mcp``); the session is named the way Claude Code names it
to a stdio server it starts (``CLAUDE_CODE_SESSION_ID``; this test process has no live-session file).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.support.claude_cli import copy_tree

pytestmark = pytest.mark.timeout(60)

mcp = pytest.importorskip("mcp", reason="the mcp extra: pip install -e '.[test]'")

SESSION = "5bd8fa84-cd26-4332-9e86-c3df3668ff6f"  # long-numbered-steps


async def _call(env: dict[str, str], *calls: tuple[str, dict[str, Any]]) -> tuple[list[Any], list[Any]]:
    from mcp import ClientSession
    from mcp.client.stdio import StdioServerParameters, stdio_client

    params = StdioServerParameters(command=sys.executable, args=["-m", "ctxtop", "mcp"], env=env)
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        tools = (await session.list_tools()).tools
        results = [await session.call_tool(name, args) for name, args in calls]
    return tools, results


def _json(result: Any) -> dict[str, Any]:
    assert not result.is_error, result.content
    return json.loads(result.content[0].text)


@pytest.fixture
def world(tmp_path: Path, claude_fixtures: Path) -> dict[str, str]:
    config = copy_tree(claude_fixtures, tmp_path / "claude")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CLAUDE", "ANTHROPIC"))}
    env["CLAUDE_CONFIG_DIR"] = str(config)
    toml = Path(env["CTXTOP_CONFIG_DIR"]) / "config.toml"
    toml.parent.mkdir(parents=True, exist_ok=True)
    toml.write_text("[budgets]\nsession_usd = 5.0\ndaily_usd = 0\n")
    return env


async def test_the_tools_answer_with_the_reports_figures(world: dict[str, str]) -> None:
    env = {**world, "CLAUDE_CODE_SESSION_ID": SESSION}
    tools, (status, cost, notes, pinned) = await _call(
        env,
        ("context_status", {}),
        ("cost", {}),
        ("notes", {}),
        ("pin_note", {"line": "  keep \x1b[2J  the\tschema\u202e "}),
    )
    names = {t.name: t for t in tools}
    assert set(names) == {"context_status", "cost", "plan_limits", "notes", "pin_note"}
    assert all(
        names[n].annotations.read_only_hint for n in ("context_status", "cost", "plan_limits", "notes")
    )
    assert names["pin_note"].annotations.read_only_hint is False

    report = subprocess.run([sys.executable, "-m", "ctxtop", "report", "sessions", "--json"], env=env,
                            capture_output=True, text=True, check=True)  # fmt: skip
    [row] = [r for r in json.loads(report.stdout) if r["session_id"] == SESSION]
    status, cost = _json(status), _json(cost)
    assert status["session_from"] == "$CLAUDE_CODE_SESSION_ID"
    for key in (
        "context_tokens",
        "context_window",
        "fill",
        "compact_at_tokens",
        "room_before_compaction_tokens",
    ):
        assert status[key] == row[key], key
    # What fills the window, as `ctxtop report context SESSION --json` splits it.
    context = subprocess.run([sys.executable, "-m", "ctxtop", "report", "context", SESSION, "--json"], env=env,
                             capture_output=True, text=True, check=True)  # fmt: skip
    doc = json.loads(context.stdout)
    assert (
        status["context_by_kind"] == doc["by_kind"] and sum(doc["by_kind"].values()) == row["context_tokens"]
    )
    live = [i for i in doc["items"] if i["live"] and i["tokens_now"]
            and not (i["kind"] == "assistant" and i["request"] == doc["requests"])]  # fmt: skip
    live.sort(key=lambda i: (-i["tokens_now"], i["request"]))
    assert status["largest_context_items"] == live[:8]
    assert cost["cost_usd"] == row["cost_usd"] and cost["tokens"] == row["tokens"]
    # The budgets as `ctxtop budget status SESSION --json` states them, with what is left.
    status_json = subprocess.run([sys.executable, "-m", "ctxtop", "budget", "status", SESSION, "--json"], env=env,
                                 capture_output=True, text=True, check=True)  # fmt: skip
    [session] = cost["budgets"]
    [expected] = json.loads(status_json.stdout)["budgets"]
    assert {k: session[k] for k in expected} == expected
    assert (
        Decimal(session["left"]) == Decimal("5") - Decimal(row["cost_usd"])
        and session["left_to_hard"] is None
    )
    assert _json(notes)["notes"]
    assert _json(pinned)["pinned"] == ["keep [2J the schema"]  # no control character reaches the notes
    assert "keep [2J the schema" in _json(pinned)["notes"]


async def test_plan_limits_are_the_limits_report(world: dict[str, str]) -> None:
    """What Claude Code last reported to its statusline is official, for the tool as for the report."""
    import time

    env = {**world, "CLAUDE_CODE_SESSION_ID": SESSION}
    now = time.time()
    transcript = next(Path(env["CLAUDE_CONFIG_DIR"]).glob(f"projects/*/{SESSION}.jsonl"))
    payload = {"session_id": SESSION, "transcript_path": str(transcript), "version": "2.1.332",
               "rate_limits": {"five_hour": {"used_percentage": 91, "resets_at": now + 3600},
                               "seven_day": {"used_percentage": 40, "resets_at": now + 86400}}}  # fmt: skip
    subprocess.run([sys.executable, "-m", "ctxtop", "statusline"], input=json.dumps(payload), env=env,
                   capture_output=True, text=True, check=True)  # fmt: skip
    _tools, (limits,) = await _call(env, ("plan_limits", {}))
    report = subprocess.run([sys.executable, "-m", "ctxtop", "report", "limits", "--json"], env=env,
                            capture_output=True, text=True, check=True)  # fmt: skip
    expected = json.loads(report.stdout)
    got = _json(limits)
    assert (
        [(w["window"], w["used_pct"], w["resets_at"]) for w in got["official"]]
        == [(w["window"], w["used_pct"], w["resets_at"]) for w in expected["official"]]
        == [
            ("five_hour", 91, expected["official"][0]["resets_at"]),
            ("seven_day", 40, expected["official"][1]["resets_at"]),
        ]
    )
    assert got["alerts"] == expected["alerts"] == ["5h limit at 91% (official): past 90%"]
    assert "blocks" not in got


async def test_a_budget_set_while_the_server_runs_counts(world: dict[str, str]) -> None:
    from mcp import ClientSession
    from mcp.client.stdio import StdioServerParameters, stdio_client

    env = {**world, "CLAUDE_CODE_SESSION_ID": SESSION}
    params = StdioServerParameters(command=sys.executable, args=["-m", "ctxtop", "mcp"], env=env)
    toml = Path(env["CTXTOP_CONFIG_DIR"]) / "config.toml"
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        before = _json(await session.call_tool("cost", {}))["budgets"]
        toml.write_text("[budgets]\nsession_usd = 5.0\ndaily_usd = 7.5\n")
        after = _json(await session.call_tool("cost", {}))["budgets"]
    assert [b["level"] for b in before] == ["session"]
    assert [(b["level"], b["budget"]) for b in after] == [("session", "5.0"), ("day", "7.5")]


async def test_outside_claude_code_a_tool_says_why(world: dict[str, str]) -> None:
    _tools, (result, empty) = await _call(world, ("context_status", {}), ("pin_note", {"line": " "}))
    assert result.is_error and "CLAUDE_CODE_SESSION_ID is not set" in result.content[0].text
    assert empty.is_error and "empty" in empty.content[0].text
