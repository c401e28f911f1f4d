"""API session logs (the documented schema) are indexed like transcripts: dedup, cost, compactions."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from ctxtop.adapters.index import Index
from ctxtop.core.usage import Tokens
from ctxtop.sources.anthropic_api.source import AnthropicApi
from ctxtop.sources.registry import Sources


def _record(n: int, **extra) -> dict:
    usage = {
        "input_tokens": 10, "output_tokens": 100, "cache_read_input_tokens": 1000 * n,
        "cache_creation_input_tokens": 1000, "cache_creation": {"ephemeral_5m_input_tokens": 1000,
                                                                "ephemeral_1h_input_tokens": 0},
        "server_tool_use": {"web_search_requests": 0, "web_fetch_requests": 0}, "service_tier": "standard",
    }  # fmt: skip
    usage.update(extra.pop("usage", {}))
    record = {
        "type": "api_request", "schema": 1, "timestamp": f"2026-11-20T10:00:{n:02d}.000Z", "session_id": "api-1",
        "request_id": f"req_{n}", "message_id": f"msg_{n}", "model": "claude-opus-4-8", "usage": usage,
        "service_tier": "standard", "latency_ms": 12.5, "stream": False, "batch": False, "cwd": "/work/app",
        "compaction": None, "error": None,
    }  # fmt: skip
    record.update(extra)
    return record


def test_api_logs_are_indexed_with_dedup_and_server_compaction(tmp_path: Path) -> None:
    logs = tmp_path / "api"
    logs.mkdir()
    records = [_record(n) for n in range(1, 4)]
    records.append(records[-1])  # a duplicate line (same message and request id) counts once
    records.append(
        _record(
            4,
            usage={"input_tokens": 20, "cache_read_input_tokens": 0,
                   "iterations": [{"type": "compaction", "input_tokens": 4000, "output_tokens": 300},
                                  {"type": "message", "input_tokens": 20, "output_tokens": 100}]},
            compaction={"kind": "server", "trigger_tokens": 3500, "triggered": True},
        )
    )  # fmt: skip
    (logs / "api-1.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records) + "{half a line")
    index = Index(tmp_path / "i.sqlite3")
    index.update(Sources((AnthropicApi((logs,)),)))
    [s] = index.sessions()
    assert (s.session_id, s.source, s.cwd) == ("api-1", "api", "/work/app")
    assert s.requests == 4
    expected = Tokens(10 * 3 + 20 + 4000, 100 * 4 + 300, 1000 + 2000 + 3000, 4000, 0)
    assert s.tokens == expected
    assert [c.trigger for c in s.compactions] == ["server"]
    # After the server-side compaction the context restarts: the last request re-reads nothing.
    assert s.context_tokens == 20 + 1000
    cost = (
        Decimal(expected.input) * 5 + Decimal(expected.output) * 25 + Decimal(expected.cache_read) * Decimal("0.5")
        + Decimal(expected.cache_write_5m) * Decimal("6.25")
    ) / 1_000_000  # fmt: skip
    assert s.cost_usd == cost
