"""The live engine runs without Textual: a real transcript grows on disk, watchdog sees it, events arrive.

This is what an exporter or the MCP server does: start ``services.live.Engine`` on a thread with
``queue.put`` as its callback and read plain ``services.events`` from the queue.
"""

from __future__ import annotations

import queue
import subprocess
import sys
import time
from pathlib import Path

from ctxtop.adapters.config import Config
from ctxtop.services import events
from ctxtop.services.live import Engine
from ctxtop.services.monitor import Monitor
from tests.support.fixtures import last_activity, rereads, scenario

REFACTOR = scenario("refactor")


def _next(q: queue.Queue, kind: type, until: float, match=lambda e: True):  # type: ignore[no-untyped-def]
    while time.monotonic() < until:
        try:
            event = q.get(timeout=0.1)
        except queue.Empty:
            continue
        assert not isinstance(event, events.EngineFailed), event.error
        if isinstance(event, kind) and match(event):
            return event
    raise AssertionError(f"no {kind.__name__} in time")


def test_engine_headless_on_a_growing_transcript(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    for name in ("CTXTOP_CONFIG_DIR", "CTXTOP_DATA_DIR"):
        monkeypatch.setenv(name, str(tmp_path / name.lower()))
    claude = tmp_path / "claude"
    transcript = claude / REFACTOR.relpath()
    transcript.parent.mkdir(parents=True)
    lines = REFACTOR.path.read_bytes().splitlines(keepends=True)
    head, tail = lines[: len(lines) // 3], b"".join(lines[len(lines) // 3 :])
    transcript.write_bytes(b"".join(head))
    config = Config.load(tmp_path / "config.toml")

    def factory(cfg: Config) -> Monitor:
        return Monitor.open([str(claude)], str(tmp_path / "api"), str(tmp_path / "cache"), cfg)

    q: queue.Queue = queue.Queue()
    engine = Engine(factory, config, q.put, clock=lambda: last_activity() + 60, poll_interval=0.2,
                    live_interval=0.5, min_interval=0.05)  # fmt: skip
    thread = engine.start()
    try:
        deadline = time.monotonic() + 30
        first = _next(
            q,
            events.SessionsUpdated,
            deadline,
            lambda e: any(v.stats.session_id == REFACTOR.session_id for v in e.views),
        )
        [early] = [v for v in first.views if v.stats.session_id == REFACTOR.session_id]
        (tmp_path / "head.jsonl").write_bytes(b"".join(head))
        assert early.context_tokens == rereads(tmp_path / "head.jsonl").context
        # The rest arrives as Claude Code writes it: a half line first (never read as a record), then the end.
        cut = len(tail) - 40
        with open(transcript, "ab") as fh:
            fh.write(tail[:cut])
        with open(transcript, "ab") as fh:
            time.sleep(0.3)
            fh.write(tail[cut:])
        want = rereads(REFACTOR.path)
        done = _next(q, events.SessionsUpdated, deadline,
                     lambda e: any(v.stats.session_id == REFACTOR.session_id and v.stats.turns == want.turns
                                   for v in e.views))  # fmt: skip
        [view] = [v for v in done.views if v.stats.session_id == REFACTOR.session_id]
        assert not done.initial
        assert view.context_tokens == want.context
        assert view.stats.reread_tokens == want.reread
        # The detail query goes through the same queue and comes back as a plain event too.
        engine.request_detail(REFACTOR.session_id)
        detail = _next(q, events.SessionDetailLoaded, deadline)
        assert detail.view is not None and detail.view.context_tokens == want.context
    finally:
        engine.stop()
        thread.join(10)
    assert not thread.is_alive()


def test_the_engine_and_its_events_import_no_textual() -> None:
    code = "import ctxtop.services.live, ctxtop.services.events, sys; print('textual' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
