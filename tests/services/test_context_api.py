"""API sessions get the breakdown the log allows: exact in total, one piece per request's new messages."""

from __future__ import annotations

import json
from pathlib import Path

from ctxtop.adapters.index import Index
from ctxtop.services.context_io import session_breakdown
from ctxtop.sources.anthropic_api.source import AnthropicApi
from ctxtop.sources.registry import Sources


def _record(n: int, cache_read: int, write: int, messages: int, **extra) -> dict:
    usage = {"input_tokens": 10, "output_tokens": 100, "cache_read_input_tokens": cache_read,
             "cache_creation_input_tokens": write,
             "cache_creation": {"ephemeral_5m_input_tokens": write, "ephemeral_1h_input_tokens": 0}}  # fmt: skip
    usage.update(extra.pop("usage", {}))
    record = {
        "type": "api_request", "schema": 1, "timestamp": f"2026-11-20T10:00:{n:02d}.000Z", "session_id": "api-1",
        "request_id": f"req_{n}", "message_id": f"msg_{n}", "model": "claude-opus-4-8", "usage": usage,
        "cwd": "/work/app", "compaction": None, "error": None,
        "prompt_parts": {"system_chars": 4000, "tools_chars": 8000, "messages_chars": 400 * messages,
                         "messages": messages},
    }  # fmt: skip
    record.update(extra)
    return record


def test_api_session_breakdown_is_exact_and_charges_sum_to_the_rereads(tmp_path: Path) -> None:
    logs = tmp_path / "api"
    logs.mkdir()
    records = [
        _record(1, 0, 3000, 1),
        _record(2, 3010, 1500, 3),
        _record(3, 4610, 800, 5),
        _record(4, 0, 900, 2, usage={"iterations": [{"type": "compaction", "input_tokens": 5000, "output_tokens": 300},
                                                      {"type": "message", "input_tokens": 10, "output_tokens": 100}]},
                compaction={"kind": "server", "trigger_tokens": 5000, "triggered": True}),
        _record(5, 920, 300, 4),
    ]  # fmt: skip
    (logs / "api-1.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    index = Index(tmp_path / "i.sqlite3")
    index.update(Sources((AnthropicApi((logs,)),)))
    [stats] = index.sessions()
    found = session_breakdown(index, "api-1", keep_steps=True)
    assert found is not None
    bd = found.breakdown
    prompts = [
        10 + r["usage"]["cache_read_input_tokens"] + r["usage"]["cache_creation_input_tokens"]
        for r in records
    ]
    assert [s.prompt for s in bd.steps] == prompts
    assert all(sum(s.live.values()) == s.prompt for s in bd.steps)
    assert bd.reread_tokens == stats.main_reread_tokens and bd.reread_cost == stats.main_reread_cost > 0
    labels = [i.label for i in bd.items if i.kind == "user"]
    assert labels == ["messages 1-1", "messages 2-3", "messages 4-5", "messages 1-2", "messages 3-4"]
    assert bd.steps[3].compacted and bd.steps[3].reread == 0
