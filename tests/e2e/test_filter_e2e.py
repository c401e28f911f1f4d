"""The bash-output filter hooks with the real Claude Code CLI: what the model and the transcript receive.

``--filter post``: a noisy command that succeeds reaches the model (and the transcript) filtered.
``--filter wrap``: a failing test run still comes back as ``is_error: true`` with every failure visible.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support.claude_cli import ClaudeCLI, tool_results
from tests.support.fake_api import FakeAPI, bash, content_text, text

pytestmark = pytest.mark.timeout(60)

NOISY = (
    'for i in $(seq 1 600); do echo "[$i/600] Compiling module_$i.c ... ok"; done; '
    "echo 'warning: module_77.c: unused variable tmp'; echo 'BUILD SUCCEEDED: 600 modules'"
)
FAILURES = {f"test_mean_{k}": f"FAILMARK{k}: expected {k}.0, got {k - 0.5}" for k in (3, 41, 97)}


def _result_for(records: list[dict[str, Any]], command: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The tool_use block whose command is ``command`` and its tool_result."""
    uses = [
        b
        for r in records
        if r.get("type") == "assistant"
        for b in r["message"]["content"]
        if b.get("type") == "tool_use" and b["input"].get("command") == command
    ]
    assert len(uses) == 1, f"the transcript should keep the original command once: {command!r}"
    results = [b for b in tool_results(records) if b.get("tool_use_id") == uses[0]["id"]]
    assert len(results) == 1
    return uses[0], results[0]


def test_post_hook_filters_a_noisy_successful_command(claude: ClaudeCLI, fake_api: FakeAPI) -> None:
    claude.ctxtop(
        "claude", "install", "--no-compaction", "--filter", "post", "--settings", str(claude.settings_path)
    )
    assert "PostToolUse" in claude.settings().get("hooks", {})
    raw = subprocess.run(["bash", "-c", NOISY], capture_output=True, text=True, check=True).stdout

    fake_api.script([bash(NOISY, "Build all modules"), text("Built.")])
    claude.run("Build the project")

    _, result = _result_for(claude.records(), NOISY)
    filtered = (
        content_text(result["content"]) if not isinstance(result["content"], str) else result["content"]
    )
    assert not result.get("is_error")
    assert len(filtered) < len(raw) / 2, (
        f"not filtered ({len(filtered)} of {len(raw)} chars):\n{filtered[:1500]}"
    )
    for kept in ("warning: module_77.c: unused variable tmp", "BUILD SUCCEEDED: 600 modules"):
        assert kept in filtered
    # What the model received is the same filtered text.
    follow_up = fake_api.main[1].all_text()
    assert filtered.strip() in follow_up and "[300/600] Compiling" not in follow_up
    # Nothing is lost: the last line points to the saved raw output.
    paths = [Path(p) for p in re.findall(r"(/[^\s'\"\]]+)", filtered.strip().splitlines()[-1])]
    saved = [p for p in paths if p.is_file()]
    assert saved, f"no saved raw output named in the last line: {filtered.strip().splitlines()[-1]!r}"
    assert saved[0].read_text(errors="replace").strip() == raw.strip()


def test_wrap_hook_keeps_every_failure_of_a_failing_test_run(claude: ClaudeCLI, fake_api: FakeAPI) -> None:
    claude.ctxtop(
        "claude", "install", "--no-compaction", "--filter", "wrap", "--settings", str(claude.settings_path)
    )
    assert "PreToolUse" in claude.settings().get("hooks", {})
    cases = "\n".join(f"    ({k}, {FAILURES.get(f'test_mean_{k}') is None})," for k in range(1, 121))
    (claude.project / "test_calc.py").write_text(
        "import pytest\n\n\n"
        f"@pytest.mark.parametrize('k, ok', [\n{cases}\n])\n"
        "def test_mean(k, ok):\n"
        "    got = float(k) if ok else k - 0.5\n"
        "    assert got == float(k), f'FAILMARK{k}: expected {float(k)}, got {got}'\n"
    )
    command = f"{sys.executable} -m pytest -v -p no:cacheprovider test_calc.py"

    fake_api.script([bash(command, "Run the tests"), text("Three tests fail.")])
    claude.run("Run the tests")

    use, result = _result_for(claude.records(), command)
    output = content_text(result["content"]) if not isinstance(result["content"], str) else result["content"]
    assert result.get("is_error") is True, output[:2000]
    for k in (3, 41, 97):
        assert f"test_mean[{k}-False]" in output, f"failure {k} hidden:\n{output[:3000]}"
        assert f"FAILMARK{k}: expected {k}.0, got {k - 0.5}" in output, f"failure {k} message hidden"
    assert "3 failed, 117 passed" in output
    assert output.count("PASSED") < 10, "passing tests were not dropped"
    assert fake_api.main[1].all_text().count("FAILMARK") >= 3


@pytest.mark.parametrize("mode", ["default", "bypassPermissions"])
def test_wrap_hook_never_bypasses_a_deny_rule(claude: ClaudeCLI, fake_api: FakeAPI, mode: str) -> None:
    # Claude Code checks permissions against the command a PreToolUse hook returns: a wrapped `rm` would no
    # longer match `Bash(rm:*)`. The hook must leave such commands alone so the user's deny rule still holds.
    claude.ctxtop(
        "claude", "install", "--no-compaction", "--filter", "wrap", "--settings", str(claude.settings_path)
    )
    settings = claude.settings()
    settings["permissions"] = {"allow": ["Bash"], "deny": ["Bash(rm:*)"]}
    claude.settings_path.write_text(json.dumps(settings, indent=2))
    victim = claude.project / "victim.txt"
    victim.write_text("keep me")
    fake_api.script([bash("touch made.txt", "touch"), bash("rm victim.txt", "remove"), text("done")])
    subprocess.run(
        [str(claude.binary), "-p", "go", "--output-format", "json", "--model", claude.model,
         "--permission-mode", mode],
        cwd=claude.project, env=claude.env(), stdin=subprocess.DEVNULL, capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip
    assert (claude.project / "made.txt").exists(), "the allowed command ran"
    assert victim.exists(), "the denied rm must not run, wrapped or not"
    _, result = _result_for(claude.records(), "rm victim.txt")
    assert result.get("is_error")
