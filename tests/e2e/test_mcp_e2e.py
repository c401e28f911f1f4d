"""ctxtop's MCP server under the real Claude Code CLI: registered by ``ctxtop claude install --mcp``, started
by Claude Code, called by the (fake) model as ``mcp__ctxtop__<tool>``.

The tool result the model receives comes back in the next request to the fake API; at that moment the
transcript holds exactly the requests the tool counted, so ``ctxtop report sessions --json`` taken then must
give the same figures.
"""

from __future__ import annotations

import json
import subprocess
import threading
from typing import Any

import pytest

from tests.support.claude_cli import CLAUDE_VERSIONS, ClaudeCLI
from tests.support.fake_api import FakeAPI, GrowingUsage, RecordedRequest, Reply, bash, text, tool

pytestmark = pytest.mark.timeout(90)

NEWEST = CLAUDE_VERSIONS[-1]
CONTEXT_KEYS = ("context_tokens", "context_window", "fill", "threshold_tokens", "compact_at_tokens",
                "room_before_compaction_tokens", "compaction_window", "turns")  # fmt: skip
COST_KEYS = ("cost_usd", "cost_breakdown_usd", "tokens", "subagent_cost_usd")


def tool_result_json(req: RecordedRequest) -> dict[str, Any] | None:
    """The JSON an ``mcp__ctxtop__*`` tool returned, as the model receives it (the last user message; 2.1.332
    may add a ``system`` message after it)."""
    users = [m for m in (req.body or {}).get("messages", []) if m.get("role") == "user"]
    for block in (users[-1].get("content") if users else None) or []:
        if isinstance(block, dict) and block.get("type") == "tool_result":
            content = block.get("content")
            parts = [content] if isinstance(content, str) else [c.get("text", "") for c in content or []]
            for part in parts:
                try:
                    value = json.loads(part)
                except ValueError:
                    continue
                if isinstance(value, dict):
                    return value
    return None


class Patient:
    """A scripted model that calls again, as a model would, when Claude Code answers that the MCP server is
    still connecting: the server needs about a second to start (the SDK's import), longer on a loaded
    machine, and ``claude -p`` does not wait for it."""

    def __init__(self, steps: list[Reply], retries: int = 40) -> None:
        self.steps, self.i, self.retries = steps, 0, retries
        self.again: Reply | None = None

    def __call__(self, req: RecordedRequest) -> Reply:
        if self.again is not None:
            step, self.again = self.again, None
            return step
        if "still connecting" in req.last_user_text() and self.i and self.retries:
            self.retries -= 1
            self.again = self.steps[self.i - 1]
            return bash("sleep 0.5")
        self.i += 1
        return self.steps[self.i - 1] if self.i <= len(self.steps) else text("Done.")


def answers(api: FakeAPI, key: str) -> list[tuple[int, dict[str, Any]]]:
    """(position among the main requests, tool result) of every ctxtop tool result holding ``key``."""
    found = [(n, tool_result_json(m)) for n, m in enumerate(api.main)]
    return [(n, r) for n, r in found if r is not None and key in r]


def report_row(claude: ClaudeCLI, session_id: str) -> dict[str, Any]:
    rows = json.loads(claude.ctxtop("report", "sessions", "--json").stdout)
    [row] = [r for r in rows if r["session_id"] == session_id]
    return row


def install_mcp(claude: ClaudeCLI, *extra: str) -> dict[str, Any]:
    claude.ctxtop("claude", "install", "--mcp", *extra, "--settings", str(claude.settings_path))
    return json.loads((claude.config_dir / ".claude.json").read_text())


