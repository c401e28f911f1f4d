"""Compaction forensics: the matcher on paraphrases, and retention on real transcripts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ctxtop.core.forensics import Fact, found
from ctxtop.sources.claude_code.notes import retention
from tests.support.fixtures import scenario


@pytest.mark.parametrize(
    ("fact", "text", "kept"),
    [
        (Fact("file", "/work/app/src/inventory/models.py"), "We edited models.py and storage.py.", True),
        (Fact("file", "/work/app/src/inventory/models.py"), "The models module was changed.", False),
        (Fact("file", "/work/app/src/models.py"), "see old_models.py", False),
        (Fact("task", "Refactor inventory records to dataclasses"),
         "Pending: refactoring the inventory records into dataclasses (models done).", True),
        (Fact("task", "Refactor inventory records to dataclasses"), "Pending: records become classes.", False),
        (Fact("task", "Add a CHANGELOG entry for the refactor"), "Still to do: changelog entry.", True),
        (Fact("failure", "`python -m pytest tests` -> 1 failed: KeyError: 'sku'"),
         "The test run still fails with a KeyError on the sku field.", True),
        (Fact("failure", "`python -m pytest tests` -> FAILED tests/test_calc.py::test_mean"),
         "test_mean is still red.", True),
        (Fact("failure", "`make build` -> exit 2"), "The make build step is broken.", True),
        (Fact("failure", "`make build` -> exit 2"), "Everything passes.", False),
        (Fact("decision", "I'll use dataclasses instead of attrs for the records."),
         "Decided: dataclasses rather than attrs for records.", True),
        (Fact("pin", "never push to main"), "Rules: Never push to   main.", True),
        (Fact("pin", "never push to main without review"), "push to main", False),
    ],
)  # fmt: skip
def test_matcher_survives_paraphrase_of_names(fact: Fact, text: str, kept: bool) -> None:
    assert found(fact, text) is kept


def _lines(path: Path) -> list[object]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_generic_summary_loses_the_task_and_reattached_files_keep_theirs() -> None:
    # The fixture session compacted with the fake API's generic summary and no ctxtop hooks.
    [r] = retention(_lines(scenario("refactor").path))
    assert r.has_summary and not r.notes_reinjected
    assert [f.text for f in r.lost_open_tasks] == ["Refactor inventory records to dataclasses"]
    assert {f.text.rsplit("/", 1)[-1] for f, where in r.kept if where == "re-attached file"} == {
        "models.py", "storage.py"}  # fmt: skip
    assert r.score == "kept 2 of 3"


def test_reinjected_notes_keep_every_fact() -> None:
    # The same session as if ctxtop's SessionStart hook had re-injected its notes right after the boundary.
    lines = _lines(scenario("refactor").path)
    cut = next(i for i, o in enumerate(lines) if o.get("subtype") == "compact_boundary")
    from ctxtop.core.notes import additional_context, render
    from ctxtop.sources.claude_code.notes import build_notes

    notes = render(build_notes(lines[:cut], pins=["keep the public API stable"]))
    hook = {"type": "attachment", "timestamp": lines[cut]["timestamp"],
            "attachment": {"type": "hook_additional_context", "content": [additional_context(notes)]}}  # fmt: skip
    [r] = retention([*lines[: cut + 1], hook, *lines[cut + 1 :]], pins=["keep the public API stable"])
    assert r.notes_reinjected and not r.lost and r.total == 4
    assert {where for _, where in r.kept} >= {"hook context"}


def test_every_corpus_compaction_is_scored(corpus: Path) -> None:
    paths = [p for p in sorted(corpus.rglob("*.jsonl")) if "subagents" not in p.parts]
    boundaries = scored = 0
    for path in paths:
        lines = []
        for raw in path.read_bytes().splitlines():
            try:
                lines.append(json.loads(raw))
            except ValueError:
                continue
        found_here = retention(lines)
        boundaries += sum(1 for o in lines if isinstance(o, dict) and o.get("subtype") == "compact_boundary")
        scored += len(found_here)
        for r in found_here:
            assert r.total == len(r.kept) + len(r.lost) and r.has_summary
    assert scored == boundaries >= 4
