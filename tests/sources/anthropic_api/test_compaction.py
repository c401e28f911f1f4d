"""Compaction for API sessions, end to end against the local fake Messages API, plus the pure history split."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anthropic
import pytest

from ctxtop.api import ClientCompaction, CompactionPolicy, monitor, session
from ctxtop.sources.anthropic_api import compaction as ac
from ctxtop.sources.anthropic_api.log import iter_api_records
from tests.support.fake_api import (
    ApiError,
    FakeAPI,
    RecordedRequest,
    Reply,
    Usage,
    text,
)
from tests.support.sdk import sync_client

KEY = "sk-ant-dummy"
NOTES = "- [in progress] port the parser\n- edited: src/parse.py"
SYSTEM = [{"type": "text", "text": "You are a careful coder.", "cache_control": {"type": "ephemeral"}}]
TOOLS = [{"name": "Bash", "description": "run", "input_schema": {"type": "object", "properties": {}}}]
SUMMARY = "SUMMARY-OF-OLDER-TURNS"


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    monkeypatch.delenv("ANTHROPIC_BASE_URL", raising=False)
    monkeypatch.setenv("CTXTOP_API_LOG_DIR", str(tmp_path))


def _records(client: Any) -> list[dict[str, Any]]:
    return list(iter_api_records(session(client).log_path))


# -- server-side ----------------------------------------------------------------------------------------------
def test_server_edit_carries_trigger_notes_and_beta_header(fake_api: FakeAPI, tmp_path: Path) -> None:
    fake_api.script([text("ok"), text("ok")], side_requests=False)
    policy = CompactionPolicy(threshold=0.6, window=200_000, notes=lambda: NOTES)
    client = monitor(sync_client(base_url=fake_api.url), log_dir=tmp_path, compact=policy)
    ask = {"model": "claude-sonnet-4-6", "max_tokens": 50, "messages": [{"role": "user", "content": "hi"}]}
    client.beta.messages.create(**ask, betas=["context-1m-2025-08-07"])
    with client.beta.messages.stream(**ask) as stream:
        stream.until_done()
    for request in fake_api.messages:
        [edit] = request.body["context_management"]["edits"]
        assert edit["type"] == "compact_20260112"
        assert edit["trigger"] == {"type": "input_tokens", "value": 120_000}
        assert NOTES in edit["instructions"]
    betas = [r.headers["anthropic-beta"].split(",") for r in fake_api.messages]
    assert betas == [["context-1m-2025-08-07", "compact-2026-01-12"], ["compact-2026-01-12"]]
    for record in _records(client):
        assert record["compaction"] == {"kind": "server", "trigger_tokens": 120_000, "triggered": False}
    assert fake_api.messages[0].body["messages"] == ask["messages"]


def test_server_window_from_genai_prices_and_minimum_trigger(fake_api: FakeAPI, tmp_path: Path) -> None:
    fake_api.script([], side_requests=False)
    ask = {"model": "claude-opus-4-6", "max_tokens": 50, "messages": [{"role": "user", "content": "hi"}]}
    client = monitor(sync_client(base_url=fake_api.url), log_dir=tmp_path, compact=CompactionPolicy())
    client.beta.messages.create(**ask)
    window = ac.context_window("claude-opus-4-6")
    assert window and window >= 200_000
    assert fake_api.messages[0].body["context_management"]["edits"][0]["trigger"]["value"] == int(
        0.6 * window
    )
    small = CompactionPolicy(threshold=0.5, window=60_000, mode="server")
    client = monitor(sync_client(base_url=fake_api.url), log_dir=tmp_path, compact=small)
    client.beta.messages.create(**ask)
    assert fake_api.messages[1].body["context_management"]["edits"][0]["trigger"]["value"] == 50_000


def test_caller_edits_are_kept(fake_api: FakeAPI, tmp_path: Path) -> None:
    fake_api.script([], side_requests=False)
    client = monitor(sync_client(base_url=fake_api.url), log_dir=tmp_path, compact=CompactionPolicy())
    clear = {"type": "clear_tool_uses_20250919"}
    client.beta.messages.create(
        model="claude-sonnet-4-6",
        max_tokens=5,
        messages=[{"role": "user", "content": "x"}],
        context_management={"edits": [clear]},
    )
    edits = fake_api.messages[0].body["context_management"]["edits"]
    assert edits[0] == clear and edits[1]["type"] == "compact_20260112"


def test_a_response_with_a_compaction_iteration_is_marked_triggered(tmp_path: Path) -> None:
    from ctxtop.sources.anthropic_api.wrapper import _iterated_compaction

    assert _iterated_compaction({"iterations": [{"type": "compaction"}, {"type": "message"}]})
    assert not _iterated_compaction({"iterations": None})


# -- client-side ----------------------------------------------------------------------------------------------
def _growing(request: RecordedRequest) -> Reply:
    """The summariser gets SUMMARY; main calls report 1,000 prompt tokens per message sent."""
    body = request.body
    if "compact the history" in str(body.get("system")):
        return Reply(text=SUMMARY, usage=Usage(input_tokens=3000, output_tokens=300))
    n = len(body["messages"])
    return Reply(text=f"answer to {n}", usage=Usage(input_tokens=1000 * n, output_tokens=10))


def _converse(client: Any, turns: int, history: list[dict[str, Any]]) -> None:
    for i in range(len(history) // 2 + 1, len(history) // 2 + 1 + turns):
        history.append({"role": "user", "content": f"turn {i}"})
        reply = client.messages.create(
            model="claude-opus-4-5", max_tokens=50, system=SYSTEM, tools=TOOLS, messages=history
        )
        history.append({"role": "assistant", "content": reply.content})


def test_client_fallback_compacts_at_threshold_keeping_notes_and_recent_turns(
    fake_api: FakeAPI, tmp_path: Path
) -> None:
    fake_api.script(_growing, side_requests=False)
    seen: list[ClientCompaction] = []
    policy = CompactionPolicy(window=10_000, notes=NOTES, keep_recent_turns=2, on_compact=seen.append)
    client = monitor(sync_client(base_url=fake_api.url), log_dir=tmp_path, compact=policy)
    history: list[dict[str, Any]] = []
    _converse(client, 4, history)  # turn 4 sends 7 messages: 7,000 prompt tokens >= 6,000 trigger
    assert [len(r.body["messages"]) for r in fake_api.messages] == [1, 3, 5, 7]
    assert not seen and "context_management" not in fake_api.messages[-1].body
    _converse(client, 1, history)  # turn 5 compacts before it is sent
    summariser, main = fake_api.messages[4:]
    assert summariser.body["model"] == "claude-haiku-4-5"
    assert "turn 1" in summariser.all_text() and NOTES in summariser.all_text()
    assert "turn 4" not in summariser.all_text()  # the kept turns are not summarised
    sent = main.body["messages"]
    assert len(sent) == 4
    assert SUMMARY in sent[0]["content"][0]["text"] and NOTES in sent[0]["content"][0]["text"]
    assert [m["content"] for m in sent[1::2]] == ["turn 4", "turn 5"]
    assert sent[1:] == ac.to_jsonable(history[6:9])  # recent turns verbatim
    assert main.body["system"] == SYSTEM and main.body["tools"] == TOOLS  # cached prefix untouched
    assert len(history) == 10  # the caller's list is the caller's
    [compaction] = seen
    assert compaction.messages == sent and compaction.replaced == 6 and compaction.pre_tokens == 7000
    records = _records(client)
    assert [r["compaction"] is not None for r in records] == [False] * 4 + [True, False]
    assert records[4]["compaction"] == {
        "kind": "client",
        "trigger_tokens": 6000,
        "triggered": True,
        "pre_tokens": 7000,
        "summarised_messages": 6,
        "kept_messages": 3,
        "summariser": True,
    }
    assert records[4]["model"] == "claude-haiku-4-5" and records[4]["usage"]["input_tokens"] == 3000
    # Turn 6: the caller still sends its full history; the summary keeps standing in for the old turns.
    _converse(client, 1, history)
    assert len(fake_api.messages) == 7
    again = fake_api.messages[6].body["messages"]
    assert again[0] == sent[0] and len(again) == 6
    # Turn 7: 6,000 tokens last time, so it compacts again and the first summary is summarised in turn.
    _converse(client, 1, history)
    second_summariser, last = fake_api.messages[7:]
    assert SUMMARY in second_summariser.all_text() and NOTES in second_summariser.all_text()
    assert [m["content"] for m in last.body["messages"][1::2]] == ["turn 6", "turn 7"]
    assert seen[-1].replaced == 10


def test_caller_can_adopt_the_compacted_history(fake_api: FakeAPI, tmp_path: Path) -> None:
    fake_api.script(_growing, side_requests=False)
    history: list[dict[str, Any]] = []

    def adopt(compaction: ClientCompaction) -> None:
        history[:] = compaction.messages

    policy = CompactionPolicy(window=10_000, keep_recent_turns=2, on_compact=adopt)
    client = monitor(sync_client(base_url=fake_api.url), log_dir=tmp_path, compact=policy)
    _converse(client, 5, history)
    assert len(history) == 5 and history[0]["content"][0]["text"].startswith(ac.SUMMARY_MARKER)
    _converse(client, 1, history)
    assert fake_api.messages[-1].body["messages"] == ac.to_jsonable(history[:6])


def test_summariser_failure_fails_open(fake_api: FakeAPI, tmp_path: Path) -> None:
    def script(request: RecordedRequest) -> Reply | ApiError:
        if "compact the history" in str(request.body.get("system")):
            return ApiError(529, "overloaded", "overloaded_error")
        return _growing(request)

    fake_api.script(script, side_requests=False)
    policy = CompactionPolicy(window=10_000, keep_recent_turns=2)
    client = monitor(sync_client(base_url=fake_api.url, max_retries=0), log_dir=tmp_path, compact=policy)
    history: list[dict[str, Any]] = []
    _converse(client, 5, history)
    assert len(fake_api.messages[-1].body["messages"]) == 9  # sent uncompacted
    summariser = _records(client)[4]
    assert summariser["error"] == "OverloadedError" and summariser["compaction"]["kind"] == "client"


async def test_async_client_fallback(fake_api: FakeAPI, tmp_path: Path) -> None:
    fake_api.script(_growing, side_requests=False)
    policy = CompactionPolicy(window=10_000, notes=NOTES, keep_recent_turns=2)
    client = monitor(anthropic.AsyncAnthropic(base_url=fake_api.url), log_dir=tmp_path, compact=policy)
    history: list[dict[str, Any]] = []
    for i in range(1, 6):
        history.append({"role": "user", "content": f"turn {i}"})
        async with client.messages.stream(model="claude-opus-4-5", max_tokens=9, messages=history) as stream:
            reply = await stream.get_final_message()
        history.append({"role": "assistant", "content": reply.content})
    assert [r.body["model"] for r in fake_api.messages[-2:]] == ["claude-haiku-4-5", "claude-opus-4-5"]
    assert NOTES in fake_api.messages[-1].all_text() and len(fake_api.messages[-1].body["messages"]) == 4
    assert session(client).last_compaction is not None
    await client.close()


def test_auto_mode_uses_the_fallback_for_models_without_server_compaction(
    fake_api: FakeAPI, tmp_path: Path
) -> None:
    fake_api.script([], side_requests=False)
    client = monitor(sync_client(base_url=fake_api.url), log_dir=tmp_path, compact=CompactionPolicy())
    client.beta.messages.create(
        model="claude-haiku-4-5", max_tokens=5, messages=[{"role": "user", "content": "x"}]
    )
    client.messages.create(
        model="claude-sonnet-4-6", max_tokens=5, messages=[{"role": "user", "content": "x"}]
    )
    assert all("context_management" not in r.body for r in fake_api.messages)
    assert all("anthropic-beta" not in r.headers for r in fake_api.messages)


# -- pure helpers -------------------------------------------------------------------------------------------
def _u(text: str) -> dict[str, Any]:
    return {"role": "user", "content": text}


def _a(text: str) -> dict[str, Any]:
    return {"role": "assistant", "content": [{"type": "text", "text": text}]}


def _tool_call() -> dict[str, Any]:
    return {"role": "assistant", "content": [{"type": "tool_use", "id": "t", "name": "Bash", "input": {}}]}


def _tool_result() -> dict[str, Any]:
    return {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t", "content": "ok"}]}


@pytest.mark.parametrize(
    ("messages", "keep", "expected"),
    [
        ([_u("1"), _a("1"), _u("2"), _a("2"), _u("3")], 2, 2),
        ([_u("1"), _a("1"), _u("2")], 2, 0),  # nothing older than the kept turns
        # one prompt, a long tool loop: cut before an assistant message, never before a tool_result
        ([_u("1")] + [_tool_call(), _tool_result()] * 5, 2, 7),
        ([_u("1"), _tool_call(), _tool_result(), _u("2"), _a("2"), _u("3")], 2, 3),
    ],
)
def test_split_index(messages: list[dict[str, Any]], keep: int, expected: int) -> None:
    split = ac.split_index(messages, keep)
    assert split == expected
    if split:
        assert ac._is_user_prompt(messages[split]) or messages[split]["role"] == "assistant"


def test_policy_validation_and_notes_fail_open() -> None:
    with pytest.raises(ValueError):
        CompactionPolicy(threshold=0)
    with pytest.raises(ValueError):
        CompactionPolicy(mode="sometimes")  # type: ignore[arg-type]

    def broken() -> str:
        raise RuntimeError("notes store unavailable")

    assert CompactionPolicy(notes=broken).notes_text() == ""
    assert CompactionPolicy(window=1000, threshold=0.6).trigger_for("unknown-model") == 600
    assert CompactionPolicy().trigger_for("unknown-model") is None
    assert ac.merge_beta_header("a,compact-2026-01-12") == "a,compact-2026-01-12"


def test_transcript_is_bounded() -> None:
    long = [_u("x" * 1000) for _ in range(1000)]
    assert len(ac.render_transcript(long, budget=10_000)) < 10_200
