"""The MCP tools wait for the calling turn in the session's files as the index has them (services.meter)."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest

from ctxtop.services import meter as meter_mod
from ctxtop.services.meter import Meter
from ctxtop.sources.claude_code.caller import Caller
from tests.support.claude_cli import copy_tree
from tests.support.fixtures import scenario

REFACTOR = scenario("refactor")


def _meter(tmp_path: Path, claude: Path) -> Meter:
    who = Caller(REFACTOR.session_id, "test", None, None)
    return Meter([str(claude)], None, str(tmp_path / "cache"), resolve=lambda: who)


def test_a_subagents_call_is_found_in_a_file_that_appears_while_waiting(
    tmp_path: Path, claude_fixtures: Path
) -> None:
    claude = copy_tree(claude_fixtures, tmp_path / "claude")
    meter = _meter(tmp_path, claude)
    subagent = (claude / REFACTOR.relpath()).with_suffix("") / "subagents" / "agent-late.jsonl"
    line = {"type": "assistant", "sessionId": REFACTOR.session_id, "isSidechain": True, "timestamp":
            "2026-12-01T22:30:00.000Z", "message": {"id": "msg_late", "role": "assistant", "model": "claude-opus-4-8",
            "content": [{"type": "tool_use", "id": "toolu_late", "name": "mcp__ctxtop__cost", "input": {}}],
            "usage": {"input_tokens": 1, "output_tokens": 1}}, "requestId": "req_late"}  # fmt: skip

    def write_later() -> None:
        time.sleep(0.4)  # after the wait's first refresh: only a later one finds the new file
        subagent.parent.mkdir(parents=True, exist_ok=True)
        subagent.write_text(json.dumps(line) + "\n")

    meter.monitor()  # the index is warm: the wait's first refresh is quick and cannot see the file yet
    writer = threading.Thread(target=write_later)
    writer.start()
    try:
        started = time.monotonic()
        assert meter._wait_for(REFACTOR.session_id, "toolu_late")
        assert time.monotonic() - started < meter_mod.SETTLE_SECONDS
    finally:
        writer.join()
        meter.monitor().close()


def test_a_call_never_written_gives_up_after_the_settle_time(
    tmp_path: Path, claude_fixtures: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(meter_mod, "SETTLE_SECONDS", 0.5)
    meter = _meter(tmp_path, copy_tree(claude_fixtures, tmp_path / "claude"))
    try:
        assert not meter._wait_for(REFACTOR.session_id, "toolu_never")
    finally:
        meter.monitor().close()
