"""Where a Claude Code session ran: its main transcript's ``cwd``; a subagent file's only when the main is gone."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from ctxtop.adapters.index import Index
from ctxtop.sources.claude_code.source import ClaudeCode
from ctxtop.sources.registry import Sources
from tests.support.fixtures import scenario

REFACTOR = scenario("refactor")


def _subagent(root: Path, cwd: str, lines: int) -> Path:
    """A subagent file made of the main transcript's first assistant records, run in ``cwd`` (a worktree)."""
    main = root / REFACTOR.relpath()
    records = [json.loads(line) for line in main.read_text().splitlines() if line.strip()]
    picked = [r for r in records if r.get("type") == "assistant"][:lines]
    for r in picked:
        r.update(cwd=cwd, isSidechain=True, agentId="a1")
        r["message"] = {**r["message"], "id": r["message"]["id"] + "-sub"}
    sub = main.with_suffix("") / "subagents" / "agent-a1.jsonl"
    sub.parent.mkdir(parents=True, exist_ok=True)
    sub.write_text("".join(json.dumps(r) + "\n" for r in picked))
    return sub


def test_the_main_files_cwd_wins_over_a_subagents(tmp_path: Path, claude_fixtures: Path) -> None:
    root = tmp_path / "claude"
    shutil.copytree(claude_fixtures, root)
    sub = _subagent(root, "/elsewhere/worktree-1", 2)
    sources = Sources((ClaudeCode((root,)),))
    index = Index(tmp_path / "i.sqlite3")
    index.update(sources)
    [stats] = index.sessions(ids=[REFACTOR.session_id])
    assert stats.cwd == REFACTOR.cwd
    # The subagent writes on, later than anything in the main file: the session still ran where it did.
    with open(sub, "a") as fh:
        fh.write(sub.read_text().splitlines()[-1].replace("-sub", "-sub2") + "\n")
    index.update(sources)
    [stats] = index.sessions(ids=[REFACTOR.session_id])
    assert stats.cwd == REFACTOR.cwd


def test_without_the_main_file_the_subagents_records_say_where(tmp_path: Path, claude_fixtures: Path) -> None:
    root = tmp_path / "claude"
    shutil.copytree(claude_fixtures, root)
    _subagent(root, REFACTOR.cwd, 3)
    (root / REFACTOR.relpath()).unlink()
    index = Index(tmp_path / "i.sqlite3")
    index.update(Sources((ClaudeCode((root,)),)))
    [stats] = index.sessions(ids=[REFACTOR.session_id])
    # Not the lossy decoding of the project dir name (every "-" read as "/").
    assert stats.cwd == REFACTOR.cwd != "/" + REFACTOR.project_dir[1:].replace("-", "/")
    assert stats.context_tokens is None and stats.requests == 3 and stats.version
