"""After ``ctxtop claude install --threshold 60 --window 200000``, real Claude Code compacts within one turn
of 60% of 200K, where ctxtop's report and doctor say it will, and keeps ctxtop's notes; on both pinned versions.

The fake API reports a context growing by 10K tokens per model call (cache reads of the previous prompt,
like the real API), so the call on which the context first reaches 60% of the 200K window is known.
"""

from __future__ import annotations

import json
import math

import pytest

from tests.support.claude_cli import CLAUDE_VERSIONS, ClaudeCLI
from tests.support.fake_api import (
    FakeAPI,
    GrowingUsage,
    bash,
    edit,
    read,
    task_create,
    task_update,
    text,
    write,
)

pytestmark = pytest.mark.timeout(60)

WINDOW = 200_000
THRESHOLD = 0.60
TASKS = ("Convert inventory records to dataclasses", "Add a CHANGELOG entry for the refactor")
# Claude Code 2.1.332 no longer offers TaskCreate/TaskUpdate in a `-p` session (the call is answered "No such
# tool available: TaskCreate is disabled for this session"), so there are no tasks for the notes to keep.
OFFERS_TASKS = {"2.1.197": True, "2.1.332": False}


def _steps(claude: ClaudeCLI) -> list:
    models = str(claude.project / "src" / "models.py")
    return [
        task_create(TASKS[0]),
        task_create(TASKS[1]),
        task_update("1", "in_progress"),
        write(models, "RECORD = {'sku': 'a', 'qty': 1}\n"),
        read(models),
        edit(models, "RECORD = {'sku': 'a', 'qty': 1}", "RECORD = Record(sku='a', qty=1)"),
        *(bash(f"echo checking module {i}") for i in range(10)),
        text("Refactor done."),
    ]


@pytest.mark.parametrize("claude", CLAUDE_VERSIONS, indirect=True)
def test_compacts_at_the_threshold_and_keeps_the_notes(claude: ClaudeCLI, fake_api: FakeAPI) -> None:
    (claude.project / "src").mkdir()
    claude.ctxtop(
        "claude",
        "install",
        "--threshold",
        "60",
        "--window",
        str(WINDOW),
        "--settings",
        str(claude.settings_path),
    )
    settings = claude.settings()
    env = settings.get("env", {})
    assert float(env["CLAUDE_AUTOCOMPACT_PCT_OVERRIDE"]) == pytest.approx(66.67, abs=0.01)
    assert int(env["CLAUDE_CODE_AUTO_COMPACT_WINDOW"]) == WINDOW
    assert {"PreCompact", "SessionStart"} <= set(settings.get("hooks", {}))
    run_and_check(claude, fake_api)


def run_and_check(claude: ClaudeCLI, fake_api: FakeAPI) -> None:
    """Run the scripted session with recorder hooks added and check compaction point, hooks and notes."""
    claude.add_recorder_hooks("PreCompact", "SessionStart", "PostCompact")
    fake_api.script(_steps(claude), usage=GrowingUsage(start=20_000, step=10_000))
    claude.run("Refactor the inventory records to dataclasses, module by module.")

    # 1. It compacted once, right after the first call whose prompt reached 60% of the window (±1 call),
    #    which is where ctxtop's report and doctor put the session's compaction point.
    messages = fake_api.messages
    assert [m.kind for m in messages].count("compact") == 1, [m.kind for m in messages]
    compact_at = [m.kind for m in messages].index("compact")
    main_before = [m for m in messages[:compact_at] if m.kind == "main"]
    prompts = [m.usage.prompt_tokens for m in fake_api.main]
    [row] = json.loads(claude.ctxtop("report", "sessions", "--json").stdout)
    predicted = row["compact_at_tokens"]
    assert predicted == math.ceil(THRESHOLD * WINDOW) == 120_000, row
    assert row["compaction_window"] == WINDOW and row["threshold_tokens"] == predicted
    doctor = json.loads(claude.ctxtop("doctor", "--json").stdout)
    assert [c["compact_at_tokens"] for c in doctor["compaction"]] == [predicted], doctor["compaction"]
    assert doctor["claude_code"]["version"] == claude.version and doctor["claude_code"]["verified"]
    first_at = next(i for i, p in enumerate(prompts) if p >= predicted)
    turn = len(main_before) - 1  # the main call after which Claude Code compacted
    assert abs(turn - first_at) <= 1, (prompts, turn, first_at)
    assert abs(prompts[turn] - predicted) <= 10_000, (prompts[turn], predicted)  # one turn of 10K

    # 2. The hooks ran around the compaction request, in Claude Code's order.
    events = [
        (e["event"], e["input"].get("source") or e["input"].get("trigger")) for e in claude.hook_events()
    ]
    assert ("PreCompact", "auto") in events and ("SessionStart", "compact") in events, events
    pre = next(e["time"] for e in claude.hook_events() if e["event"] == "PreCompact")
    start = next(e["time"] for e in claude.hook_events() if e["input"].get("source") == "compact")
    post = next(e["time"] for e in claude.hook_events() if e["event"] == "PostCompact")
    assert pre < messages[compact_at].time < start < post

    offered = {t.get("name") for t in fake_api.main[0].body.get("tools", [])}
    assert ("TaskCreate" in offered) == OFFERS_TASKS[claude.version], sorted(offered)
    tasks = TASKS if OFFERS_TASKS[claude.version] else ()

    # 3. ctxtop's PreCompact instructions reached the summariser.
    summariser = messages[compact_at].last_user_text()
    assert "Additional Instructions:" in summariser
    instructions = summariser.split("Additional Instructions:", 1)[1].strip()
    assert instructions, "ctxtop's pre-compact hook printed no instructions for the summariser"
    assert all(task in instructions for task in tasks), instructions[:2000]
    assert "models.py" in instructions, instructions[:2000]

    # 4. The first request after compaction carries ctxtop's notes: the task list and the edited file.
    after = next(m for m in messages[compact_at + 1 :] if m.kind == "main")
    marker = "SessionStart hook additional context:"
    body = after.all_text()
    assert marker in body, "the SessionStart hook's additionalContext did not reach the model"
    notes = body.split(marker, 1)[1]
    for task in tasks:
        assert task in notes, f"task {task!r} missing from the notes:\n{notes[:2000]}"
    assert "models.py" in notes, f"edited file missing from the notes:\n{notes[:2000]}"
    # ... and they stay in every later request of the session.
    later = [m for m in messages[compact_at + 1 :] if m.kind == "main"]
    assert len(later) > 1 and all(marker in m.all_text() for m in later)

    # 5. The transcript records the compaction and the hook that ran.
    records = claude.records()
    boundary = [r for r in records if r.get("subtype") == "compact_boundary"]
    assert len(boundary) == 1 and boundary[0]["compactMetadata"]["trigger"] == "auto"
    assert any(r.get("isCompactSummary") for r in records)
    ran = [r["attachment"] for r in records if (r.get("attachment") or {}).get("type") == "hook_success"]
    assert any(a.get("hookName") == "SessionStart:compact" and "ctxtop" in a.get("command", "") for a in ran)