@pytest.mark.parametrize("claude", CLAUDE_VERSIONS, indirect=True)
def test_the_model_receives_the_sessions_own_numbers(claude: ClaudeCLI, fake_api: FakeAPI) -> None:
    config = install_mcp(claude)
    server = config["mcpServers"]["ctxtop"]
    assert server["args"] == ["-m", "ctxtop", "mcp"] and config["hasCompletedOnboarding"] is True
    patient = Patient([
        bash("seq 1 3000"),
        tool("mcp__ctxtop__context_status", {}),
        tool("mcp__ctxtop__cost", {}),
        text("Done."),
    ])  # fmt: skip
    snapshots: dict[int, dict[str, Any]] = {}

    def script(req: RecordedRequest) -> Reply:
        # Called once per main request, in order, under the fake API's lock (its views would deadlock here).
        answered = tool_result_json(req)
        if answered is not None:
            # What the report says now, while the transcript ends with the call the tool answered.
            snapshots[req.index] = report_row(claude, answered["session_id"])
            if "context_tokens" in answered:
                context = claude.ctxtop("report", "context", answered["session_id"], "--json").stdout
                snapshots[req.index]["by_kind"] = json.loads(context)["by_kind"]
        return patient(req)

    fake_api.script(script, usage=GrowingUsage(start=30_000, step=7_000))
    run = claude.run("How full is your context, and what did this cost?")
    [(at, status)] = answers(fake_api, "context_tokens")
    [(cost_at, cost)] = answers(fake_api, "cost_usd")
    main = fake_api.main
    assert status["session_id"] == cost["session_id"] == run.session_id
    # Both versions keep a live-session file for a `-p` run too: the session is read from it.
    assert "/sessions/" in status["session_from"] and status["session_from"].endswith(".json")
    # The figures include the request that made the call, and equal the report's at that moment.
    assert status["context_tokens"] == main[at - 1].usage.prompt_tokens  # type: ignore[union-attr]
    for key in CONTEXT_KEYS:
        assert status[key] == snapshots[main[at].index][key], (key, status, snapshots[main[at].index])
    for key in COST_KEYS:
        assert cost[key] == snapshots[main[cost_at].index][key], (key, cost, snapshots[main[cost_at].index])
    # The largest item in the context is the Bash output of this session.
    # What fills the window is split as `report context` splits it; the Bash output is one of the items.
    assert status["context_by_kind"] == snapshots[main[at].index]["by_kind"]
    assert sum(status["context_by_kind"].values()) == status["context_tokens"]
    items = status["largest_context_items"]
    assert any(i["group"] == "Bash" and i["label"] == "seq 1 3000" for i in items), items
    # The report afterwards counts every request, the tool's two and the final answer too.
    assert report_row(claude, run.session_id)["turns"] == len(fake_api.main)

    # uninstall takes the server out again, and only it.
    claude.ctxtop("claude", "uninstall", "--settings", str(claude.settings_path))
    after = json.loads((claude.config_dir / ".claude.json").read_text())
    assert "ctxtop" not in after.get("mcpServers", {}) and after["hasCompletedOnboarding"] is True
    listed = subprocess.run(
        [str(claude.binary), "mcp", "get", "ctxtop"], cwd=claude.project, env=claude.env(),
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert listed.returncode != 0, listed.stdout


def test_two_sessions_in_one_project_do_not_mix(tmp_path, fake_api: FakeAPI) -> None:
    """Two Claude Code processes in the same project at once: each tool call answers for its own session."""
    claude = ClaudeCLI(tmp_path, fake_api, version=NEWEST)
    install_mcp(claude)

    def script(req: RecordedRequest) -> Reply:
        if tool_result_json(req) is not None:
            return text("Done.")
        if "still connecting" in req.last_user_text():  # the server is starting: wait, then call again
            return bash("sleep 0.5")
        return tool("mcp__ctxtop__context_status", {})

    fake_api.script(script, usage=GrowingUsage())
    runs: dict[str, Any] = {}

    def play(name: str) -> None:
        runs[name] = claude.run(f"session {name}: how full is the context?")

    threads = [threading.Thread(target=play, args=(name,)) for name in ("first", "second")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(80)
    assert set(runs) == {"first", "second"}
    for name, run in runs.items():
        answered = [
            tool_result_json(m)
            for m in fake_api.main
            if f"session {name}:" in m.all_text() and tool_result_json(m) is not None
        ]
        assert answered and all(a["session_id"] == run.session_id for a in answered), (name, answered)  # type: ignore[index]
    assert runs["first"].session_id != runs["second"].session_id


PIN = "Never change the public API of inventory.load"


@pytest.mark.parametrize("claude", CLAUDE_VERSIONS, indirect=True)
def test_a_line_pinned_through_mcp_is_reinjected_after_compaction(
    claude: ClaudeCLI, fake_api: FakeAPI
) -> None:
    install_mcp(claude, "--threshold", "60")
    steps = [tool("mcp__ctxtop__pin_note", {"line": PIN}), *(bash(f"echo step {i}") for i in range(10))]
    fake_api.script(Patient([*steps, text("Finished.")]), usage=GrowingUsage(start=20_000, step=10_000))
    claude.run("Work through the steps.")
    [(_at, pinned)] = answers(fake_api, "pinned")
    assert pinned["pinned"] == [PIN] and pinned["pinned_now"] == PIN
    kinds = [m.kind for m in fake_api.messages]
    assert kinds.count("compact") == 1, kinds
    at = kinds.index("compact")
    # The summariser was asked to keep it, and the first request after the compaction hands it back.
    assert PIN in fake_api.messages[at].last_user_text()
    after = next(m for m in fake_api.messages[at + 1 :] if m.kind == "main")
    marker = "SessionStart hook additional context:"
    assert marker in after.all_text()
    assert PIN in after.all_text().split(marker, 1)[1]


@pytest.mark.parametrize("claude", [NEWEST], indirect=True)
def test_after_clear_the_tools_answer_for_the_new_session(claude: ClaudeCLI, fake_api: FakeAPI) -> None:
    """Interactive Claude Code keeps its MCP server (and the server's environment) across /clear: the
    session is read from the process's live-session file, which follows the new session."""
    claude.settings_path.write_text(json.dumps({"skipDangerousModePermissionPrompt": True}))
    install_mcp(claude)

    def script(req: RecordedRequest) -> Reply:
        if tool_result_json(req) is not None:
            return text("Answered.")
        if "still connecting" in req.last_user_text():
            return bash("sleep 0.5")
        return tool("mcp__ctxtop__context_status", {}) if "meter" in req.last_user_text() else text("Ok.")

    fake_api.script(script, usage=GrowingUsage())

    def live_ids() -> set[str]:
        ids = set()
        for path in (claude.config_dir / "sessions").glob("*.json"):
            try:
                ids.add(json.loads(path.read_text())["sessionId"])
            except (OSError, ValueError, KeyError):
                continue
        return ids

    def done(i: int) -> bool:
        if i == 1:  # /clear makes no request: wait until the process is on a new session
            first = answers(fake_api, "context_tokens")[0][1]["session_id"]
            return bool(live_ids() - {first})
        return len(answers(fake_api, "context_tokens")) >= (1 if i == 0 else 2)

    claude.interactive(["check the meter", "/clear", "check the meter again"], done=done, timeout=80)
    [(_a, before), (_b, after)] = answers(fake_api, "context_tokens")
    sessions = {p.stem for p in claude.transcripts() if "subagents" not in p.parts}
    assert (
        before["session_id"] != after["session_id"]
        and {before["session_id"], after["session_id"]} <= sessions
    )
    assert after["session_from"].endswith(".json") and "/sessions/" in after["session_from"]
    assert after["turns"] == 1  # the new session's own request, not the first session's


@pytest.mark.parametrize("claude", [NEWEST], indirect=True)
def test_project_scope_mcp_json_is_read_by_claude_code(claude: ClaudeCLI, fake_api: FakeAPI) -> None:
    claude.ctxtop("claude", "install", "--mcp", "--scope", "project", "--no-compaction")
    assert json.loads((claude.project / ".mcp.json").read_text())["mcpServers"]["ctxtop"]["type"] == "stdio"
    fake_api.script(Patient([tool("mcp__ctxtop__notes", {}), text("Done.")]))
    run = claude.run("What do your notes say?")
    [(_at, notes)] = answers(fake_api, "notes")
    assert notes["session_id"] == run.session_id and "What do your notes say?" in notes["notes"]
    claude.ctxtop("claude", "uninstall", "--scope", "project")
    assert not (claude.project / ".mcp.json").exists()
