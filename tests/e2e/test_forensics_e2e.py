"""Compaction forensics on real Claude Code runs: the same scripted session compacts once without ctxtop's
notes hooks and once with them (``ctxtop claude install``). The fake API's summary is generic, as a real
summary often is about the details; ``ctxtop report compactions`` reports what survived of the task and the
file the session set up, and with ctxtop's notes re-injected by the SessionStart hook both are kept."""

from __future__ import annotations

import json

import pytest

from tests.support.claude_cli import ClaudeCLI
from tests.support.fake_api import FakeAPI, GrowingUsage, bash, edit, task_create, text, write

pytestmark = pytest.mark.timeout(90)

TASK = "Convert inventory records to dataclasses"


def _run(claude: ClaudeCLI, fake_api: FakeAPI) -> dict:
    models = claude.project / "src" / "models.py"
    models.parent.mkdir()
    fake_api.script(
        [task_create(TASK), write(str(models), "RECORD = {'sku': 'a'}\n"),
         edit(str(models), "RECORD = {'sku': 'a'}", "RECORD = Record(sku='a')"),
         *(bash(f"echo checking module {i}") for i in range(9)), text("Done.")],
        usage=GrowingUsage(start=20_000, step=10_000),
    )  # fmt: skip
    run = claude.run("Refactor the inventory records to dataclasses, module by module.")
    assert [m.kind for m in fake_api.messages].count("compact") == 1
    [doc] = json.loads(claude.ctxtop("report", "compactions", run.session_id, "--json", "--claude-dir",
                                     str(claude.config_dir)).stdout)  # fmt: skip
    [compaction] = doc["compactions"]
    return compaction


def _facts(compaction: dict) -> dict[tuple[str, str], str | None]:
    """(kind, base name or text) -> where it was seen after the compaction (None: lost)."""
    out: dict[tuple[str, str], str | None] = {}
    for f in compaction["kept"]:
        out[(f["kind"], f["text"].rsplit("/", 1)[-1])] = f["where"]
    for f in compaction["lost"]:
        out[(f["kind"], f["text"].rsplit("/", 1)[-1])] = None
    return out


def test_without_ctxtop_notes_the_generic_summary_loses_the_task(
    claude: ClaudeCLI, fake_api: FakeAPI
) -> None:
    # The same compaction point as ctxtop would set, but no hooks: only Claude Code's own summary.
    settings = {
        "env": {"CLAUDE_AUTOCOMPACT_PCT_OVERRIDE": "66.67", "CLAUDE_CODE_AUTO_COMPACT_WINDOW": "200000"}
    }
    claude.settings_path.write_text(json.dumps(settings))
    compaction = _run(claude, fake_api)
    facts = _facts(compaction)
    assert not compaction["notes_reinjected"]
    assert facts[("task", TASK)] is None and compaction["lost_open_tasks"] == [TASK]
    # Claude Code itself re-attaches the file it just edited after compacting: that keeps the file.
    assert facts[("file", "models.py")] == "re-attached file"
    assert compaction["score"] == f"kept {compaction['kept_count']} of {compaction['total']}"


def test_with_ctxtop_notes_the_task_and_the_file_are_kept(claude: ClaudeCLI, fake_api: FakeAPI) -> None:
    claude.ctxtop("claude", "install", "--threshold", "60", "--settings", str(claude.settings_path))
    compaction = _run(claude, fake_api)
    facts = _facts(compaction)
    assert compaction["notes_reinjected"]
    assert facts[("task", TASK)] == "hook context"
    assert facts[("file", "models.py")] == "hook context"
    assert compaction["lost_open_tasks"] == [] and compaction["lost"] == []
