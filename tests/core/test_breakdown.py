"""The context breakdown: exact at every request of every corpus session, re-read charges that add up to the
session's re-read cost, and the rules for the deltas that do not fit (shrinks, compactions, nothing recorded)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from ctxtop.adapters.index import Index
from ctxtop.core.breakdown import Boundary, Piece, Sent, apportion, build
from ctxtop.core.metrics import Req, compute, reread_split
from ctxtop.core.pricing import PriceBook
from ctxtop.core.records import MAIN
from ctxtop.core.usage import Tokens
from ctxtop.sources.claude_code.context import claude_events
from ctxtop.sources.claude_code.source import ClaudeCode
from ctxtop.sources.registry import Sources
from tests.support.fixtures import FIXTURES, rereads, scenario

PRICES = PriceBook()
T0 = 1_790_000_000.0
MODEL = "claude-opus-4-8"


def _lines(path: Path) -> list[object]:
    out = []
    for raw in path.read_bytes().splitlines():
        try:
            out.append(json.loads(raw))
        except ValueError:
            continue
    return out


def _prompts(path: Path) -> list[int]:
    """Each main-chain request's prompt, read from the raw lines without ctxtop (largest copy per request)."""
    order: list[tuple[str, str]] = []
    best: dict[tuple[str, str], dict] = {}
    for rec in _lines(path):
        msg = rec.get("message") if isinstance(rec, dict) else None
        if not isinstance(msg, dict) or not isinstance(msg.get("usage"), dict) or rec.get("isSidechain"):
            continue
        if rec.get("type") not in ("assistant", None) or msg.get("model") == "<synthetic>":
            continue
        u = msg["usage"]
        key = (str(msg.get("id")), str(rec.get("requestId")))
        total = sum(int(u.get(k) or 0) for k in ("input_tokens", "output_tokens", "cache_read_input_tokens",
                                                  "cache_creation_input_tokens"))  # fmt: skip
        if key not in best:
            order.append(key)
        if key not in best or total > best[key]["total"]:
            best[key] = {"total": total, "prompt": total - int(u.get("output_tokens") or 0)}
    return [best[k]["prompt"] for k in order]


def _main_transcripts(*roots: Path) -> list[Path]:
    return [p for root in roots for p in sorted(root.rglob("*.jsonl")) if "subagents" not in p.parts]


def _check_session(path: Path, index: Index | None) -> None:
    bd = build(claude_events(_lines(path)), PRICES, keep_steps=True)
    prompts = _prompts(path)
    assert [s.prompt for s in bd.steps] == prompts, path.name
    for k, step in enumerate(bd.steps, 1):
        # Exact in total: the live items at request k are its prompt, token for token.
        assert sum(step.live.values()) == step.prompt, f"{path.name} request {k}"
        assert all(v >= 0 for v in step.live.values())
    assert sum(i.reread_tokens for i in bd.items) == bd.reread_tokens
    assert sum((i.reread_cost for i in bd.items), Decimal(0)) == bd.reread_cost
    want = rereads(path)
    if want.turns == len(prompts):  # (the helper reads typed assistant lines only)
        # The re-read rule recomputed over the raw lines, independently of ctxtop.
        assert bd.reread_tokens == want.reread, path.name
    if index is not None:
        [stats] = index.sessions(ids=[path.stem])
        # ... and the charges add up to the re-read cost the session's stats give, Decimal for Decimal.
        assert bd.reread_tokens == stats.main_reread_tokens, path.name
        assert bd.reread_cost == stats.main_reread_cost, path.name


def test_breakdown_is_exact_on_every_fixture_session(tmp_path: Path) -> None:
    index = Index(tmp_path / "i.sqlite3")
    index.update(Sources((ClaudeCode((FIXTURES,)),)))
    paths = _main_transcripts(FIXTURES)
    assert len(paths) >= 3
    for path in paths:
        _check_session(path, index)


def test_breakdown_is_exact_on_every_corpus_session(tmp_path: Path, corpus: Path) -> None:
    index = Index(tmp_path / "i.sqlite3")
    index.update(Sources((ClaudeCode((corpus / "claude", corpus / "public")),)))
    indexed = {s.session_id for s in index.sessions()}
    paths = _main_transcripts(corpus / "claude", corpus / "public")
    assert len(paths) >= 9
    for path in paths:
        # The edge files are not in a config-dir layout: checked against the raw lines alone.
        _check_session(path, index if path.stem in indexed else None)


def test_charges_sum_to_the_session_rereads_after_a_compaction(claude_fixtures: Path) -> None:
    refactor = scenario("refactor")
    bd = build(claude_events(_lines(refactor.path)), PRICES)
    want = rereads(refactor.path)
    assert bd.reread_tokens == want.reread
    assert any(s.compacted for s in bd.steps)
    # Compacted away: only the base outlives the boundary; the summary is what the next request added.
    summary = [i for i in bd.items if i.kind == "summary"]
    assert len(summary) == 1 and summary[0].live
    before = [i for i in bd.items if i.request < summary[0].request and i.kind != "base"]
    assert before and not any(i.live for i in before)


