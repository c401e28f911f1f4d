"""Proof against Claude Code's own figure: the real CLI, interactive under a PTY, with ctxtop's statusline.

At every statusLine call Claude Code hands the command its ``context_window.used_percentage``. A user's own
statusline (``tests/support/statusline_recorder.py``) is installed first, and ``ctxtop claude install
--statusline`` keeps it: at each call ctxtop's statusline runs it with the same input, and it logs that input
together with ctxtop's report and the TUI's view model at that moment; ctxtop's own segment is read off the
screen after the recorder's ``REC<n>``. All three must be within 1 point of Claude Code's figure, on a 200K
model and on the default 1M model, with and without ``--window``, on both pinned versions.
"""

from __future__ import annotations

import json
import re
import shlex
import sys
from pathlib import Path

import pytest

from tests.support.claude_cli import CLAUDE_VERSIONS, ClaudeCLI
from tests.support.fake_api import FakeAPI, GrowingUsage, text

pytestmark = pytest.mark.timeout(120)

RECORDER = Path(__file__).resolve().parents[1] / "support" / "statusline_recorder.py"
PROMPTS = 2
# (model chosen with --model or None for Claude Code's default, --window for `claude install`)
SCENARIOS = {
    "default-1m": (None, None),
    "default-1m-window-200k": (None, "200000"),
    "sonnet-200k": ("claude-sonnet-4-5", None),
    "sonnet-200k-window-150k": ("claude-sonnet-4-5", "150000"),
}


@pytest.mark.parametrize("scenario", list(SCENARIOS))
@pytest.mark.parametrize("claude", CLAUDE_VERSIONS, indirect=True)
def test_fill_matches_claude_codes_used_percentage(
    claude: ClaudeCLI, fake_api: FakeAPI, scenario: str
) -> None:
    model, window = SCENARIOS[scenario]
    log = claude.home / "statusline-calls.jsonl"
    claude.settings_path.write_text(json.dumps(
        {"statusLine": {"type": "command", "command": f"{sys.executable} {RECORDER} {log}"}}
    ))  # fmt: skip
    install = [
        "claude",
        "install",
        "--statusline",
        "--threshold",
        "60",
        "--settings",
        str(claude.settings_path),
    ]
    claude.ctxtop(*install, *(["--window", window] if window else []))
    settings = claude.settings()
    command = settings["statusLine"]["command"]
    assert "ctxtop statusline --then" in command and str(RECORDER) in command  # the user's command is kept
    # Log what the installed command prints at each call (it runs unchanged under the tee).
    outputs = claude.home / "statusline-outputs.jsonl"
    settings["statusLine"]["command"] = f"{sys.executable} {RECORDER} --tee {outputs} {shlex.quote(command)}"
    claude.settings_path.write_text(json.dumps(settings))
    claude.env_extra["CTXTOP_STATUSLINE_BUDGET"] = "30"  # figures here, not speed
    # One reply per prompt, the context growing by 66,600 tokens: 25,500 then 92,100.
    fake_api.script(
        [text(f"answer {i}") for i in range(PROMPTS)], usage=GrowingUsage(start=25_500, step=66_600)
    )

    def answered_and_shown(i: int) -> bool:
        # Claude Code skips refreshes while one runs: wait for the call that shows this answer's usage.
        if len(fake_api.main) < i + 1:
            return False
        latest = fake_api.main[i].usage.prompt_tokens
        shown = "\n".join(e["output"] for e in _calls(outputs))
        return any(_prompt(e["payload"]) == latest and f"REC{e['n']} · " in shown for e in _calls(log))

    prompts = [f"question {i}" for i in range(PROMPTS)]
    screen = claude.interactive(prompts, done=answered_and_shown, timeout=90, model=model)
    calls = [
        e
        for e in _calls(log)
        if (e["payload"].get("context_window") or {}).get("used_percentage") is not None
    ]
    assert len(calls) >= PROMPTS, _calls(log)
    printed = "\n".join(e["output"] for e in _calls(outputs))
    segments = {int(n): int(pct) for n, pct in re.findall(r"REC(\d+) · ctx (\d+)%", printed)}
    rows = []
    for entry in calls:
        assert "error" not in entry, entry
        cw = entry["payload"]["context_window"]
        used = cw["used_percentage"]
        report, tui = entry["report"], entry["tui"]
        assert report["context_window"] == tui["window"] == cw["context_window_size"], (report, cw)
        assert report["context_tokens"] == _prompt(entry["payload"])
        assert abs(report["fill"] * 100 - used) <= 1, (report["fill"], used)
        assert abs(tui["fill"] * 100 - used) <= 1, (tui["fill"], used)
        if entry["n"] in segments:
            assert abs(segments[entry["n"]] - used) <= 1, (segments[entry["n"]], used)
        rows.append((used, round(report["fill"] * 100, 2), segments.get(entry["n"])))
    # ctxtop's own segment was seen for at least one call with Claude Code's figure.
    assert all(entry["n"] in segments for entry in calls), (printed, _plain(screen)[-2000:])
    print(f"{claude.version} {scenario}: (claude %, ctxtop %, statusline %) {rows}")


def _calls(log: Path) -> list[dict]:
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text().splitlines() if line.strip()]


def _prompt(payload: dict) -> int | None:
    usage = (payload.get("context_window") or {}).get("current_usage")
    if not isinstance(usage, dict):
        return None
    return usage["input_tokens"] + usage["cache_read_input_tokens"] + usage["cache_creation_input_tokens"]


def _plain(screen: str) -> str:
    """The terminal output without escape sequences."""
    return re.sub(
        r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[()][A-Z0-9]|\x1b[=>]", "", screen
    )
