"""An idle live engine does no per-file work (issue 16): while nothing changes, its ticks (watcher polls, live
process checks) read and stat no transcript and run no index update; an append is still seen at once."""

from __future__ import annotations

import queue
import time
from pathlib import Path

import pytest

from ctxtop.adapters.config import Config
from ctxtop.adapters.index import Index
from ctxtop.services import events
from ctxtop.services.live import Engine
from ctxtop.services.monitor import Monitor
from tests.adapters.test_watcher_idle import Touched
from tests.support.fixtures import last_activity
from tests.support.history import replicate

pytestmark = pytest.mark.filterwarnings("ignore:Callback with id:RuntimeWarning")


def test_idle_ticks_read_nothing_and_an_append_still_shows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("CTXTOP_CONFIG_DIR", "CTXTOP_DATA_DIR"):
        monkeypatch.setenv(name, str(tmp_path / name.lower()))
    claude = tmp_path / "claude"
    [ids, *_] = replicate(claude, 3)
    updates: list[object] = []
    real = Index.update

    def update(self: Index, sources, only=None, progress=None):  # type: ignore[no-untyped-def]
        updates.append(only)
        return real(self, sources, only=only, progress=progress)

    monkeypatch.setattr(Index, "update", update)
    q: queue.Queue = queue.Queue()
    engine = Engine(
        lambda cfg: Monitor.open([str(claude)], str(tmp_path / "api"), str(tmp_path / "cache"), cfg),
        Config.load(tmp_path / "config.toml"), q.put, clock=lambda: last_activity() + 60,
        poll_interval=0.05, live_interval=0.05, min_interval=0.01,
    )  # fmt: skip
    thread = engine.start()

    def until(predicate) -> events.Event:  # type: ignore[no-untyped-def]
        while True:
            assert time.monotonic() < deadline, "no such event in time"
            event = q.get(timeout=5)
            assert not isinstance(event, events.EngineFailed), event.error
            if predicate(event):
                return event

    def shows_first(event: events.Event) -> bool:
        return isinstance(event, events.SessionsUpdated) and any(
            v.stats.session_id == ids[0] for v in event.views
        )

    try:
        deadline = time.monotonic() + 30
        until(shows_first)  # the start-up update is done
        watcher = engine.watcher
        assert watcher is not None
        started, polls = len(updates), watcher.polls
        touched = Touched(claude / "projects", monkeypatch)
        while watcher.polls < polls + 20:  # 20 idle ticks of the watcher, as many of the live check
            assert time.monotonic() < deadline
            time.sleep(0.05)
        touched.active = False
        assert touched.paths == []
        assert len(updates) == started
        transcript = next(p for p in (claude / "projects").glob("*/*.jsonl") if p.stem == ids[0])
        lines = transcript.read_bytes().splitlines(keepends=True)
        transcript.write_bytes(b"".join(lines[: len(lines) // 2]))  # a rewrite: the session changes ...
        until(shows_first)  # ... and the observer, not a poll of the tree, reports it
        assert len(updates) > started
    finally:
        engine.stop()
        thread.join(timeout=10)
