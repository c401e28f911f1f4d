"""An idle watcher costs no per-file work where the native observer sees the tree (issue 16): its polls stat
nothing under a watched root; the poll is for what inotify cannot see (a network filesystem, a refused watch,
an observer that died), and there it still finds what changed."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from ctxtop.adapters import watcher as watcher_mod
from ctxtop.adapters.watcher import SWEEP_EVERY, Watcher, filesystem_type
from ctxtop.sources.claude_code.source import ClaudeCode
from ctxtop.sources.registry import Sources
from tests.support.history import replicate

pytestmark = pytest.mark.filterwarnings("ignore:Callback with id:RuntimeWarning")


class Touched:
    """Every path under ``root`` that os.stat / os.lstat / os.scandir was called on (also through pathlib)."""

    def __init__(self, root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.root = str(root)
        self.paths: list[str] = []
        self.active = True
        for name in ("stat", "lstat", "scandir"):
            real = getattr(os, name)

            def counting(path=".", *args, _real=real, **kwargs):  # type: ignore[no-untyped-def]
                named = isinstance(path, (str, bytes, os.PathLike))  # not a file descriptor
                if self.active and named and os.fsdecode(path).startswith(self.root):
                    self.paths.append(str(path))
                return _real(path, *args, **kwargs)

            monkeypatch.setattr(os, name, counting)


@pytest.fixture
def history(tmp_path: Path) -> Path:
    replicate(tmp_path / "claude", 4)
    return tmp_path / "claude"


def _watcher(history: Path, **options) -> tuple[Watcher, list[set[Path]]]:  # type: ignore[no-untyped-def]
    seen: list[set[Path]] = []
    return Watcher(Sources((ClaudeCode((history,)),)), seen.append, poll_interval=3600, **options), seen


def test_idle_polls_touch_no_file_under_a_watched_root(
    history: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    watcher, _ = _watcher(history)
    watcher.start()
    try:
        assert watcher.polled_roots() == []
        touched = Touched(history, monkeypatch)
        for _ in range(2 * SWEEP_EVERY):  # sweeps included
            watcher.poll()
        assert touched.paths == []
        assert watcher._pending == set()
    finally:
        watcher.stop()


def test_without_the_observer_the_poll_does_stat_the_tree(
    history: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The control: the counter sees the poll's work when the poll is all there is.
    watcher, _ = _watcher(history, use_observer=False)
    watcher.start()
    try:
        touched = Touched(history, monkeypatch)
        for _ in range(SWEEP_EVERY):
            watcher.poll()
        folders = {str(p) for p in (history / "projects").iterdir()}
        assert folders <= set(touched.paths)  # every project folder, at every poll
    finally:
        watcher.stop()


def test_a_root_on_a_network_filesystem_is_polled(history: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(watcher_mod, "filesystem_type", lambda path: "nfs4")
    watcher, _ = _watcher(history)
    watcher.start()
    try:
        assert [str(root) for root, _ in watcher.polled_roots()] == [str(history / "projects")]
        new = history / "projects" / "-written-elsewhere" / "s.jsonl"
        new.parent.mkdir()
        new.write_text("{}\n")
        watcher.poll()
        assert str(new) in watcher._pending  # found by the poll, as a write from another machine would be
    finally:
        watcher.stop()


def test_the_poll_takes_over_when_the_observer_dies(history: Path) -> None:
    watcher, _ = _watcher(history)
    watcher.start()
    try:
        assert watcher._observer is not None
        watcher._observer.stop()
        watcher._observer.join(timeout=5)
        transcript = next((history / "projects").glob("*/*.jsonl"))
        with transcript.open("a") as fh:
            fh.write("{}\n")  # no event: nobody listens any more
        watcher.poll()
        assert str(transcript) in watcher._pending
        assert watcher.polled_roots()
    finally:
        watcher.stop()


def test_filesystem_type_reads_the_longest_mount_point(tmp_path: Path) -> None:
    mountinfo = tmp_path / "mountinfo"
    mountinfo.write_text(
        "22 1 252:0 / / rw,relatime shared:1 - ext4 /dev/vda rw\n"
        "40 22 0:35 / /home/me/remote rw,relatime shared:20 - nfs4 server:/export rw,vers=4.2\n"
        "41 22 0:36 / /home/me/with\\040space rw shared:21 - fuse.sshfs me@host: rw\n"
    )
    assert filesystem_type("/home/me/remote/.claude/projects", str(mountinfo)) == "nfs4"
    assert filesystem_type("/home/me/remote-not", str(mountinfo)) == "ext4"
    assert filesystem_type("/home/me/with space/x", str(mountinfo)) == "fuse.sshfs"
    assert filesystem_type("/tmp", str(tmp_path / "missing")) is None


def test_a_process_reading_the_tree_wakes_nothing(history: Path) -> None:
    # Claude Code, ccusage or another ctxtop reading every transcript: no event reaches the watcher.
    watcher, _ = _watcher(history)
    watcher.start()
    try:
        for path in (history / "projects").rglob("*.jsonl"):
            path.read_bytes()
        transcript = next((history / "projects").glob("*/*.jsonl"))
        with transcript.open("a") as fh:
            fh.write("{}\n")  # ... while a write still does
        deadline = time.monotonic() + 5
        while not watcher.events_seen:
            assert time.monotonic() < deadline, "the write was not seen"
            time.sleep(0.02)
        time.sleep(0.2)
        assert watcher.events_seen <= 3  # the append's modify (and close), none of the reads
    finally:
        watcher.stop()
