"""Each setting that moves Claude Code's compaction point, against the real CLI: where it compacts vs ctxtop.

The fake API reports a prompt growing by 10K tokens per model call, so the call after which Claude Code
compacts is known exactly. For each setting ctxtop's report (and ``doctor``) must name the point the CLI
compacted at: the first call whose prompt reached it is the last one before the compaction call (one turn
of slack, as the issue allows), or no proactive compaction when ctxtop says none.

Measured on 2.1.332 (``--debug`` ``autocompact:`` lines, ``thresholdSource``) and checked here:

- ``/autocompact <tokens>`` persists ``modelSettings.<model>.autoCompactWindow`` in the user settings.json
  (``/autocompact auto`` writes ``"auto"``); a per-model value beats the same file's top-level one; a
  per-model ``"auto"`` means the model's own window (behind a custom base URL: no proactive compaction);
- the highest-precedence file that sets a value wins (a project's top-level value beats a user per-model one);
- ``precomputeCompactionEnabled`` and ``idleCompaction`` do not move the point (they change how, and in an
  idle interactive session also when, the summary is written);
- 2.1.197 has no ``modelSettings``: only the top-level ``autoCompactWindow`` counts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.support.claude_cli import ClaudeCLI
from tests.support.fake_api import FakeAPI, GrowingUsage, bash, text

pytestmark = pytest.mark.timeout(90)

SONNET = "claude-sonnet-4-5"  # 200K on both versions
OPUS = "claude-opus-4-8"  # 1M on 2.1.332 (however chosen)
STEP = 10_000


@dataclass(frozen=True)
class Case:
    version: str
    model: str
    user: dict[str, Any] = field(default_factory=dict)
    project: dict[str, Any] = field(default_factory=dict)
    autocompact: str | None = None  # typed as `/autocompact ARG` in an interactive session first
    point: int | None = None  # where Claude Code compacted in the measurement (None: never proactively)
    source: str = ""  # what doctor names as the compaction window's source
    calls: int = 20


CASES = {
    # /autocompact's persisted per-model value beats the top-level one of the same file.
    "332-autocompact-command": Case(
        "2.1.332",
        SONNET,
        user={"autoCompactWindow": 180_000},
        autocompact="120000",
        point=87_000,
        source=f"settings modelSettings.{SONNET}.autoCompactWindow (",
    ),
    # A per-model "auto" in the project means the model's own window: behind the fake's base URL, no
    # proactive compaction at all (the user's top-level 150,000 no longer counts).
    "332-per-model-auto": Case(
        "2.1.332",
        SONNET,
        user={"autoCompactWindow": 150_000},
        project={"modelSettings": {SONNET: {"autoCompactWindow": "auto"}}},
        point=None,
        source=f"settings modelSettings.{SONNET}.autoCompactWindow=auto (",
    ),
    # A project's top-level value beats a user per-model one; neither switch moves the point.
    "332-project-beats-user-per-model": Case(
        "2.1.332",
        SONNET,
        user={"modelSettings": {SONNET: {"autoCompactWindow": 180_000}}, "idleCompaction": False},
        project={"autoCompactWindow": 150_000, "precomputeCompactionEnabled": False},
        point=117_000,
        source="settings autoCompactWindow (",
    ),
    # A 1M model with a per-model window of 300,000 compacts at 267,000 (2.1.197 would cap it at 200K).
    "332-1m-per-model": Case(
        "2.1.332",
        OPUS,
        user={"modelSettings": {OPUS: {"autoCompactWindow": 300_000}}},
        point=267_000,
        calls=30,
        source=f"settings modelSettings.{OPUS}.autoCompactWindow (",
    ),
    # 2.1.197 has no modelSettings: the top-level 150,000 applies, not the per-model 120,000.
    "197-ignores-per-model": Case(
        "2.1.197",
        SONNET,
        user={"autoCompactWindow": 150_000, "modelSettings": {SONNET: {"autoCompactWindow": 120_000}}},
        point=117_000,
        source="settings autoCompactWindow (",
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_the_cli_compacts_where_ctxtop_says(name: str, tmp_path: Any, fake_api: FakeAPI) -> None:
    case = CASES[name]
    claude = ClaudeCLI(tmp_path, fake_api, version=case.version, model=case.model)
    if case.user:
        claude.settings_path.write_text(json.dumps(case.user))
    if case.project:
        (claude.project / ".claude").mkdir()
        (claude.project / ".claude" / "settings.json").write_text(json.dumps(case.project))
    if case.autocompact is not None:
        claude.interactive(
            [f"/autocompact {case.autocompact}"],
            done=lambda _i: (
                claude.settings_path.exists() and "modelSettings" in claude.settings_path.read_text()
            ),
            model=case.model,
            timeout=40,
        )
        per_model = claude.settings()["modelSettings"][case.model]["autoCompactWindow"]
        assert per_model == int(case.autocompact), claude.settings()
        assert claude.settings()["autoCompactWindow"] == case.user["autoCompactWindow"]  # left as it was

    fake_api.script(
        [*(bash(f"echo step {i}") for i in range(case.calls)), text("Done.")],
        usage=GrowingUsage(start=20_000, step=STEP),
    )
    run = claude.run("Work through the steps.")

    # Where the CLI compacted: after the main call whose prompt first reached its point.
    kinds = [m.kind for m in fake_api.messages]
    cut = kinds.index("compact") if "compact" in kinds else len(kinds)
    before = [m.usage.prompt_tokens for m in fake_api.messages[:cut] if m.kind == "main"]
    compacted_after = before[-1] if cut < len(kinds) else None

    # ctxtop's prediction for that session, from the report and from doctor.
    rows = json.loads(claude.ctxtop("report", "sessions", "--json").stdout)
    [row] = [r for r in rows if r["session_id"] == run.session_id]
    predicted = row["compact_at_tokens"]
    doctor = json.loads(claude.ctxtop("doctor", "--json").stdout)
    [entry] = [c for c in doctor["compaction"] if c["model"] == case.model]
    assert entry["compact_at_tokens"] == predicted, entry
    assert doctor["claude_code"]["version"] == case.version and doctor["claude_code"]["verified"]

    assert predicted == case.point, (row["compaction_window_source"], row["compact_at_tokens"])
    # From the settings, not from the session's own history (a prompt past a point proves it wrong).
    assert case.source in entry["window_source"] and "the session" not in entry["why"], entry
    if predicted is None:
        assert compacted_after is None, kinds
        assert max(m.usage.prompt_tokens for m in fake_api.main) > 167_000  # past the default point
        return
    assert compacted_after is not None, f"no compaction; ctxtop predicted {predicted:,}"
    all_prompts = [m.usage.prompt_tokens for m in fake_api.main]
    first_at = next(i for i, p in enumerate(all_prompts) if p >= predicted)
    # Within one turn of ctxtop's point (measured: exactly on it, with these small tool results).
    assert abs((len(before) - 1) - first_at) <= 1, (compacted_after, predicted)
    assert compacted_after - STEP < predicted <= compacted_after + STEP
