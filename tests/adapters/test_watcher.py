"""The watcher reports appended and new transcript files, through watchdog and through the stat poll alone."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from ctxtop.adapters.watcher import Watcher
from ctxtop.sources.claude_code.source import ClaudeCode
from ctxtop.sources.registry import Sources

# watchdog warns about its own race when a watched tree grows fast; harmless here.
pytestmark = pytest.mark.filterwarnings("ignore:Callback with id:RuntimeWarning")


class Seen:
    def __init__(self) -> None:
        self.paths: set[Path] = set()
        self.calls = 0
        self.event = threading.Event()

    def __call__(self, paths: set[Path]) -> None:
        self.paths |= paths
        self.calls += 1
        self.event.set()

    def wait_for(self, path: Path, timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while path not in self.paths:
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"{path} not reported; saw {self.paths}"
            self.event.wait(remaining)
            self.event.clear()


def _claude(projects: Path) -> Sources:
    """Claude Code's sources, for the config dir whose ``projects`` tree this is."""
    return Sources((ClaudeCode((projects.parent,)),))


@pytest.fixture
def root(tmp_path: Path) -> Path:
    project = tmp_path / "projects" / "-tmp-proj"
    project.mkdir(parents=True)
    (project / "old.jsonl").write_text('{"a": 1}\n')
    return tmp_path / "projects"


@pytest.mark.parametrize("observer", [True, False], ids=["watchdog", "poll-only"])
def test_append_and_new_file_are_reported(root: Path, observer: bool) -> None:
    seen = Seen()
    watcher = Watcher(_claude(root), seen, poll_interval=0.1, use_observer=observer)
    watcher.start()
    try:
        old = root / "-tmp-proj" / "old.jsonl"
        with old.open("a") as fh:
            fh.write('{"b": 2}\n')
        seen.wait_for(old)
        new_dir = root / "-tmp-other"
        new_dir.mkdir()
        new = new_dir / "new.jsonl"
        new.write_text('{"c": 3}\n')
        seen.wait_for(new)
        sub = root / "-tmp-proj" / "old" / "subagents"
        sub.mkdir(parents=True)
        agent = sub / "agent-x.jsonl"
        agent.write_text("{}\n")
        seen.wait_for(agent)
    finally:
        watcher.stop()


def test_tool_results_and_other_files_are_ignored(root: Path) -> None:
    seen = Seen()
    watcher = Watcher(_claude(root), seen, poll_interval=0.1)
    watcher.start()
    try:
        results = root / "-tmp-proj" / "s" / "tool-results"
        results.mkdir(parents=True)
        (results / "x.jsonl").write_text("{}\n")
        (root / "-tmp-proj" / "notes.txt").write_text("x")
        marker = root / "-tmp-proj" / "marker.jsonl"
        marker.write_text("{}\n")
        seen.wait_for(marker)
        assert all(p.suffix == ".jsonl" and "tool-results" not in p.parts for p in seen.paths)
    finally:
        watcher.stop()


def test_a_burst_of_writes_is_coalesced(root: Path) -> None:
    seen = Seen()
    watcher = Watcher(_claude(root), seen, poll_interval=5, debounce=0.1)
    watcher.start()
    try:
        old = root / "-tmp-proj" / "old.jsonl"
        with old.open("a") as fh:
            for i in range(50):
                fh.write(f'{{"i": {i}}}\n')
                fh.flush()
        seen.wait_for(old)
        assert seen.calls <= 3
    finally:
        watcher.stop()


def test_stop_is_prompt(root: Path) -> None:
    watcher = Watcher(_claude(root), lambda paths: None, poll_interval=30)
    watcher.start()
    started = time.monotonic()
    watcher.stop()
    assert time.monotonic() - started < 2


def test_a_root_created_later_is_picked_up(tmp_path: Path) -> None:
    root = tmp_path / "later" / "projects"
    seen = Seen()
    watcher = Watcher(_claude(root), seen, poll_interval=0.1)
    watcher.start()
    try:
        (root / "-tmp-p").mkdir(parents=True)
        first = root / "-tmp-p" / "s.jsonl"
        first.write_text("{}\n")
        seen.wait_for(first)
        with first.open("a") as fh:
            fh.write("{}\n")
        seen.paths.clear()
        seen.wait_for(first)
    finally:
        watcher.stop()


def test_the_poll_sees_a_rewrite_that_keeps_size_and_mtime(root: Path) -> None:
    seen = Seen()
    path = root / "-tmp-proj" / "old.jsonl"
    watcher = Watcher(_claude(root), seen, poll_interval=3600, use_observer=False)
    watcher._remember(str(path))  # a hot file, as after its first change
    st = path.stat()
    path.write_text('{"a": 2}\n')  # same size, in place
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))  # and the old mtime
    watcher.poll()
    assert str(path) in watcher._pending  # its ctime changed (issue 15 item 17)