def test_noisy_session_ranks_the_inline_output_over_the_persisted_logs(corpus: Path) -> None:
    # `seq 1 5000` (24 KB inline) reached the model whole; the 143 KB build log was persisted to a file and
    # the model saw its 2 KB preview: the breakdown follows what the model received.
    [path] = (corpus / "claude" / "projects" / "-tmp-cc-harness-mnph4kau-proj").glob("*.jsonl")
    bd = build(claude_events(_lines(path)), PRICES)
    tools = [i for i in bd.costliest(20) if i.kind == "tool"]
    assert tools[0].group == "Bash" and tools[0].label == "seq 1 5000"
    build_log = next(i for i in bd.items if "build.py" in i.label)
    assert build_log.added < tools[0].added


def _req(prompt: int, output: int, ts: float, cache_read: int = 0) -> Req:
    tokens = Tokens(prompt - cache_read, output, cache_read, 0, 0)
    return Req(MAIN, ts, MODEL, tokens, tokens)


def _sent(prompt: int, output: int, k: int, cache_read: int = 0) -> Sent:
    return Sent(_req(prompt, output, T0 + k, cache_read), Piece("assistant", "answer", "", 0))


@pytest.mark.parametrize(
    ("total", "weights", "parts"),
    [
        (10, [1, 1], [5, 5]),
        (10, [1, 2], [3, 7]),
        (7, [0, 0, 0], [3, 2, 2]),
        (1, [1, 1], [1, 0]),
        (100, [3, 3, 3], [34, 33, 33]),
        (0, [5, 9], [0, 0]),
    ],
)
def test_apportion_is_whole_and_exact(total: int, weights: list[int], parts: list[int]) -> None:
    assert apportion(total, weights) == parts
    assert sum(parts) == total


def test_delta_goes_to_the_pieces_between_in_proportion() -> None:
    events = [
        Piece("user", "message", "hi", 10),
        _sent(1000, 50, 1),
        Piece("tool", "Read", "a.py", 300),
        Piece("tool", "Bash", "make", 100),
        _sent(1050 + 800, 20, 2, cache_read=1050),
    ]
    bd = build(events, PRICES, keep_steps=True)
    base, user, answer1, read, bash, _ = bd.items
    assert (base.added, user.added, answer1.added) == (990, 10, 50)
    assert (read.added, bash.added) == (600, 200)  # 800 split 3:1
    # Request 2 re-read the 1,050 tokens of request 1's prompt and answer, all from the cache.
    assert bd.reread_tokens == 1050 == base.reread_tokens + user.reread_tokens + answer1.reread_tokens
    rates = PRICES.rates(MODEL, T0, 1850)
    assert bd.reread_cost == 1050 * rates.cache_read / 1_000_000


def test_a_shrink_comes_out_of_the_newest_items_and_new_pieces_keep_their_size() -> None:
    # The API dropped request 1's 500 tokens of thinking: request 2's prompt is smaller than P1 + O1.
    events = [
        _sent(1000, 500, 1),
        Piece("user", "message", "next", 40),
        _sent(1100, 10, 2),
    ]
    bd = build(events, PRICES, keep_steps=True)
    base, answer, user, _ = bd.items
    assert user.tokens == 40
    assert answer.tokens == 500 - (1500 - 1100 + 40)
    assert base.tokens == 1000
    assert sum(bd.steps[1].live.values()) == 1100
    assert bd.reread_tokens == 1100  # min(P2, P1 + O1), charged oldest first
    assert base.reread_tokens == 1000 and answer.reread_tokens == 100


def test_nothing_recorded_is_unattributed_and_compaction_keeps_only_the_base() -> None:
    events = [
        _sent(1000, 10, 1),
        _sent(1200, 10, 2),
        Boundary(T0 + 2.5),
        Piece("summary", "compaction summary", "", 300),
        _sent(1400, 10, 3),
    ]
    bd = build(events, PRICES, keep_steps=True)
    kinds = [(i.kind, i.added, i.live) for i in bd.items]
    assert ("unattributed", 190, False) in kinds
    summary = next(i for i in bd.items if i.kind == "summary")
    assert summary.added == 400 and summary.live
    assert bd.steps[2].compacted and bd.steps[2].reread == 0
    assert bd.by_kind() == {"base": 1000, "summary": 400}


def test_reread_split_takes_the_cached_prefix_first() -> None:
    t = Tokens(input=5, output=1, cache_read=100, cache_write_5m=30, cache_write_1h=20)
    assert reread_split(t, 90) == Tokens(0, 0, 90, 0, 0)
    assert reread_split(t, 130) == Tokens(0, 0, 100, 10, 20)
    assert reread_split(t, 155) == Tokens(5, 0, 100, 30, 20)


def test_session_reread_cost_is_the_split_priced() -> None:
    reqs = [
        _req(1000, 10, T0),
        Req(MAIN, T0 + 1, MODEL, Tokens(60, 5, 900, 50, 0), Tokens(60, 5, 900, 50, 0)),
    ]
    stats = compute("s", reqs, [], PRICES)
    rates = PRICES.rates(MODEL, T0, 1010)
    # R = min(1010, 1010): 900 cache reads, 50 5m writes, 60 input.
    want = (900 * rates.cache_read + 50 * rates.cache_write_5m + 60 * rates.input) / 1_000_000
    assert stats.reread_cost == stats.main_reread_cost == want


