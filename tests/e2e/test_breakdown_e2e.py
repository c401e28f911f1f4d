"""The context breakdown of a real Claude Code session: one large file read, one large Bash output and many
small steps. The fake API bills each prompt by what the request carried (tiktoken over the messages' text
plus a flat 3,000 tokens of system prompt and tools), so the two large outputs must come out as the costliest
items, holding what the API billed for them."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from ctxtop.core.filters.tokens import count_tokens
from tests.support.claude_cli import ClaudeCLI
from tests.support.fake_api import FakeAPI, RecordedRequest, Reply, Usage, bash, content_text, read, text

pytestmark = pytest.mark.timeout(90)

SYSTEM_AND_TOOLS = 3_000
SMALL_STEPS = 12
BIG_COMMAND = "seq 100000 103999"  # 4,000 lines, 28 KB: under Claude Code's 30,000-char inline limit


def _prompt(body: dict) -> int:
    return SYSTEM_AND_TOOLS + sum(count_tokens(content_text(m.get("content"))) or 0 for m in body["messages"])


def _billing(steps: list[Reply]) -> tuple[Iterator[Reply], object]:
    replies = iter(steps)
    previous = [0]

    def answer(req: RecordedRequest) -> Reply:
        reply = next(replies, None) or text("Done.")
        prompt = _prompt(req.body)
        cache_read = min(previous[0], prompt - 6)
        write = prompt - 6 - cache_read
        out = count_tokens(json.dumps([reply.text, reply.tool_calls])) or 1
        reply.usage = Usage(6, out, cache_read, write - write * 4 // 5, write * 4 // 5)
        previous[0] = prompt
        return reply

    return replies, answer


def _first_with(api: FakeAPI, needle: str) -> int:
    """Index (among main requests) of the first request whose messages carry ``needle`` in a tool result."""
    for i, req in enumerate(api.main):
        for m in req.body["messages"]:
            content = m.get("content")
            if isinstance(content, list) and any(
                b.get("type") == "tool_result" and needle in content_text(b.get("content")) for b in content
            ):
                return i
    raise AssertionError(f"no request carried {needle!r}")


def _result_tokens(api: FakeAPI, index: int, needle: str) -> int:
    for m in api.main[index].body["messages"]:
        for b in m.get("content") if isinstance(m.get("content"), list) else []:
            if b.get("type") == "tool_result" and needle in content_text(b.get("content")):
                return count_tokens(content_text(b.get("content"))) or 0
    raise AssertionError(needle)


def test_large_read_and_large_bash_output_are_the_costliest(claude: ClaudeCLI, fake_api: FakeAPI) -> None:
    big = claude.project / "inventory.py"
    big.write_text("".join(f"def rule_{i:04d}(record):  # inventory rule {i}\n    return record\n"
                           for i in range(600)))  # fmt: skip
    steps = [read(str(big)), bash(BIG_COMMAND), *(bash(f"echo step {i}") for i in range(SMALL_STEPS)),
             text("All steps done.")]  # fmt: skip
    _, answer = _billing(steps)
    fake_api.script(answer)  # type: ignore[arg-type]
    run = claude.run("Read inventory.py, list the ids, then run the checks one by one.")
    doc = json.loads(claude.ctxtop("report", "context", run.session_id, "--json", "--claude-dir",
                                   str(claude.config_dir)).stdout)  # fmt: skip

    main = fake_api.main
    prompts = [m.usage.prompt_tokens for m in main]
    outputs = [m.usage.output_tokens for m in main]
    # Exact in total: the window now is the last prompt the fake API billed.
    assert doc["context_tokens"] == prompts[-1] == sum(doc["by_kind"].values())
    assert doc["reread_tokens"] == sum(min(p, prompts[i] + outputs[i]) for i, p in enumerate(prompts[1:]))

    items = doc["items"]  # costliest first
    top = items[:2]
    assert [(t["group"], t["label"].rsplit("/", 1)[-1]) for t in top] == [("Read", "inventory.py"),
                                                                         ("Bash", BIG_COMMAND)], items[:4]  # fmt: skip
    assert float(items[0]["reread_cost_usd"]) >= float(items[1]["reread_cost_usd"]) > 0
    for item, needle in ((top[0], "rule_0599"), (top[1], "103999")):
        k = _first_with(fake_api, needle)
        assert item["request"] == k + 1
        # The item holds exactly what request k added over request k-1's prompt and answer ...
        assert item["tokens_added"] == prompts[k] - prompts[k - 1] - outputs[k - 1]
        # ... which is the tool result as the fake API counted it, give or take Claude Code's wrapping.
        billed = _result_tokens(fake_api, k, needle)
        assert abs(item["tokens_added"] - billed) <= 0.05 * billed, (item, billed)
        # Re-read by every later request, none compacted.
        assert item["rereads"] == len(main) - 1 - k
    # Together they are most of the window; the many small steps are small.
    assert top[0]["tokens_now"] + top[1]["tokens_now"] > 0.6 * doc["context_tokens"]
    small = [i for i in items if i["group"] == "Bash" and i["label"].startswith("echo step")]
    assert len(small) == SMALL_STEPS and all(i["tokens_added"] < 200 for i in small)
