"""Where Codex sessions are found: homes, roots, file names, the stat-poll folders."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ctxtop.sources.codex.source import Codex, codex_homes
from tests.sources.codex.expected import CODEX_HOME, FILES


def test_homes_from_option_env_and_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CODEX_HOME", f"{tmp_path / 'a'}, {tmp_path / 'b'},{tmp_path / 'a'}")
    assert codex_homes() == (tmp_path / "a", tmp_path / "b")
    assert codex_homes([str(tmp_path / "x")]) == (tmp_path / "x",)
    assert codex_homes(str(tmp_path / "y")) == (tmp_path / "y",)
    monkeypatch.delenv("CODEX_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert codex_homes() == (tmp_path / ".codex",)
    assert Codex.discover({"codex_dirs": None}).homes == (tmp_path / ".codex",)


def test_files_under_sessions_and_archived_sessions(tmp_path: Path) -> None:
    home = tmp_path / "codex"
    (home / "sessions" / "2026" / "11" / "20").mkdir(parents=True)
    (home / "archived_sessions").mkdir()
    (home / "sessions" / "2026" / "11" / "20" / "rollout-x.jsonl").write_text("")
    (home / "sessions" / "2026" / "11" / "20" / "notes.jsonl").write_text("")
    (home / "archived_sessions" / "rollout-y.jsonl").write_text("")
    (home / "history.jsonl").write_text("")  # Codex's prompt history: not a session
    source = Codex((home, tmp_path / "missing"))
    assert [p.name for p in source.iter_files()] == ["rollout-x.jsonl", "rollout-y.jsonl"]
    assert source.is_log(str(home / "sessions" / "2026" / "rollout-z.jsonl"))
    assert not source.is_log(str(home / "history.jsonl"))
    assert not source.is_log(str(home / "sessions" / "notes.jsonl"))
    assert not source.is_log(str(tmp_path / "elsewhere" / "rollout-z.jsonl"))


def test_fixture_sessions_have_their_ids() -> None:
    source = Codex((CODEX_HOME,))
    ids = {Codex.context_for(p).session_id for p in source.iter_files()}
    assert set(FILES) <= ids
    assert all(Codex.context_for(p).source == "codex" for p in source.iter_files())


def test_poll_dirs_are_the_recent_days(tmp_path: Path) -> None:
    root = tmp_path / "sessions"
    hot = str(root / "2020" / "01" / "02" / "rollout-a.jsonl")
    dirs = Codex((tmp_path,)).poll_dirs(root, [hot, "/elsewhere/rollout-b.jsonl"])
    import time

    today = time.strftime("%Y/%m/%d", time.localtime())
    assert str(root / today) in dirs and str(root) in dirs
    assert str(root / "2020" / "01" / "02") in dirs and "/elsewhere" not in dirs
    assert len(dirs) < 20


def test_imported_sessions_get_a_path_this_source_claims(tmp_path: Path) -> None:
    source = Codex((tmp_path,))
    sid = "01990a1c-2f3e-7a10-9b55-3c2d1e0f4a01"
    path = source.session_path(sid, "")
    assert path is not None and source.is_log(os.fspath(path))
    assert Codex.context_for(path).session_id == sid


def test_title_is_the_first_request_typed(tmp_path: Path) -> None:
    from tests.sources.codex.expected import A

    assert Codex.session_title([str(CODEX_HOME / FILES[A])]) == "list the failing tests"
    import json

    cli = json.loads((CODEX_HOME / "cli-scenarios.json").read_text())
    # The real CLI writes its own user messages first (environment context, instructions): skipped.
    assert Codex.session_title([str(CODEX_HOME / cli["plain"]["file"])]) == "run the tests"
    assert Codex.session_title([str(tmp_path / "missing.jsonl")]) is None
    long = tmp_path / "rollout-long.jsonl"
    item = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "word " * 40}]}
    long.write_text(json.dumps({"timestamp": "t", "type": "response_item", "payload": item}) + "\n")
    title = Codex.session_title([str(long)])
    assert title is not None and len(title) == 80 and title.endswith("…")
