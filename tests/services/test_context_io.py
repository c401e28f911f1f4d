"""Reading a session for the breakdown and the forensics: pins count from when they were pinned."""

from __future__ import annotations

import os
from pathlib import Path

from ctxtop.adapters import notes_store
from ctxtop.adapters.index import Index
from ctxtop.services.context_io import session_retention
from ctxtop.sources.claude_code.source import ClaudeCode
from ctxtop.sources.registry import Sources
from tests.support.fixtures import scenario

REFACTOR = scenario("refactor")


def test_a_pin_counts_only_for_compactions_after_it_was_pinned(tmp_path: Path, claude_fixtures: Path) -> None:
    index = Index(tmp_path / "i.sqlite3")
    index.update(Sources((ClaudeCode((claude_fixtures,)),)))
    notes_store.pin(REFACTOR.session_id, "keep the public API stable")
    # Pinned now, after the fixture's compaction: not held against it.
    [r] = session_retention(index, REFACTOR.session_id) or []
    assert all(f.kind != "pin" for f, _ in r.kept) and all(f.kind != "pin" for f in r.lost)
    # Pinned before it: the generic summary did not keep it.
    os.utime(notes_store.pins_path(REFACTOR.session_id), (r.ts - 60, r.ts - 60))
    [r] = session_retention(index, REFACTOR.session_id) or []
    assert [f.text for f in r.lost if f.kind == "pin"] == ["keep the public API stable"]
