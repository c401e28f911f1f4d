"""An index written by the old rule (files named as the config dir was given: through a symlink, or relative
to the cwd) is migrated to resolved names on the next update, not read again."""

from __future__ import annotations

import os
import shutil
import sqlite3
from pathlib import Path

import pytest

from ctxtop.adapters.index import Index
from ctxtop.sources.claude_code.source import ClaudeCode
from ctxtop.sources.registry import Sources
from tests.support.fixtures import FIXTURES

# (``copies`` and ``requests.file`` name a file by its number, ``files.fid``: renamed with the file's row.)
COLUMNS = (("files", "path"), ("session_files", "path"), ("compacts", "file"))


def _old_rule(db: Path, real: str, given: str) -> None:
    """Rename every row as the old rule named it: under the directory as given, not resolved."""
    with sqlite3.connect(db) as conn:
        for table, column in COLUMNS:
            conn.execute(f"UPDATE {table} SET {column} = ? || substr({column}, ?) WHERE {column} LIKE ? || '%'",
                         (given, len(real) + 1, real))  # fmt: skip
        conn.execute("UPDATE requests SET rank = replace(rank, ?, ?)", ("|" + real, "|" + given))


def _snapshot(db: Path) -> dict[str, list]:
    with sqlite3.connect(db) as conn:
        return {
            "files": sorted(conn.execute("SELECT path, size, offset, lines FROM files")),
            "requests": sorted(conn.execute("SELECT key, session_id, file, rank, total FROM requests")),
            "copies": sorted(
                conn.execute("SELECT c.key, f.path FROM copies c JOIN files f ON f.fid = c.fid")
            ),
            "session_files": sorted(conn.execute("SELECT * FROM session_files")),
            "compacts": sorted(conn.execute("SELECT * FROM compacts")),
        }


@pytest.mark.parametrize("given", ["symlink", "relative"])
def test_rows_named_by_the_old_rule_are_renamed_not_read_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, given: str
) -> None:
    real = tmp_path / "real" / "claude"
    shutil.copytree(FIXTURES, real)
    (tmp_path / "link").symlink_to(tmp_path / "real")
    db = tmp_path / "index.db"
    index = Index(db)
    sources = Sources((ClaudeCode((real,)),))
    assert index.update(sources).files_read > 0
    want = _snapshot(db)
    stats = [(s.session_id, s.cost_usd, s.requests, s.tokens) for s in index.sessions()]
    index.close()

    monkeypatch.chdir(tmp_path / "real")
    old = str(tmp_path / "link" / "claude") if given == "symlink" else "claude"
    _old_rule(db, str(real), old)
    assert all(p.startswith(old) for p, *_ in _snapshot(db)["files"])

    index = Index(db)
    result = index.update(sources)
    assert result.files_read == 0 and result.bytes_read == 0  # renamed, not read again
    assert _snapshot(db) == want  # every row under its resolved name, none doubled
    assert [(s.session_id, s.cost_usd, s.requests, s.tokens) for s in index.sessions()] == stats
    index.close()


def test_a_reused_inode_with_other_content_is_read_not_adopted(tmp_path: Path) -> None:
    real = tmp_path / "claude"
    shutil.copytree(FIXTURES, real)
    db = tmp_path / "index.db"
    index = Index(db)
    sources = Sources((ClaudeCode((real,)),))
    index.update(sources)
    index.close()
    # Rows named under a directory not in effect, for a file whose content is no longer what was indexed.
    _old_rule(db, str(real), str(tmp_path / "elsewhere"))
    victim = max(real.glob("projects/*/*.jsonl"), key=lambda p: p.stat().st_size)
    with open(victim, "r+b") as fh:  # same inode, other first bytes
        fh.write(b"{" + b" " * 30)
    index = Index(db)
    result = index.update(sources)
    assert result.files_read == 1  # only the rewritten file is read; the others are adopted
    with sqlite3.connect(db) as conn:
        paths = [r[0] for r in conn.execute("SELECT path FROM files")]
    assert str(victim) in paths and sum(p.startswith(str(real) + os.sep) for p in paths) == len(
        list(real.glob("projects/**/*.jsonl"))
    )
    index.close()
