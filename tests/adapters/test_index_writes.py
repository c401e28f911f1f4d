"""Schema 11: ``copies`` names files by number (``files.fid``); a schema-10 index is converted in place."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from ctxtop.adapters.index import Index
from ctxtop.sources.claude_code.source import ClaudeCode
from ctxtop.sources.registry import Sources
from tests.support.fixtures import FIXTURES


def _copies(db: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(db) as conn:
        return sorted(conn.execute("SELECT c.key, f.path FROM copies c JOIN files f ON f.fid = c.fid"))


def _largest(db: Path) -> list[tuple[str, str]]:
    """Each request with the path of the file holding its largest copy."""
    with sqlite3.connect(db) as conn:
        return sorted(conn.execute("SELECT r.key, f.path FROM requests r JOIN files f ON f.fid = r.file"))


def _paths_in_requests(conn: sqlite3.Connection) -> None:
    """What schemas up to 12 held: the path of a request's largest copy, not the file's number."""
    conn.execute("UPDATE requests SET file = (SELECT path FROM files WHERE fid = requests.file)")


def _to_schema_10(db: Path) -> None:
    """What schema 10 held: copies by path, no file numbers."""
    with sqlite3.connect(db) as conn:
        _paths_in_requests(conn)
        conn.execute("CREATE INDEX requests_file ON requests(file)")
        conn.execute("CREATE TABLE old (key TEXT, file TEXT, PRIMARY KEY (key, file)) WITHOUT ROWID")
        conn.execute("INSERT INTO old SELECT c.key, f.path FROM copies c JOIN files f ON f.fid = c.fid")
        conn.execute("DROP TABLE copies")
        conn.execute("ALTER TABLE old RENAME TO copies")
        conn.execute("CREATE INDEX copies_file ON copies(file)")
        conn.execute("DROP INDEX files_fid")
        conn.execute("ALTER TABLE files DROP COLUMN fid")
        conn.execute("UPDATE meta SET value='10' WHERE key='schema'")


def _figures(index: Index) -> list[tuple]:
    return sorted(
        (s.session_id, s.requests, s.tokens, s.cost_usd, s.archived_requests, s.transcript_deleted)
        for s in index.sessions()
    )


def test_a_schema_10_index_keeps_its_copies_by_number_and_reads_nothing_again(tmp_path: Path) -> None:
    root = tmp_path / "claude"
    shutil.copytree(FIXTURES, root)
    sources = Sources((ClaudeCode((root,)),))
    db, twin = tmp_path / "i.sqlite3", tmp_path / "twin.sqlite3"
    index = Index(db)
    index.update(sources)
    index.close()
    shutil.copyfile(db, twin)  # never converted: what the upgraded one must behave as
    want = _copies(db)
    assert len({path for _, path in want}) >= 3
    _to_schema_10(db)

    upgraded, same = Index(db), Index(twin)
    assert upgraded.update(sources).bytes_read == 0  # converted in place, not read again
    assert _copies(db) == want and _figures(upgraded) == _figures(same)
    assert (
        _largest(db) == _largest(twin)
        and len(_largest(db)) == upgraded.conn.execute("SELECT count(*) FROM requests").fetchone()[0]
    )
    assert upgraded.conn.execute("SELECT count(*) FROM files WHERE fid IS NULL").fetchone() == (0,)

    # The copies still say which files hold what: a deleted transcript archives only what no other file holds,
    # exactly as in the index that was never converted.
    victim = max(root.glob("projects/*/*.jsonl"), key=lambda p: p.stat().st_size)
    victim.unlink()
    upgraded.update(sources)
    same.update(sources)
    assert _figures(upgraded) == _figures(same)
    assert any(archived for *_, archived, _ in _figures(upgraded))
    assert _copies(db) == _copies(twin)


def test_new_files_get_new_numbers_and_an_unreadable_file_none_until_read(tmp_path: Path) -> None:
    root = tmp_path / "claude"
    shutil.copytree(FIXTURES, root)
    sources = Sources((ClaudeCode((root,)),))
    index = Index(tmp_path / "i.sqlite3")
    index.update(sources)
    numbers = dict(index.conn.execute("SELECT path, fid FROM files"))
    assert None not in numbers.values() and len(set(numbers.values())) == len(numbers)
    project = next((root / "projects").iterdir())
    locked = project / "locked.jsonl"
    locked.write_text((next(project.glob("*.jsonl"))).read_text())
    locked.chmod(0)
    index.update(sources)
    row = index.conn.execute("SELECT fid, last_error FROM files WHERE path=?", (str(locked),)).fetchone()
    if row[1] is None:  # running as root: every file is readable
        assert row[0] > max(numbers.values())
    else:
        assert row[0] is None
        locked.chmod(0o600)
        index.update(sources)
        (fid,) = index.conn.execute("SELECT fid FROM files WHERE path=?", (str(locked),)).fetchone()
        assert fid > max(numbers.values())
    assert dict(index.conn.execute("SELECT path, fid FROM files WHERE path<>?", (str(locked),))) == numbers


def test_a_first_update_finds_the_owners_without_asking_sqlite_as_a_later_one_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A first update remembers the keys it wrote instead of looking each up (``WRITTEN_KEYS``); the owners, and so
    # every figure, are those found by asking SQLite (past the cap, or in an update of a non-empty index).
    from ctxtop.adapters import index as index_module

    root = tmp_path / "claude"
    shutil.copytree(FIXTURES, root)
    # Copies of sessions under other names and places: the same requests in several files, owned by one.
    for n, path in enumerate(sorted(root.glob("projects/*/*.jsonl"))):
        other = root / "projects" / f"-copy-{n}"
        other.mkdir()
        shutil.copyfile(path, other / f"0000000{n}-copy.jsonl")
        shutil.copyfile(path, path.with_name(f"zz{n}-resumed.jsonl"))
    sources = Sources((ClaudeCode((root,)),))

    def owners(db: Path) -> list[tuple]:
        with sqlite3.connect(db) as conn:
            return sorted(conn.execute("SELECT key, session_id, file, rank, total FROM requests"))

    checked = []
    remembered = index_module.Index._known_keys

    def known_keys(self: Index, keys: list[str]) -> list[str]:
        known = remembered(self, keys)
        assert self._owners(known) == self._owners(keys)  # what asking SQLite for every key finds
        checked.append(len(keys) - len(known))
        return known

    monkeypatch.setattr(index_module.Index, "_known_keys", known_keys)
    first = Index(tmp_path / "first.sqlite3")
    first.update(sources)
    assert sum(checked) > 0 and first.conn.execute("SELECT count(*) FROM copies").fetchone()[0] > len(
        first.conn.execute("SELECT key FROM requests").fetchall()
    )  # lookups spared, and requests held by several files
    monkeypatch.undo()
    monkeypatch.setattr(index_module, "WRITTEN_KEYS", 3)
    capped = Index(tmp_path / "capped.sqlite3")
    capped.update(sources)
    monkeypatch.undo()
    # One file first, the rest in a second update: every owner looked up in SQLite.
    later = Index(tmp_path / "later.sqlite3")
    later.update(sources, only=[sorted(root.glob("projects/-copy-*/*.jsonl"))[0]])
    later.update(sources)
    want = owners(tmp_path / "later.sqlite3")
    assert owners(tmp_path / "first.sqlite3") == want == owners(tmp_path / "capped.sqlite3")
    assert _figures(first) == _figures(later) == _figures(capped)


@pytest.mark.parametrize("copy_sid", ["a", "b"])
def test_a_larger_copy_read_later_in_another_file_changes_the_owners_figures(
    tmp_path: Path, copy_sid: str
) -> None:
    # The owner (file a, earlier) keeps the request; file b's later, larger copy (a stale output_tokens in a)
    # sets its counts: session a's stored figures change, whichever session b's records name.
    from tests.adapters.test_index_review import _line, _world

    proj, sources = _world(tmp_path)
    (proj / "a.jsonl").write_text(
        _line("k", 10, sid="a") + _line("x", 1, sid="a", ts="2026-11-20T10:00:05.000Z")
    )
    index = Index(tmp_path / "i.sqlite3")
    index.update(sources)
    before = {s.session_id: s.tokens.output for s in index.sessions()}
    assert before == {"a": 11}
    (proj / "b.jsonl").write_text(
        _line("y", 2, sid=copy_sid, ts="2026-11-20T10:00:01.000Z") + _line("k", 50, sid=copy_sid)
    )
    index.update(sources)
    after = {s.session_id: s.tokens.output for s in index.sessions()}
    assert after["a"] == 51  # the larger copy's count, in the owner's figures
    assert after.get("b", 2) == 2


def test_a_request_of_a_session_its_file_does_not_list_marks_its_owner_by_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No source parses so today; were one to, the owners of what the file's copies changed are looked up by the
    # file's keys (no index of requests by file): the figures come out as when the file lists them.
    from ctxtop.adapters import index as index_module
    from tests.adapters.test_index_review import _line, _world

    proj, sources = _world(tmp_path)
    (proj / "a.jsonl").write_text(
        _line("k", 10, sid="a") + _line("x", 1, sid="a", ts="2026-11-20T10:00:05.000Z")
    )
    index = Index(tmp_path / "i.sqlite3")
    index.update(sources)
    parse = index_module.read_and_parse
    statements: list[str] = []

    def unlisted(*args, **kwargs):  # type: ignore[no-untyped-def]
        read, parsed = parse(*args, **kwargs)
        parsed.sessions.clear()
        return read, parsed

    monkeypatch.setattr(index_module, "read_and_parse", unlisted)
    index.conn.set_trace_callback(statements.append)
    (proj / "b.jsonl").write_text(_line("k", 50, sid="a"))
    index.update(sources)
    index.conn.set_trace_callback(None)
    assert any("WHERE key IN (" in s and "AND file=" in s for s in statements)
    assert {s.session_id: s.tokens.output for s in index.sessions()}["a"] == 51


def test_a_schema_11_index_drops_its_index_of_requests_by_file_and_numbers_them_in_place(
    tmp_path: Path,
) -> None:
    root = tmp_path / "claude"
    shutil.copytree(FIXTURES, root)
    sources = Sources((ClaudeCode((root,)),))
    db = tmp_path / "i.sqlite3"
    index = Index(db)
    index.update(sources)
    want = _figures(index)
    largest = _largest(db)
    _paths_in_requests(index.conn)  # what schema 11 had
    index.conn.execute("CREATE INDEX requests_file ON requests(file)")
    index.conn.execute("UPDATE meta SET value='11' WHERE key='schema'")
    index.close()
    upgraded = Index(db)
    assert upgraded.update(sources).bytes_read == 0 and _figures(upgraded) == want
    assert _largest(db) == largest  # the paths of schema 11 turned into the files' numbers
    names = {n for (n,) in upgraded.conn.execute("SELECT name FROM sqlite_master WHERE type='index'")}
    assert "requests_file" not in names and {"copies_fid", "requests_archived"} <= names
