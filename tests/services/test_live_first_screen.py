"""A big backlog (a first index) is read newest files first, in batches, and rows are posted after each batch
(issue 16): the dashboard shows the recent sessions while the rest is indexed, and ends exactly where a
one-pass index ends."""

from __future__ import annotations

import json
import queue
import time
from pathlib import Path

import pytest

from ctxtop.adapters.config import Config
from ctxtop.core import metrics
from ctxtop.services import events, live
from ctxtop.services.live import Engine
from ctxtop.services.monitor import Monitor
from tests.support.fixtures import last_activity
from tests.support.history import replicate


def _events_until_indexed(engine: Engine, timeout: float = 60) -> list[events.Event]:
    q: queue.Queue = queue.Queue()
    engine.post = q.put
    thread = engine.start()
    seen: list[events.Event] = []
    deadline = time.monotonic() + timeout
    try:
        while True:
            assert time.monotonic() < deadline, f"not indexed in time: {seen}"
            try:
                event = q.get(timeout=0.1)
            except queue.Empty:
                continue
            assert not isinstance(event, events.EngineFailed), event.error
            seen.append(event)
            if isinstance(event, events.IndexProgressed) and event.files >= event.total_files:
                return seen
    finally:
        engine.stop()
        thread.join(timeout=10)


def _stats(monitor: Monitor) -> dict[str, str]:
    return {s.session_id: json.dumps(metrics.to_json(s), sort_keys=True) for s in monitor.index.sessions()}


def test_a_first_index_shows_the_newest_sessions_first_then_fills_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("CTXTOP_CONFIG_DIR", "CTXTOP_DATA_DIR"):
        monkeypatch.setenv(name, str(tmp_path / name.lower()))
    # Batches of ~one copy of the fixtures (~0.5 MB each) instead of 16 MB: the same code on a small history.
    monkeypatch.setattr(live, "FIRST_BATCH_BYTES", 400_000)
    claude = tmp_path / "claude"
    copies = replicate(claude, 8)
    config = Config.load(tmp_path / "config.toml")

    def factory(cfg: Config, cache: str = "cache") -> Monitor:
        return Monitor.open([str(claude)], str(tmp_path / "api"), str(tmp_path / cache), cfg)

    engine = Engine(factory, config, lambda e: None, clock=lambda: last_activity() + 60, watch=False)
    seen = _events_until_indexed(engine)

    rows = [e for e in seen if isinstance(e, events.SessionsUpdated) and e.views]
    progress = [e for e in seen if isinstance(e, events.IndexProgressed)]
    # Progress at once (before any row), then rows before the last file was read, then the end.
    assert seen.index(progress[0]) < seen.index(rows[0])
    first = {v.stats.session_id for v in rows[0].views}
    assert set(copies[0]) <= first  # the newest copy's sessions are on the first screen ...
    assert not first & {sid for ids in copies[3:] for sid in ids}  # ... the oldest are not read yet
    pending = [e for e in progress if seen.index(e) > seen.index(rows[0]) and e.files < e.total_files]
    assert pending, "rows were posted only once everything was indexed"
    assert [e.files for e in progress] == sorted(e.files for e in progress)
    assert len({e.total_files for e in progress}) == 1
    assert progress[-1].bytes_done == progress[-1].bytes_total > 0
    last = rows[-1]
    assert last.initial and {v.stats.session_id for v in last.views} == {s for ids in copies for s in ids}
    assert isinstance(seen[-1], events.IndexProgressed)

    # Batch by batch, the index ends where one update of every file ends, request for request.
    batched = factory(config)
    one_pass = factory(config, "one-pass")
    one_pass.refresh()
    assert _stats(batched) == _stats(one_pass)
    batched.close()
    one_pass.close()


def test_a_small_backlog_is_one_update(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("CTXTOP_CONFIG_DIR", "CTXTOP_DATA_DIR"):
        monkeypatch.setenv(name, str(tmp_path / name.lower()))
    claude = tmp_path / "claude"
    replicate(claude, 2)
    calls: list[object] = []
    real = Monitor.refresh

    def refresh(self: Monitor, only=None, progress=None):  # type: ignore[no-untyped-def]
        calls.append(only)
        return real(self, only=only, progress=progress)

    monkeypatch.setattr(Monitor, "refresh", refresh)
    config = Config.load(tmp_path / "config.toml")
    engine = Engine(
        lambda cfg: Monitor.open([str(claude)], str(tmp_path / "api"), str(tmp_path / "cache"), cfg),
        config, lambda e: None, clock=lambda: last_activity() + 60, watch=False,
    )  # fmt: skip
    q: queue.Queue = queue.Queue()
    engine.post = q.put
    thread = engine.start()
    try:
        deadline = time.monotonic() + 30
        while not any(isinstance(e, events.SessionsUpdated) and e.views for e in list(q.queue)):
            assert time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        engine.stop()
        thread.join(timeout=10)
    assert calls == [None]  # ~1 MB: one update, as before batches existed
