"""The index lives in the data dir (it is the only copy of archived history): an index left in the cache dir
by an earlier version is moved there on first run, atomically; a failed move leaves it as it was and says so."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from ctxtop import cli
from ctxtop.adapters import index_home
from ctxtop.adapters.index import Index
from ctxtop.sources.claude_code.source import ClaudeCode
from ctxtop.sources.registry import Sources


def _old_index(claude_fixtures: Path) -> tuple[Path, int]:
    old = Path(os.environ["CTXTOP_CACHE_DIR"]) / "index.sqlite3"
    index = Index(old)
    index.update(Sources((ClaudeCode((claude_fixtures,)),)))
    n = len(index.sessions())
    index.close()
    return old, n


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_an_index_in_the_cache_dir_moves_to_the_data_dir(
    claude_fixtures: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old, n = _old_index(claude_fixtures)
    new = Path(os.environ["CTXTOP_DATA_DIR"]) / "index.sqlite3"
    assert cli.main(["report", "sessions", "--json", "--claude-dir", str(claude_fixtures)]) == 0
    captured = capsys.readouterr()
    assert len(json.loads(captured.out)) == n
    assert f"moved the index from {old} to {new}" in captured.err
    assert new.exists() and not old.exists() and not Path(f"{old}-wal").exists()
    assert oct(new.stat().st_mode & 0o777) == "0o600"
    # The next run uses it where it is, silently, and reads nothing again.
    assert index_home.locate() == (new, None)
    index = Index(new)
    assert index.update(Sources((ClaudeCode((claude_fixtures,)),))).files_read == 0


def test_a_failed_move_leaves_the_old_index_untouched_and_says_so(
    claude_fixtures: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old, n = _old_index(claude_fixtures)
    data = Path(os.environ["CTXTOP_DATA_DIR"])
    data.parent.mkdir(parents=True, exist_ok=True)
    data.write_text("a file where the data dir should be\n")  # the move cannot create its directory
    before = _digest(old)
    path, notice = index_home.locate()
    assert path == old and notice is not None and "could not move the index" in notice
    assert _digest(old) == before
    assert cli.main(["report", "sessions", "--json", "--claude-dir", str(claude_fixtures)]) == 0
    captured = capsys.readouterr()
    assert len(json.loads(captured.out)) == n
    assert "could not move the index" in captured.err and "unchanged" in captured.err


@pytest.mark.parametrize("option", ["--data-dir", "--cache-dir"])
def test_an_explicit_directory_holds_the_index_as_is(
    option: str, tmp_path: Path, claude_fixtures: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "mine"
    argv = ["report", "sessions", "--json", "--claude-dir", str(claude_fixtures), option, str(target)]
    assert cli.main(argv) == 0
    assert len(json.loads(capsys.readouterr().out)) == 3
    assert (target / "index.sqlite3").exists()
    assert not (Path(os.environ["CTXTOP_DATA_DIR"]) / "index.sqlite3").exists()
