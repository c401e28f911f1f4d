"""``ctxtop claude install --enforce-budgets``: the real Claude Code CLI holds back a prompt past a hard limit.

Measured on both pinned versions: a UserPromptSubmit hook that prints ``{"decision": "block", "reason": ...}``
and exits 0 stops the prompt before any request, and Claude Code shows the reason (in ``-p`` mode as the
run's result: ``UserPromptSubmit operation blocked by hook:`` + the reason).
"""

from __future__ import annotations

import json
import re

import pytest

from tests.support.claude_cli import CLAUDE_VERSIONS, ClaudeCLI
from tests.support.fake_api import FakeAPI, Usage, text

pytestmark = pytest.mark.timeout(120)

# claude-opus-4-8 at $5/M input and $25/M output: 100K input + 1K output cost $0.525 (shown $0.52), past a $0.25 limit.
BIG = Usage(input_tokens=100_000, output_tokens=1_000)


def _fail_opens(claude: ClaudeCLI) -> list[dict]:
    """What the hook let through without deciding (timeout, error): ``hooks.log`` in ctxtop's data dir."""
    log = claude.home / "ctxtop" / "data" / "hooks.log"
    lines = log.read_text().splitlines() if log.exists() else []
    return [e for e in map(json.loads, lines) if e["event"] == "user-prompt-submit"]


def _config(claude: ClaudeCLI, text_: str) -> None:
    folder = claude.home / "ctxtop" / "config"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.toml").write_text(text_)


@pytest.mark.parametrize("claude", CLAUDE_VERSIONS, indirect=True)
def test_hard_limit_blocks_with_no_request_and_allow_lets_one_through(
    claude: ClaudeCLI, fake_api: FakeAPI
) -> None:
    _config(claude, "[budgets]\nsession_usd_hard = 0.25\n")
    out = claude.ctxtop(
        "claude", "install", "--enforce-budgets", "--no-compaction", "--settings", str(claude.settings_path)
    ).stdout
    assert "UserPromptSubmit" in out, out
    fake_api.script([text("first answer", usage=BIG), text("after allow"), text("never sent")])

    first = claude.run("first prompt")
    assert first.result.get("result") == "first answer", first.stdout[-2000:]
    session = first.session_id
    sent = len(fake_api.messages)

    blocked = claude.run("second prompt", "--continue")
    # A fail-open (the hook timed out or failed) is a different defect from a wrong decision: say which.
    assert not _fail_opens(claude), f"the budget hook failed open: {_fail_opens(claude)}"
    assert len(fake_api.messages) == sent, (
        "the hook decided, yet a prompt past the hard limit reached the API"
    )
    reason = blocked.result.get("result", "")
    assert "UserPromptSubmit operation blocked by hook" in reason, blocked.stdout[-2000:]
    assert "session hard limit ($0.25) is passed" in reason and "$0.52 spent" in reason, reason
    assert f"ctxtop budget allow {session}" in reason and "session_usd_hard" in reason, reason

    claude.ctxtop("budget", "allow", session[:8])
    allowed = claude.run("third prompt", "--continue")
    assert allowed.result.get("result") == "after allow", allowed.stdout[-2000:]
    assert len(fake_api.main) == 2 and "third prompt" in fake_api.main[-1].all_text()

    # The grant was for one prompt: the next one is held back again.
    sent = len(fake_api.messages)
    again = claude.run("fourth prompt", "--continue")
    assert not _fail_opens(claude), f"the budget hook failed open: {_fail_opens(claude)}"
    assert len(fake_api.messages) == sent
    assert "hard limit" in again.result.get("result", "")

    # Uninstall takes the hook out: the prompt goes through whatever the budget.
    claude.ctxtop("claude", "uninstall", "--settings", str(claude.settings_path))
    assert "UserPromptSubmit" not in claude.settings().get("hooks", {})


def _blocked_in_transcript(claude: ClaudeCLI, prompt: str) -> bool:
    for path in claude.transcripts():
        text_ = path.read_text()
        if "operation blocked by hook" in text_ and prompt in text_:
            return True
    return False


@pytest.mark.parametrize("claude", CLAUDE_VERSIONS, indirect=True)
def test_interactive_session_is_held_back_by_the_daily_limit_other_sessions_spent(
    claude: ClaudeCLI, fake_api: FakeAPI
) -> None:
    """Interactive Claude Code (a PTY): a new session's first prompt is held back because today's spend, made by
    an earlier session the index had not read yet, passed the daily hard limit; the reason is on the screen."""
    _config(claude, "[budgets]\ndaily_usd_hard = 0.25\n")
    claude.ctxtop(
        "claude", "install", "--enforce-budgets", "--no-compaction", "--settings", str(claude.settings_path)
    )
    fake_api.script([text("first answer", usage=BIG), text("never sent")])
    claude.run("spend today")  # $0.525, recorded in its transcript after its hook ran
    # That first run migrated the config: the bypass-mode acceptance is read from settings.json from now on.
    settings = claude.settings()
    settings["skipDangerousModePermissionPrompt"] = True
    claude.settings_path.write_text(json.dumps(settings, indent=2))
    sent = len(fake_api.main)
    prompt = "start a new task"
    # Done when the block is recorded, or (the defect) when the prompt reached the API.
    done = lambda _i: _blocked_in_transcript(claude, prompt) or len(fake_api.main) > sent  # noqa: E731
    screen = claude.interactive([prompt], done=done, timeout=60)
    assert not _fail_opens(claude), f"the budget hook failed open: {_fail_opens(claude)}"
    assert len(fake_api.main) == sent, "the held-back prompt reached the API"
    flat = " ".join(re.sub(r"\x1b\[[0-9;?]*[a-zA-Z]|\x1b\][^\x07]*\x07", "", screen).split())
    # The screen is raw terminal output: cursor moves stand for spaces, and a redraw can drop a letter
    # ("UsePromptSubmit" was seen under load), so compare letters and digits only.
    bare = re.sub(r"[^0-9A-Za-z]", "", flat)
    assert "PromptSubmitoperationblockedbyhook" in bare, flat[-2000:]
    assert "thedailyhardlimit025ispassedon" in bare, flat[-2000:]


def test_near_the_session_limit_claude_code_is_asked_to_compact_once(
    claude: ClaudeCLI, fake_api: FakeAPI
) -> None:
    _config(claude, '[budgets]\nsession_usd_hard = 1.00\nsoft_pct = 50\nenforce_compact = "on"\n')
    claude.ctxtop(
        "claude", "install", "--enforce-budgets", "--no-compaction", "--settings", str(claude.settings_path)
    )
    fake_api.script([text("first answer", usage=BIG), text("second answer")])
    claude.run("first prompt")  # $0.525: past 50% of the $1.00 limit, under the limit
    sent = len(fake_api.main)
    asked = claude.run("second prompt", "--continue")
    assert not _fail_opens(claude), f"the budget hook failed open: {_fail_opens(claude)}"
    assert len(fake_api.main) == sent
    reason = asked.result.get("result", "")
    assert "at 52% of its hard limit ($0.52 of $1.00)" in reason and "run /compact first" in reason, reason
    again = claude.run("second prompt", "--continue")  # asked once: now it goes through
    assert again.result.get("result") == "second answer", again.stdout[-2000:]
