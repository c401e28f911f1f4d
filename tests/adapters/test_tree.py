"""The tree walked by directory stamps: a kept listing is served only while its directory is unchanged.

``walk_dirs`` through a ``listing_cache`` must give what ``os.walk`` gives after any sequence of file and
directory changes; and the index, walking so, must find a new file in an old directory and a new directory.
Directory mtimes are set to distinct old times after each change (as changes seconds apart leave them), so
listings are kept and served; a directory changed just now is never kept (racy: see ``RACY_NS``).
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ctxtop.adapters import index_dirs
from ctxtop.adapters.index import Index
from ctxtop.adapters.tree import Listings, listing_cache, walk_dirs
from ctxtop.sources.claude_code.source import ClaudeCode
from ctxtop.sources.registry import Sources

OLD = time.time() - 86_400


class Clock:
    """Distinct old mtimes, one per change, for the directories a change touched."""

    def __init__(self) -> None:
        self.n = 0

    def settle(self, root: Path) -> None:
        for dirpath, _dirs, _files in os.walk(root):
            if os.stat(dirpath).st_mtime > OLD + 3_600:  # changed since the last settle
                self.n += 1
                os.utime(dirpath, (OLD + self.n, OLD + self.n))


def _os_walk(root: Path) -> list[tuple[str, list[str], list[str]]]:
    return sorted((d, sorted(ds), sorted(fs)) for d, ds, fs in os.walk(root, followlinks=False))


def _cached_walk(root: Path, listings: Listings) -> list[tuple[str, list[str], list[str]]]:
    with listing_cache(listings):
        return sorted((d, sorted(ds), sorted(fs)) for d, ds, fs in walk_dirs(root))


NAMES = ["a", "b", "c.jsonl", "d.jsonl"]
OPS = st.tuples(
    st.sampled_from(["file", "dir", "remove", "rename", "link", "append"]),
    st.lists(st.sampled_from(NAMES), min_size=1, max_size=3),
    st.sampled_from(NAMES),
)


@settings(max_examples=60, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(steps=st.lists(OPS, min_size=1, max_size=12))
def test_cached_walk_equals_os_walk_after_any_changes(tmp_path: Path, steps: list) -> None:
    root = tmp_path / f"t{abs(hash(repr(steps))) % 10**9}"
    root.mkdir()
    clock, listings = Clock(), Listings({})
    for op, where, name in steps:
        parent = root.joinpath(*where[:-1])
        target = parent / where[-1]
        if not parent.is_dir() or parent.is_symlink():
            continue
        if op == "file" and not target.exists():
            target.write_text("x")
        elif op == "dir" and not target.exists():
            target.mkdir()
        elif op == "remove" and target.exists() and not target.is_symlink():
            shutil.rmtree(target) if target.is_dir() else target.unlink()
        elif op == "rename" and target.exists() and not (parent / name).exists():
            target.rename(parent / name)
        elif op == "link" and not target.exists() and not target.is_symlink():
            target.symlink_to(root / name)
        elif op == "append" and target.is_file():
            with target.open("a") as fh:
                fh.write("y")
        clock.settle(root)
        assert _cached_walk(root, listings) == _os_walk(root), (op, where, name)
    # The kept listings were served, not re-listed: a walk of the unchanged tree changes none of them.
    listings.changed.clear()
    assert _cached_walk(root, listings) == _os_walk(root)
    assert listings.changed == {}


def test_a_kept_listing_is_what_the_walk_serves(tmp_path: Path) -> None:
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "s.jsonl").write_text("")
    Clock().settle(tmp_path)
    listings = Listings({})
    _cached_walk(tmp_path, listings)
    stamp, dirs, files = listings.known[str(tmp_path / "p")]
    listings.known[str(tmp_path / "p")] = (stamp, dirs, [*files, "planted.jsonl"])
    assert ("planted.jsonl" in _cached_walk(tmp_path, listings)[1][2]) is True


def test_a_directory_changed_just_now_is_listed_again(tmp_path: Path) -> None:
    (tmp_path / "p").mkdir()
    listings = Listings({})
    _cached_walk(tmp_path, listings)
    assert listings.known == {}  # both changed within RACY_NS: a same-tick addition could hide
    Clock().settle(tmp_path)
    _cached_walk(tmp_path, listings)
    assert set(listings.known) == {str(tmp_path), str(tmp_path / "p")}


def test_a_directory_holding_a_symlink_is_never_kept(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "link").symlink_to(tmp_path / "real")
    Clock().settle(tmp_path)
    listings = Listings({})
    assert _cached_walk(tmp_path, listings) == _os_walk(tmp_path)
    assert str(tmp_path / "p") not in listings.known and str(tmp_path / "real") in listings.known


def _session_line(session: str, n: int) -> bytes:
    import json

    return json.dumps({
        "type": "assistant", "sessionId": session, "timestamp": f"2026-11-01T10:00:{n:02d}.000Z",
        "requestId": f"req_{session[:4]}{n}", "cwd": "/tmp/proj",
        "message": {"id": f"msg_{session[:4]}{n}", "model": "claude-sonnet-4-5", "role": "assistant",
                    "usage": {"input_tokens": 10 + n, "output_tokens": 5}},
    }).encode() + b"\n"  # fmt: skip


def test_the_index_finds_a_new_file_in_an_old_directory_and_a_new_directory(tmp_path: Path) -> None:
    home = tmp_path / "claude"
    old_project = home / "projects" / "-tmp-proj"
    old_project.mkdir(parents=True)
    (old_project / "aaaa1111.jsonl").write_bytes(_session_line("aaaa1111", 1))
    clock = Clock()
    clock.settle(home)
    sources = Sources((ClaudeCode((home,)),))
    index = Index(tmp_path / "i.sqlite3")
    index.update(sources)
    kept = index_dirs.load(index.conn).known
    assert str(old_project) in kept and str(home / "projects") in kept  # listed once, kept

    (old_project / "bbbb2222.jsonl").write_bytes(_session_line("bbbb2222", 2))
    new_project = home / "projects" / "-tmp-other"
    new_project.mkdir()
    (new_project / "cccc3333.jsonl").write_bytes(_session_line("cccc3333", 3))
    subagents = old_project / "aaaa1111" / "subagents"
    subagents.mkdir(parents=True)
    (subagents / "agent-x.jsonl").write_bytes(_session_line("aaaa1111", 4))
    clock.settle(home)
    result = index.update(sources)
    assert result.files_read == 3
    assert {s.session_id for s in index.sessions()} == {"aaaa1111", "bbbb2222", "cccc3333"}
    [a] = index.sessions(ids=["aaaa1111"])
    assert a.requests == 2  # the subagent's request, found in a new directory inside an old one

    (old_project / "bbbb2222.jsonl").unlink()
    clock.settle(home)
    index.update(sources)
    assert [f.path for f in index.files(with_gone=True) if f.gone] == [str(old_project / "bbbb2222.jsonl")]
    shutil.rmtree(new_project)
    clock.settle(home)
    index.update(sources)
    assert str(new_project) not in index_dirs.load(index.conn).known  # no longer reached: forgotten
    cold = Index(tmp_path / "cold.sqlite3")
    cold.update(sources)
    assert [s.session_id for s in cold.sessions()] == [
        s.session_id for s in index.sessions(with_deleted=False)
    ]
