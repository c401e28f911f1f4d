"""Report, TUI, statusline and doctor give the same fill and compaction point for one transcript and settings.

All four ask ``services.monitor.Monitor`` for the session's view; this runs them as users do (the report,
doctor and the statusline as subprocesses, the TUI as an app) on a real transcript with an override and a compaction
window configured, and with and without what Claude Code reported to its statusline.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.support.fixtures import rereads, scenario
from tests.ui.conftest import World, loaded

SID = scenario("refactor").session_id
PROJECT = scenario("refactor").project_dir
CONTEXT = rereads(scenario("refactor").path).context  # the last prompt, recomputed from the raw lines


def _ctxtop(world: World, *args: str, stdin: str | None = None) -> str:
    # A generous statusline budget: this compares figures, not speed (a loaded CI box can take > 2 s cold).
    env = {
        **os.environ,
        **world.env,
        "CLAUDE_CONFIG_DIR": str(world.claude),
        "CTXTOP_STATUSLINE_BUDGET": "30",
    }
    proc = subprocess.run([sys.executable, "-m", "ctxtop", *args], input=stdin, capture_output=True, text=True,
                          env=env, timeout=60)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


async def _three_ways(world: World, payload: dict) -> tuple[dict, object, str]:
    line = _ctxtop(world, "statusline", stdin=json.dumps(payload))
    [row] = [r for r in json.loads(_ctxtop(world, "report", "sessions", "--json")) if r["session_id"] == SID]
    app = world.app()
    async with app.run_test(size=(120, 36)) as pilot:
        await loaded(pilot, app, 3)
        view = app.views[SID]
    # doctor lists one line per (model, window source, point); the session's figures must be among them.
    doctor = json.loads(_ctxtop(world, "doctor", "--json", "--claude-dir", str(world.claude)))
    seen = {
        (c["model"], c["context_window"], c["window"], c["compact_at_tokens"]) for c in doctor["compaction"]
    }
    assert (
        row["models"][0],
        row["context_window"],
        row["compaction_window"],
        row["compact_at_tokens"],
    ) in seen
    assert doctor["threshold_pct"] == view.threshold_pct
    return row, view, line


async def test_report_tui_and_statusline_agree(world: World) -> None:
    (world.claude / "settings.json").write_text(
        json.dumps(
            {"env": {"CLAUDE_CODE_AUTO_COMPACT_WINDOW": "300000", "CLAUDE_AUTOCOMPACT_PCT_OVERRIDE": "50"}}
        )
    )
    world.write_config("[compaction]\nthreshold = 40\n")
    payload = {"session_id": SID, "transcript_path": str(world.claude / "projects" / PROJECT / f"{SID}.jsonl"),
               "model": {"id": "claude-opus-4-8"}, "version": "2.1.197"}  # fmt: skip
    # 1. Inferred: 2.1.197's default opus-4-8 runs with 1M; compaction against the configured 300K:
    #    min(floor(280,000 × 50%), 267,000) = 140,000; ctxtop's 40% of 300K = 120,000 comes first.
    row, view, line = await _three_ways(world, payload)
    assert (row["context_window"], row["compaction_window"], row["compact_at_tokens"]) == (
        1_000_000,
        300_000,
        140_000,
    )
    assert (view.window, view.compaction.window, view.compaction.compact_at) == (1_000_000, 300_000, 140_000)
    assert row["fill"] == round(view.fill, 6) == round(CONTEXT / 1_000_000, 6)
    assert row["room_before_compaction_tokens"] == view.room_before_compaction == 120_000 - CONTEXT
    assert line.startswith(
        f"ctx {view.fill * 100:.0f}% · {round(view.room_before_compaction / 1000)}K to compact"
    )
    # 2. Claude Code reported a 200K window to its statusline (the model was chosen with --model): every
    #    surface now uses it, the report and the TUI included (the statusline recorded it).
    payload["context_window"] = {"context_window_size": 200_000, "used_percentage": 28}
    row, view, line = await _three_ways(world, payload)
    assert row["context_window"] == view.window == 200_000
    assert row["context_window_source"] == "reported by Claude Code (statusline)"
    assert row["compaction_window"] == view.compaction.window == 200_000  # 300K is capped at the model's 200K
    assert row["compact_at_tokens"] == view.compaction.compact_at == 90_000  # floor(180,000 × 50%)
    assert row["fill"] == round(view.fill, 6) == round(CONTEXT / 200_000, 6)
    # ctxtop's 40% of the 200K compaction window (80,000) comes first.
    assert row["room_before_compaction_tokens"] == view.room_before_compaction == 80_000 - CONTEXT
    assert line.startswith(
        f"ctx {CONTEXT / 200_000 * 100:.0f}% · {round((80_000 - CONTEXT) / 1000)}K to compact"
    )