def test_pieces_are_named_by_tool_server_file_and_kind() -> None:
    ts = "2026-11-22T12:00:00.000Z"

    def assistant(mid: str, blocks: list[dict], prompt: int, output: int = 10) -> dict:
        return {"type": "assistant", "timestamp": ts, "requestId": f"r{mid}",
                "message": {"id": mid, "model": MODEL, "content": blocks,
                            "usage": {"input_tokens": prompt, "output_tokens": output}}}  # fmt: skip

    def result(tid: str, content: object) -> dict:
        return {"type": "user", "timestamp": ts,
                "message": {"content": [{"type": "tool_result", "tool_use_id": tid, "content": content}]}}  # fmt: skip

    lines = [
        {"type": "user", "timestamp": ts, "message": {"content": "fix the \x1b[31mbug\x1b[0m please"}},
        {
            "type": "attachment",
            "timestamp": ts,
            "attachment": {"type": "nested_memory", "path": "/w/CLAUDE.md", "content": "Always run tests."},
        },  # fmt: skip
        assistant(
            "m1",
            [
                {"type": "tool_use", "id": "t1", "name": "Read", "input": {"file_path": "/w/a.py"}},
                {"type": "tool_use", "id": "t2", "name": "mcp__github__get_issue", "input": {"n": 1}},
            ],
            5000,
        ),  # fmt: skip
        result("t1", "x = 1\n" * 300),
        result("t2", [{"type": "text", "text": "issue body"}, {"type": "image", "source": {}}]),
        {
            "type": "attachment",
            "timestamp": ts,
            "attachment": {"type": "hook_additional_context", "content": ["remember the plan"]},
        },  # fmt: skip
        {"type": "user", "isSidechain": True, "timestamp": ts, "message": {"content": "subagent prompt"}},
        assistant("m2", [{"type": "text", "text": "Done."}], 9000),
    ]
    bd = build(claude_events(lines), PRICES, keep_steps=True)
    named = {(i.kind, i.group, i.label) for i in bd.items}
    assert ("user", "message", "fix the [31mbug[0m please") in named  # escape characters dropped
    assert ("attachment", "memory", "/w/CLAUDE.md") in named
    assert ("tool", "Read", "/w/a.py") in named
    assert ("mcp", "mcp__github", "get_issue") in named
    assert ("attachment", "hook context", "") in named
    assert ("assistant", "tool calls", "Read, mcp__github__get_issue") in named
    assert not any("subagent" in i.label for i in bd.items)  # sidechain lines are not the main chain
    # The 3,990 new tokens are split by counted size: the 300-line file far more than the MCP answer, whose
    # image counts 1,600 tokens.
    read = next(i for i in bd.items if i.group == "Read")
    mcp = next(i for i in bd.items if i.kind == "mcp")
    assert read.added + mcp.added + next(i for i in bd.items if i.group == "hook context").added == 3990
    assert mcp.added > read.added > 0
    assert [sum(s.live.values()) for s in bd.steps] == [5000, 9000]


def test_a_forks_copied_requests_fill_its_window_but_are_charged_to_their_owner(tmp_path: Path) -> None:
    from ctxtop.services.context_io import session_breakdown

    src = scenario("refactor").path
    projects = tmp_path / "claude" / "projects" / "p"
    projects.mkdir(parents=True)
    (projects / src.name).write_bytes(src.read_bytes())
    # A fork: the whole conversation copied under another session id, then one more request of its own.
    fork = "aaaaaaaa-0000-0000-0000-000000000000"
    lines = src.read_text().replace(src.stem, fork).splitlines(keepends=True)
    last = json.loads(next(line for line in reversed(lines) if '"usage"' in line))
    last["message"]["id"], last["requestId"] = "msg_fork", "req_fork"
    last["timestamp"] = "2026-12-02T00:00:00.000Z"
    usage = last["message"]["usage"]
    usage["cache_read_input_tokens"] += usage["cache_creation_input_tokens"] + 200
    (projects / f"{fork}.jsonl").write_text("".join(lines) + json.dumps(last) + "\n")
    index = Index(tmp_path / "i.sqlite3")
    index.update(Sources((ClaudeCode((tmp_path / "claude",)),)))
    for sid in (src.stem, fork):
        found = session_breakdown(index, sid, keep_steps=True)
        assert found is not None
        bd = found.breakdown
        [stats] = index.sessions(ids=[sid])
        assert all(sum(s.live.values()) == s.prompt for s in bd.steps)
        assert (bd.reread_tokens, bd.reread_cost) == (stats.main_reread_tokens, stats.main_reread_cost), sid
    # The fork owns one request, the first of its own chain: nothing re-read, as core.metrics counts it.
    assert index.sessions(ids=[fork])[0].main_reread_tokens == 0
    assert len(session_breakdown(index, fork).breakdown.steps) == len(_prompts(src)) + 1
