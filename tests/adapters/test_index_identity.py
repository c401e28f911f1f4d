"""A file is known by its resolved path: a relative or symlinked config dir reuses the index's rows."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from ctxtop.adapters import index_home
from ctxtop.adapters.index import Index
from ctxtop.sources.claude_code.source import ClaudeCode
from ctxtop.sources.registry import Sources
from tests.support.fixtures import FIXTURES, scenario


def _files(db: Path) -> list[str]:
    with sqlite3.connect(db) as conn:
        return sorted(r[0] for r in conn.execute("SELECT path FROM files"))


def test_relative_and_symlinked_dirs_name_the_same_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = tmp_path / "real" / "claude"
    shutil.copytree(FIXTURES, real)
    (tmp_path / "link").symlink_to(real)
    db = tmp_path / "index.db"
    index = Index(db)
    try:
        cold = index.update(Sources((ClaudeCode((real,)),)))
        assert cold.files_read > 0
        rows = _files(db)
        totals = [(s.session_id, s.cost_usd) for s in index.sessions()]
        # Through a symlink, then relative to the cwd: nothing to read again, no second row for any file.
        assert index.update(Sources((ClaudeCode((tmp_path / "link",)),))).files_read == 0
        monkeypatch.chdir(tmp_path / "real")
        assert index.update(Sources((ClaudeCode((Path("claude"),)),))).files_read == 0
        # One transcript named through the symlink (the statusline's way) is the row already there.
        transcript = tmp_path / "link" / scenario("refactor").relpath()
        assert index.update(Sources((ClaudeCode((tmp_path / "link",)),)), only=[transcript]).files_read == 0
        assert _files(db) == rows
        assert [(s.session_id, s.cost_usd) for s in index.sessions()] == totals
    finally:
        index.close()


def test_a_symlinked_claude_dir_on_the_command_line_reports_the_same_sessions(tmp_path: Path) -> None:
    real = tmp_path / "claude"
    shutil.copytree(FIXTURES, real)
    (tmp_path / "link").symlink_to(real)
    env = {**os.environ, "CTXTOP_DATA_DIR": str(tmp_path / "data"), "CTXTOP_CONFIG_DIR": str(tmp_path / "cfg"),
           "CTXTOP_CACHE_DIR": str(tmp_path / "cache")}  # fmt: skip

    def report(claude_dir: str) -> list[dict]:
        proc = subprocess.run([sys.executable, "-m", "ctxtop", "report", "sessions", "--json",
                               f"--claude-dir={claude_dir}", f"--data-dir={tmp_path / 'data'}"], capture_output=True, text=True, env=env,
                              cwd=tmp_path, timeout=120)  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stdout)

    first = report(str(real))
    db = index_home.locate(str(tmp_path / "data"))[0]
    rows = _files(db)
    assert report(str(tmp_path / "link")) == first
    assert report("claude") == first
    assert _files(db) == rows
