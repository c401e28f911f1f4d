"""The fake Messages API itself, driven by the real ``anthropic`` SDK over real HTTP (no npm tools needed)."""

from __future__ import annotations

import json
import urllib.request

import anthropic
import pytest

from tests.support.fake_api import FakeAPI, GrowingUsage, Usage, bash, prompt_too_long, text

MODEL = "claude-opus-4-8"
USER = [{"role": "user", "content": "hi"}]


def _client(api: FakeAPI) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=api.url, api_key="dummy", max_retries=0)


def test_plain_and_streamed_replies_carry_the_scripted_usage(fake_api: FakeAPI) -> None:
    usage = Usage(
        input_tokens=5, output_tokens=7, cache_read_input_tokens=11, cache_creation_5m=2, cache_creation_1h=3
    )
    fake_api.script([bash("ls -la", usage=usage), text("done", usage=usage)], side_requests=False)
    client = _client(fake_api)
    first = client.messages.create(model=MODEL, max_tokens=100, messages=USER)
    assert first.stop_reason == "tool_use"
    assert first.content[0].input == {"command": "ls -la", "description": "Run a command"}
    with client.messages.stream(model=MODEL, max_tokens=100, messages=USER) as stream:
        second = stream.get_final_message()
    assert second.content[0].text == "done" and second.stop_reason == "end_turn"
    for message in (first, second):
        u = message.usage
        assert (u.input_tokens, u.output_tokens, u.cache_read_input_tokens) == (5, 7, 11)
        assert (
            u.cache_creation.ephemeral_5m_input_tokens == 2
            and u.cache_creation.ephemeral_1h_input_tokens == 3
        )
    assert [r.body["stream"] if "stream" in r.body else False for r in fake_api.main] == [False, True]
    assert fake_api.main[1].message_id == second.id


def test_growing_usage_reads_the_previous_prompt_from_cache(fake_api: FakeAPI) -> None:
    fake_api.script(
        [text(str(i)) for i in range(3)], usage=GrowingUsage(start=20_000, step=5_000), side_requests=False
    )
    client = _client(fake_api)
    for _ in range(3):
        client.messages.create(model=MODEL, max_tokens=10, messages=USER)
    used = fake_api.reported_usage()
    assert [u.prompt_tokens for u in used] == [20_000, 25_000, 30_000]
    assert [u.cache_read_input_tokens for u in used] == [0, 20_000, 25_000]
    assert used[1].cache_creation_1h == round(0.8 * used[1].cache_creation_input_tokens)


def test_compaction_request_gets_the_summary_and_resets_the_context(fake_api: FakeAPI) -> None:
    fake_api.script(
        [text("a"), text("b")], usage=GrowingUsage(start=50_000, step=10_000), summary="SUMMARY-X"
    )
    client = _client(fake_api)
    tools = [{"name": "Bash", "description": "run", "input_schema": {"type": "object"}}]
    client.messages.create(model=MODEL, max_tokens=10, messages=USER, tools=tools)
    compact = [
        {"role": "user", "content": "Your task is to create a detailed summary of the conversation so far."}
    ]
    summary = client.messages.create(model=MODEL, max_tokens=10, messages=compact, tools=tools)
    after = client.messages.create(model=MODEL, max_tokens=10, messages=USER, tools=tools)
    assert summary.content[0].text == "SUMMARY-X"
    assert [r.kind for r in fake_api.messages] == ["main", "compact", "main"]
    assert after.content[0].text == "b"  # the summariser call consumed no step
    assert after.usage.cache_read_input_tokens + after.usage.cache_creation_input_tokens + 6 < 50_000 + 10_000


def test_errors_count_tokens_and_unknown_paths(fake_api: FakeAPI) -> None:
    fake_api.script([prompt_too_long(), text("ok")], side_requests=False)
    client = _client(fake_api)
    with pytest.raises(anthropic.BadRequestError, match="prompt is too long"):
        client.messages.create(model=MODEL, max_tokens=10, messages=USER)
    assert client.messages.count_tokens(model=MODEL, messages=USER).input_tokens > 0
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(f"{fake_api.url}/v1/models", timeout=5)
    assert err.value.code == 404 and json.loads(err.value.read())["type"] == "error"
    assert fake_api.unknown() == ["GET /v1/models"]


def test_growing_usage_limit_answers_prompt_too_long_without_consuming_a_step(fake_api: FakeAPI) -> None:
    fake_api.script([text("a"), text("b")], usage=GrowingUsage(start=150_000, step=60_000, limit=200_000),
                    side_requests=False)  # fmt: skip
    client = _client(fake_api)
    assert client.messages.create(model=MODEL, max_tokens=10, messages=USER).content[0].text == "a"
    with pytest.raises(anthropic.BadRequestError, match="prompt is too long: 210000 tokens > 200000"):
        client.messages.create(model=MODEL, max_tokens=10, messages=USER)
