"""ctxtop.api.monitor against a local fake Messages API: the real SDK over real HTTP on 127.0.0.1."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import anthropic
import pytest

from ctxtop.api import monitor, session
from ctxtop.sources.anthropic_api.log import iter_api_records
from tests.support.fake_api import (
    FakeAPI,
    Usage,
    error,
    text,
)
from tests.support.sdk import sync_client

KEY = "sk-ant-api03-DUMMY-KEY-must-never-be-logged"
MODEL = "claude-sonnet-4-6"
SECRET = "TOP-SECRET-PROMPT-CONTENT"
USAGE = Usage(
    input_tokens=7, output_tokens=42, cache_read_input_tokens=1200, cache_creation_5m=30, cache_creation_1h=70
)
ASK = {"model": MODEL, "max_tokens": 100, "messages": [{"role": "user", "content": SECRET}]}


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    monkeypatch.delenv("ANTHROPIC_BASE_URL", raising=False)
    monkeypatch.delenv("ANTHROPIC_AUTH_TOKEN", raising=False)
    monkeypatch.setenv("CTXTOP_API_LOG_DIR", str(tmp_path / "default-logs"))


def _client(api: FakeAPI, log_dir: Path, **kw: Any) -> anthropic.Anthropic:
    return monitor(sync_client(base_url=api.url, api_key=KEY, max_retries=0), log_dir=log_dir, **kw)


def _aclient(api: FakeAPI, log_dir: Path, **kw: Any) -> anthropic.AsyncAnthropic:
    raw = anthropic.AsyncAnthropic(base_url=api.url, api_key=KEY, max_retries=0)
    return monitor(raw, log_dir=log_dir, **kw)


def _records(client: Any) -> list[dict[str, Any]]:
    state = session(client)
    assert state is not None
    if not state.log_path.exists():
        return []
    return list(iter_api_records(state.log_path))


def _assert_matches(record: dict[str, Any], api: FakeAPI, index: int, *, stream: bool) -> None:
    """The record carries exactly what the server reported for its ``index``-th messages request."""
    served = api.messages[index]
    assert record["type"] == "api_request" and record["schema"] == 1 and record["batch"] is False
    assert record["request_id"] == served.request_id
    assert record["message_id"] == served.message_id
    assert record["model"] == MODEL
    assert record["stream"] is stream
    assert record["error"] is None and record["compaction"] is None
    expected = served.usage.to_json()
    assert {k: record["usage"][k] for k in expected} == expected
    assert record["service_tier"] == "standard"
    assert record["timestamp"].endswith("Z") and record["latency_ms"] >= 0
    assert record["cwd"] and record["prompt_parts"]["messages"] == 1
    assert record["prompt_parts"]["messages_chars"] == len(json.dumps(ASK["messages"], separators=(",", ":")))


def test_create_writes_one_record_with_the_exact_usage(fake_api: FakeAPI, tmp_path: Path) -> None:
    fake_api.script([text("hello", usage=USAGE)], side_requests=False)
    client = _client(fake_api, tmp_path, session_id="sess-1")
    reply = client.messages.create(**ASK)
    assert isinstance(reply, anthropic.types.Message) and reply.content[0].text == "hello"
    [record] = _records(client)
    _assert_matches(record, fake_api, 0, stream=False)
    assert record["session_id"] == "sess-1"
    assert record["usage"]["cache_creation"] == {
        "ephemeral_5m_input_tokens": 30,
        "ephemeral_1h_input_tokens": 70,
    }
    assert record["usage"]["server_tool_use"] == {"web_search_requests": 0, "web_fetch_requests": 0}
    assert stat.S_IMODE((tmp_path / "sess-1.jsonl").stat().st_mode) == 0o600
    assert stat.S_IMODE(tmp_path.stat().st_mode) == 0o700


def test_create_stream_true_records_when_the_stream_ends(fake_api: FakeAPI, tmp_path: Path) -> None:
    fake_api.script([text("streamed " * 50, usage=USAGE)], side_requests=False)
    client = _client(fake_api, tmp_path)
    stream = client.messages.create(**ASK, stream=True)
    assert isinstance(stream, anthropic.Stream)
    events = iter(stream)
    next(events)
    assert _records(client) == []  # nothing yet: the record waits for the final usage
    kinds = [e.type for e in events]
    assert kinds[-1] == "message_stop"
    [record] = _records(client)
    _assert_matches(record, fake_api, 0, stream=True)
    assert record["usage"]["output_tokens"] == 42  # from message_delta, not message_start's placeholder


def test_messages_stream_context_manager(fake_api: FakeAPI, tmp_path: Path) -> None:
    fake_api.script([text("abc", usage=USAGE)], side_requests=False)
    client = _client(fake_api, tmp_path)
    with client.messages.stream(**ASK) as stream:
        assert "".join(stream.text_stream) == "abc"
        final = stream.get_final_message()
    [record] = _records(client)
    _assert_matches(record, fake_api, 0, stream=True)
    assert record["usage"] == final.usage.model_dump(mode="json", exclude_none=False)


def test_stream_dropped_early_is_still_recorded(fake_api: FakeAPI, tmp_path: Path) -> None:
    fake_api.script([text("x" * 2000, usage=USAGE)], side_requests=False)
    client = _client(fake_api, tmp_path)
    with client.messages.stream(**ASK) as stream:
        next(iter(stream))
    del stream
    [record] = _records(client)
    assert record["message_id"] == fake_api.messages[0].message_id
    assert record["usage"]["input_tokens"] == 7 and record["error"] is None


def test_beta_messages_create_and_stream(fake_api: FakeAPI, tmp_path: Path) -> None:
    fake_api.script([text("a", usage=USAGE), text("b", usage=USAGE)], side_requests=False)
    client = _client(fake_api, tmp_path)
    reply = client.beta.messages.create(**ASK, betas=["context-1m-2025-08-07"])
    assert isinstance(reply, anthropic.types.beta.BetaMessage)
    with client.beta.messages.stream(**ASK) as stream:
        stream.until_done()
    first, second = _records(client)
    _assert_matches(first, fake_api, 0, stream=False)
    _assert_matches(second, fake_api, 1, stream=True)
    assert fake_api.messages[0].headers.get("anthropic-beta") == "context-1m-2025-08-07"  # untouched


def test_with_raw_response_is_recorded_and_parse_returns_the_same_object(
    fake_api: FakeAPI, tmp_path: Path
) -> None:
    fake_api.script([text("raw", usage=USAGE)], side_requests=False)
    client = _client(fake_api, tmp_path)
    raw = client.messages.with_raw_response.create(**ASK)
    assert raw.parse() is raw.parse()
    [record] = _records(client)
    _assert_matches(record, fake_api, 0, stream=False)


def test_with_streaming_response_is_recorded_on_parse(fake_api: FakeAPI, tmp_path: Path) -> None:
    fake_api.script([text("a", usage=USAGE), text("b", usage=USAGE)], side_requests=False)
    client = _client(fake_api, tmp_path)
    with client.messages.with_streaming_response.create(**ASK) as response:
        message = response.parse()
        assert response.parse() is message and message.content[0].text == "a"
    with client.messages.with_streaming_response.create(**ASK, stream=True) as response:
        assert [e.type for e in response.parse()][-1] == "message_stop"
    first, second = _records(client)
    _assert_matches(first, fake_api, 0, stream=False)
    _assert_matches(second, fake_api, 1, stream=True)


async def test_async_raw_and_streaming_responses(fake_api: FakeAPI, tmp_path: Path) -> None:
    fake_api.script([text("a", usage=USAGE), text("b", usage=USAGE)], side_requests=False)
    client = _aclient(fake_api, tmp_path)
    raw = await client.messages.with_raw_response.create(**ASK)
    assert (await raw.parse()) is (await raw.parse())
    async with client.messages.with_streaming_response.create(**ASK) as response:
        await response.parse()
    first, second = _records(client)
    _assert_matches(first, fake_api, 0, stream=False)
    _assert_matches(second, fake_api, 1, stream=False)
    await client.close()


def test_count_tokens_is_not_a_request_record(fake_api: FakeAPI, tmp_path: Path) -> None:
    client = _client(fake_api, tmp_path)
    client.messages.count_tokens(model=MODEL, messages=ASK["messages"])
    assert _records(client) == []


def test_errors_propagate_unchanged_and_are_recorded(fake_api: FakeAPI, tmp_path: Path) -> None:
    fake_api.script([error(429, "slow down", "rate_limit_error")], side_requests=False)
    client = _client(fake_api, tmp_path)
    with pytest.raises(anthropic.RateLimitError) as caught:
        client.messages.create(**ASK)
    assert caught.value.status_code == 429 and "slow down" in str(caught.value)
    [record] = _records(client)
    assert record["error"] == "RateLimitError" and record["usage"] is None
    assert record["request_id"] == fake_api.messages[0].request_id and record["model"] == MODEL


def test_connection_error_is_recorded(tmp_path: Path) -> None:
    raw = sync_client(base_url="http://127.0.0.1:9", api_key=KEY, max_retries=0, timeout=2)
    client = monitor(raw, log_dir=tmp_path)
    with pytest.raises(anthropic.APIConnectionError):
        client.messages.create(**ASK)
    [record] = _records(client)
    assert record["error"] == "APIConnectionError" and record["request_id"] is None


async def test_async_client_create_stream_and_context_manager(fake_api: FakeAPI, tmp_path: Path) -> None:
    fake_api.script(
        [text("1", usage=USAGE), text("2", usage=USAGE), text("3", usage=USAGE)], side_requests=False
    )
    client = _aclient(fake_api, tmp_path)
    reply = await client.messages.create(**ASK)
    assert isinstance(reply, anthropic.types.Message)
    stream = await client.messages.create(**ASK, stream=True)
    assert isinstance(stream, anthropic.AsyncStream)
    async for _ in stream:
        pass
    async with client.beta.messages.stream(**ASK) as managed:
        final = await managed.get_final_message()
    records = _records(client)
    assert [r["stream"] for r in records] == [False, True, True]
    for i, record in enumerate(records):
        _assert_matches(record, fake_api, i, stream=i > 0)
    assert records[2]["usage"] == final.usage.model_dump(mode="json", exclude_none=False)
    await client.close()


async def test_async_error_propagates(fake_api: FakeAPI, tmp_path: Path) -> None:
    fake_api.script([error(500, "boom", "api_error")], side_requests=False)
    client = _aclient(fake_api, tmp_path)
    with pytest.raises(anthropic.InternalServerError):
        await client.messages.create(**ASK)
    assert [r["error"] for r in _records(client)] == ["InternalServerError"]
    await client.close()


def test_one_record_per_request_and_no_secrets(fake_api: FakeAPI, tmp_path: Path) -> None:
    fake_api.script([text(f"r{i}", usage=USAGE) for i in range(5)], side_requests=False)
    client = _client(fake_api, tmp_path)
    for _ in range(3):
        client.messages.create(**ASK)
    for _ in client.messages.create(**ASK, stream=True):
        pass
    with client.messages.stream(**ASK) as stream:
        stream.until_done()
    records = _records(client)
    assert len(records) == len(fake_api.messages) == 5
    assert [r["request_id"] for r in records] == [m.request_id for m in fake_api.messages]
    log = session(client).log_path.read_text()
    assert KEY not in log and SECRET not in log and "x-api-key" not in log.lower()


def test_session_ids_default_per_client_and_monitor_is_idempotent(fake_api: FakeAPI, tmp_path: Path) -> None:
    fake_api.script([], side_requests=False)
    first, second = _client(fake_api, tmp_path), _client(fake_api, tmp_path)
    assert session(first).session_id != session(second).session_id
    assert monitor(first, log_dir=tmp_path) is first
    first.messages.create(**ASK)
    assert len(_records(first)) == 1  # not wrapped twice
    assert session(sync_client(api_key=KEY)) is None


def test_default_log_dir_comes_from_paths(fake_api: FakeAPI, tmp_path: Path) -> None:
    fake_api.script([], side_requests=False)
    client = monitor(sync_client(base_url=fake_api.url, api_key=KEY), session_id="d1")
    client.messages.create(**ASK)
    assert (tmp_path / "default-logs" / "d1.jsonl").exists()


def test_monitor_rejects_other_objects() -> None:
    with pytest.raises(TypeError):
        monitor(object())


def test_importing_ctxtop_api_does_not_import_anthropic() -> None:
    code = (
        "import sys, ctxtop.api, ctxtop.sources.anthropic_api.log; "
        "from ctxtop.api import CompactionPolicy; CompactionPolicy(); "
        "assert 'anthropic' not in sys.modules, 'anthropic imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
