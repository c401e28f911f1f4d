"""Accounting rules, each checked on real transcripts written by Claude Code (numbers verified by hand with an
independent script over the raw JSONL; see the comments)."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from ctxtop.adapters.index import Index
from ctxtop.core.metrics import Compaction, Req, compute
from ctxtop.core.pricing import PriceBook
from ctxtop.core.usage import Tokens, parse_usage
from ctxtop.sources.claude_code.source import ClaudeCode
from ctxtop.sources.registry import Sources
from tests.support.fixtures import api_tokens, raw_totals, rereads, scenario, scenarios

SPOTTER = "4d5611e5-241a-462a-8d15-5122611a9569"
NOISY = scenario("noisy")
REFACTOR = scenario("refactor")
T0 = 1_790_000_000.0  # 2026-09-21
# claude-opus-4-8 in USD per million tokens: input, output, cache read, 5m write, 1h write.
OPUS_48 = {"input": 5, "output": 25, "cache_read": Decimal("0.5"), "cache_write_5m": Decimal("6.25"),
           "cache_write_1h": 10}  # fmt: skip


def _index(tmp_path: Path, *dirs: Path) -> Index:
    index = Index(tmp_path / "index.sqlite3")
    index.update(Sources((ClaudeCode(tuple(dirs)),)))
    return index


def _stats(index: Index, session_id: str):
    found = index.sessions(ids=[session_id])
    assert found, f"session {session_id} not indexed"
    return found[0]


def _as_tokens(t: dict[str, int]) -> Tokens:
    return Tokens(t["input"], t["output"], t["cache_read"], t["cache_write_5m"], t["cache_write_1h"])


def test_dedup_keeps_largest_copy_across_content_block_lines(tmp_path: Path, public_corpus: Path) -> None:
    # 139 responses of the main file are split over several lines, 45 of them with a stale smaller
    # output_tokens in earlier copies; with the two subagent files: 152 unique (message.id, requestId).
    stats = _stats(_index(tmp_path, public_corpus), SPOTTER)
    assert stats.requests == 152
    assert stats.tokens == Tokens(
        input=233, output=28899, cache_read=12387553, cache_write_5m=559475, cache_write_1h=0
    )


def test_dedup_is_global_across_files(tmp_path: Path) -> None:
    # A resumed/forked session repeats earlier responses in another file: counted once.
    src = NOISY.path
    projects = tmp_path / "claude" / "projects" / "p"
    projects.mkdir(parents=True)
    (projects / src.name).write_bytes(src.read_bytes())
    fork = "aaaaaaaa-0000-0000-0000-000000000000"
    (projects / f"{fork}.jsonl").write_bytes(
        src.read_bytes().replace(NOISY.session_id.encode(), fork.encode())
    )
    index = _index(tmp_path, tmp_path / "claude")
    total = sum((s.tokens for s in index.sessions()), Tokens())
    # What the fake API billed for the session's model calls, and the raw lines deduplicated, agree.
    assert total == _as_tokens(api_tokens(NOISY.answers("main"))) == _as_tokens(raw_totals([src]))


def _opus_cost(tokens: dict[str, int]) -> Decimal:
    return sum((Decimal(tokens[k]) * OPUS_48[k] for k in OPUS_48), Decimal(0)) / 1_000_000


def test_1h_cache_writes_priced_at_their_own_rate(tmp_path: Path, claude_fixtures: Path) -> None:
    stats = _stats(_index(tmp_path, claude_fixtures), NOISY.session_id)
    billed = api_tokens(NOISY.answers("main"))
    assert billed["cache_write_1h"] > 0 and billed["cache_write_5m"] > 0
    assert stats.tokens == _as_tokens(billed)
    assert stats.cost_usd == _opus_cost(billed)


def test_compaction_call_subagent_file_is_billed(tmp_path: Path, public_corpus: Path) -> None:
    # agent-acompact-e1f845: 3 input, 8 output, 164,830 cache read, 8,681 cache write at opus-4-6 prices.
    index = _index(tmp_path, public_corpus)
    chains = {c: (n, tok) for c, n, tok in index.subagents(SPOTTER)}
    assert chains["acompact-e1f845"] == (1, 3 + 8 + 164830 + 8681)
    stats = _stats(index, SPOTTER)
    compaction_cost = (
        Decimal(3) * 5 + Decimal(8) * 25 + Decimal(164830) * Decimal("0.5") + Decimal(8681) * Decimal("6.25")
    ) / 1_000_000
    assert compaction_cost == Decimal("0.13688625")
    assert stats.subagent_cost > compaction_cost
    assert "acompact-e1f845" in chains and "a2898e3" in chains


def test_context_fill_and_rereads_reset_at_compact_boundary(tmp_path: Path, claude_fixtures: Path) -> None:
    # The refactor session compacts once mid-task; the expectations are recomputed from the raw lines.
    stats = _stats(_index(tmp_path, claude_fixtures), REFACTOR.session_id)
    want = rereads(REFACTOR.path)
    assert stats.turns == want.turns == len(REFACTOR.answers("main"))
    last = REFACTOR.answers("main")[-1]
    assert (
        stats.context_tokens
        == want.context
        == (last["input_tokens"] + last["cache_read_input_tokens"] + last["cache_creation_input_tokens"])
    )  # fmt: skip  (the prompt alone: Claude Code's figure)
    assert stats.reread_tokens == want.reread
    assert stats.prompt_tokens == want.prompt
    assert stats.reread_ratio == pytest.approx(want.reread / want.prompt, abs=1e-9)
    # Per request, min(cache read, re-read) over ΣR.
    assert stats.cache_share_of_rereads == pytest.approx(want.cached_rereads / want.reread, abs=1e-9)
    [boundary] = [r["compactMetadata"] for r in REFACTOR.records() if r.get("subtype") == "compact_boundary"]
    assert [(c.pre_tokens, c.post_tokens, c.trigger) for c in stats.compactions] == [
        (boundary["preTokens"], boundary["postTokens"], "auto")
    ]


def _req(ts: float, prompt: int, output: int, cache_read: int = 0, model: str = "claude-opus-4-8", chain: str = "main",
         **kw) -> Req:  # fmt: skip
    t = Tokens(input=prompt - cache_read, output=output, cache_read=cache_read)
    return Req(chain=chain, ts=ts, model=model, tokens=t, billed=t, **kw)


def test_seed_check_reread_ratio_at_turn_ten() -> None:
    # The prompt grows by ~1K a turn to 15K at turn 10: that turn is ~93% re-reads.
    reqs = [_req(T0 + i, 6000 + 1000 * i, 0) for i in range(10)]
    stats = compute("s", reqs, [], PriceBook(), keep_turns=True)
    last = stats.per_turn[-1]
    assert last.prompt == 15000
    assert last.reread / last.prompt == pytest.approx(14000 / 15000)
    assert round(last.reread / last.prompt, 2) == 0.93


def test_subagent_chains_have_their_own_rereads() -> None:
    reqs = [_req(T0, 10000, 100), _req(T0 + 1, 3000, 10, chain="a1"), _req(T0 + 2, 11000, 100)]
    stats = compute("s", reqs, [], PriceBook())
    # main: 0 + min(11000, 10100); subagent: 0 (its first request).
    assert stats.reread_tokens == 10100
    assert stats.context_tokens == 11000


def test_synthetic_entries_cost_nothing_and_do_not_move_context() -> None:
    reqs = [_req(T0, 10000, 100), _req(T0 + 1, 0, 0, model="<synthetic>")]
    stats = compute("s", reqs, [], PriceBook())
    assert stats.context_tokens == 10000
    assert stats.cost_usd == PriceBook().cost("claude-opus-4-8", T0, reqs[0].billed).total


def test_unknown_model_is_never_priced_as_another() -> None:
    reqs = [_req(T0, 1000, 10, model="my-local-model")]
    stats = compute("s", reqs, [], PriceBook())
    assert stats.cost_usd is None
    assert stats.unknown_models == ["my-local-model"]
    assert stats.unknown_cost_tokens.total == 1010
    mixed = compute("s", reqs + [_req(T0 + 1, 1000, 10)], [], PriceBook())
    assert mixed.cost_usd == PriceBook().cost("claude-opus-4-8", T0, reqs[0].billed).total
    assert mixed.unknown_cost_tokens.total == 1010


def test_long_context_tier_prices_the_whole_request_at_the_tier_rate() -> None:
    book = PriceBook()
    at = T0  # sonnet-4-5 keeps its >200K tier in the snapshot
    below = book.cost("claude-sonnet-4-5-20250929", at, Tokens(input=200_000, output=1000))
    above = book.cost("claude-sonnet-4-5-20250929", at, Tokens(input=200_001, output=1000))
    assert below.input == Decimal("0.6") and below.output == Decimal("0.015")
    assert above.input == Decimal(200_001) * 6 / 1_000_000
    assert above.output == Decimal(1000) * Decimal("22.5") / 1_000_000
    # Cache reads count toward the threshold.
    mixed = book.cost("claude-sonnet-4-5-20250929", at, Tokens(input=10, cache_read=200_000, output=0))
    assert mixed.cache_read == Decimal(200_000) * Decimal("0.6") / 1_000_000


def test_batch_service_tier_and_user_overrides() -> None:
    when = 1_795_000_000.0  # 2026-11-18, after the snapshot's batch variant starts
    book = PriceBook()
    std = book.cost("claude-opus-4-8", when, Tokens(input=1_000_000))
    batch = book.cost("claude-opus-4-8", when, Tokens(input=1_000_000), service_tier="batch")
    assert (std.total, batch.total) == (Decimal(5), Decimal("2.5"))
    custom = PriceBook({"claude-opus": {"input": 1, "output": 2}})
    assert custom.cost("claude-opus-4-8", when, Tokens(input=1_000_000, output=1_000_000)).total == Decimal(3)
    assert custom.rates("claude-opus-4-8", when).cache_write_1h == Decimal(2)


def test_usage_parsing_splits_cache_writes_and_adds_compaction_iterations() -> None:
    usage = parse_usage(
        {
            "input_tokens": 23000, "output_tokens": 1000, "cache_read_input_tokens": 5,
            "cache_creation_input_tokens": 300, "cache_creation": {"ephemeral_1h_input_tokens": 100},
            "server_tool_use": {"web_search_requests": 2, "web_fetch_requests": 1},
            "iterations": [
                {"type": "compaction", "input_tokens": 180000, "output_tokens": 3500},
                {"type": "message", "input_tokens": 23000, "output_tokens": 1000},
            ],
        }
    )  # fmt: skip
    assert usage is not None
    assert usage.tokens == Tokens(23000, 1000, 5, 200, 100)
    assert usage.billed == Tokens(203000, 4500, 5, 200, 100)
    assert (usage.web_search, usage.web_fetch) == (2, 1)


def test_web_search_is_billed_per_thousand_requests() -> None:
    cost = PriceBook().cost("claude-opus-4-8", T0, Tokens(), web_search=3)
    assert cost.web_search == Decimal("0.03")


def test_cache_expiry_after_idle_gap_is_costed() -> None:
    # Turn 2 re-reads 10,100 tokens after a 10-minute gap: the 5m cache expired, all of it was re-written.
    t1 = Tokens(input=0, output=100, cache_write_5m=10000)
    t2 = Tokens(input=0, output=100, cache_write_5m=11000)
    reqs = [Req("main", T0, "claude-opus-4-8", t1, t1), Req("main", T0 + 600, "claude-opus-4-8", t2, t2)]
    stats = compute("s", reqs, [], PriceBook())
    assert len(stats.expiries) == 1
    # 10,100 re-read tokens paid at 6.25 instead of 0.5 USD/MTok.
    assert stats.expiries[0].extra_cost == Decimal(10100) * (Decimal("6.25") - Decimal("0.5")) / 1_000_000
    assert stats.cache_miss_cost == stats.expiries[0].extra_cost


def test_compaction_record_resets_rereads() -> None:
    reqs = [_req(T0, 100000, 100, 90000), _req(T0 + 10, 30000, 100, 20000)]
    stats = compute("s", reqs, [Compaction(T0 + 5, "auto", 100100, 28000)], PriceBook())
    assert stats.reread_tokens == 0


def test_report_json_contract(tmp_path: Path, claude_fixtures: Path, capsys) -> None:
    from ctxtop.cli import main

    assert main(["report", "sessions", "--json", "--claude-dir", str(claude_fixtures),
                 "--cache-dir", str(tmp_path)]) == 0  # fmt: skip
    rows = json.loads(capsys.readouterr().out)
    assert {r["session_id"] for r in rows} == {s.session_id for s in scenarios()}
    row = next(r for r in rows if r["session_id"] == NOISY.session_id)
    for key in ("session_id", "source", "project", "models", "first_ts", "last_ts", "tokens", "cost_usd",
                "context_tokens", "context_window", "fill", "compact_at_tokens", "reread_ratio",
                "cache_share_of_rereads", "cache_miss_cost_usd", "compactions", "turns"):  # fmt: skip
        assert key in row
    assert row["source"] == "claude"
    assert row["project"] == NOISY.cwd
    billed = api_tokens(NOISY.answers("main"))
    assert row["tokens"] == billed
    assert Decimal(row["cost_usd"]) == _opus_cost(billed)
    # Claude Code 2.1.197 runs its default model, claude-opus-4-8, with a 1M window.
    assert row["context_window"] == 1_000_000 and row["compact_at_tokens"] == 967_000
    assert row["context_window_source"] == "Claude Code 2.1.197 default model claude-opus-4-8"
    assert row["fill"] == pytest.approx(row["context_tokens"] / 1_000_000, abs=1e-6)
    assert row["compact_at_fill"] == 0.967


def test_report_csv_and_group_reports_agree_with_sessions(
    tmp_path: Path, claude_fixtures: Path, capsys
) -> None:
    import csv
    import io

    from ctxtop.cli import main

    common = ["--claude-dir", str(claude_fixtures), "--cache-dir", str(tmp_path)]
    assert main(["report", "sessions", "--json", *common]) == 0
    sessions = json.loads(capsys.readouterr().out)
    assert main(["report", "sessions", "--csv", *common]) == 0
    *rows, total_row = csv.DictReader(io.StringIO(capsys.readouterr().out))
    assert [r["session_id"] for r in rows] == [s["session_id"] for s in sessions]
    assert [int(r["tokens.cache_read"]) for r in rows] == [s["tokens"]["cache_read"] for s in sessions]
    total = sum(Decimal(s["cost_usd"]) for s in sessions)
    # The last row is the total: the sums of the rows above it, over every session of the JSON.
    assert total_row["session_id"] == "TOTAL" and int(total_row["sessions"]) == len(sessions)
    assert Decimal(total_row["cost_usd"]) == total == sum(Decimal(r["cost_usd"]) for r in rows)
    for key in ("input", "output", "cache_read", "cache_write_5m", "cache_write_1h"):
        assert int(total_row[f"tokens.{key}"]) == sum(s["tokens"][key] for s in sessions), key
    assert int(total_row["requests"]) == sum(s["requests"] for s in sessions)
    for report in ("daily", "projects", "models"):
        assert main(["report", report, "--json", *common]) == 0
        groups = json.loads(capsys.readouterr().out)
        assert sum(Decimal(g["cost_usd"]) for g in groups) == total, report
        assert sum(g["requests"] for g in groups) == sum(s["requests"] for s in sessions), report
    # --since/--until are inclusive local days: the fixtures' day alone, then the day after (nothing).
    first = min(datetime.fromisoformat(s["first_ts"].replace("Z", "+00:00")) for s in sessions)
    day = first.astimezone().date().isoformat()
    assert main(["report", "daily", "--json", "--since", day, "--until", day, *common]) == 0
    assert [g["date"] for g in json.loads(capsys.readouterr().out)] == [day]
    after = date.fromisoformat(day) + timedelta(days=1)
    assert main(["report", "daily", "--json", "--since", after.isoformat(), *common]) == 0
    assert json.loads(capsys.readouterr().out) == []


def test_cache_share_counts_each_request_and_the_compaction_call_rereads_the_main_chain() -> None:
    # Regression: a subagent's first request reads the shared system prompt from the cache (re-reading
    # nothing of its own chain) and the compaction call reads the whole main context: summed as Σ cache read
    # over Σ re-read they pushed the share to a capped 100% beside a real cache miss.
    reqs = [
        _req(T0, 50_000, 100, cache_read=0),
        _req(T0 + 1, 60_000, 100, cache_read=20_000),  # re-reads 50,100, only 20,000 from the cache
        _req(T0 + 2, 30_000, 10, cache_read=30_000, chain="a1"),  # first of its chain: re-reads nothing
        _req(T0 + 3, 60_100, 900, cache_read=60_000, chain="acompact-1", is_compaction_call=True),
    ]
    stats = compute("s", reqs, [], PriceBook())
    # Re-reads: 50,100 (main) + 0 (subagent) + 60,100 (the compaction call re-reads main's 60,100).
    assert stats.reread_tokens == 50_100 + 60_100
    assert stats.cache_read_tokens == 20_000 + 0 + 60_000
    assert stats.cache_share_of_rereads == pytest.approx(80_000 / 110_200)
    assert stats.cache_miss_cost > 0


def test_context_is_the_prompt_without_output_and_none_without_a_main_chain() -> None:
    # Claude Code's used_percentage is input + cache read + cache write of the latest request.
    stats = compute("s", [_req(T0, 70_000, 10_995)], [], PriceBook())
    assert stats.context_tokens == 70_000 and stats.max_context == 70_000
    # Only a subagent file left: no context (null, not 0); active time and burn from its own requests.
    only_sub = [_req(T0 + 60 * i, 10_000 + i, 50, chain="a1") for i in range(4)]
    stats = compute("s", only_sub, [], PriceBook())
    assert stats.context_tokens is None
    assert stats.active_seconds == 180 and stats.burn_usd_per_hour > 0


def test_compaction_without_post_tokens_is_unknown(tmp_path: Path) -> None:
    from ctxtop.core.records import CompactRecord, FileContext
    from ctxtop.sources.claude_code.transcript import parse_claude

    line = {"type": "system", "subtype": "compact_boundary", "timestamp": "2026-01-01T00:00:00Z",
            "compactMetadata": {"trigger": "auto", "preTokens": 170_000}}  # fmt: skip
    facts = parse_claude(line, FileContext("s"), "k")
    [boundary] = [f for f in facts if isinstance(f, CompactRecord)]
    assert boundary.post_tokens is None
    stats = compute("s", [_req(T0, 1000, 10)], [Compaction(T0 - 1, "auto", 170_000, None)], PriceBook())
    from ctxtop.core.compaction import CompactionInfo
    from ctxtop.core.report import SessionView

    row = SessionView(stats, CompactionInfo(200_000, "x", 167_000, True), 60).as_dict()
    assert row["compaction_tokens"] == [{"pre": 170_000, "post": None, "trigger": "auto"}]


def test_money_in_json_has_one_fixed_precision() -> None:
    from ctxtop.core.report import money

    assert money(Decimal("0.4859395")) == "0.4859395000"
    assert money(Decimal("12")) == "12.0000000000"
    # A derived figure (a quotient) no longer prints 28 digits.
    assert money(Decimal(1) / Decimal(3)) == "0.3333333333"
    assert money(Decimal("-0.00000000001")) == "0.0000000000"


def _per_request_totals(requests: list[Req], book: PriceBook, stats) -> dict[str, Decimal]:
    """The session's money figures as a sum of each request's own cost (what ``compute`` prices as sums)."""
    from ctxtop.core.metrics import local_day, request_cost, reread_cost

    out = {"cost": Decimal(0), "subagent": Decimal(0), "reread": Decimal(0), "main_reread": Decimal(0)}
    buckets: dict[str, Decimal] = {}
    per_request: list[tuple[int, int]] = []
    compute("x", requests, [], book, per_request=per_request)
    for req, (reread, _) in zip(requests, per_request, strict=True):
        cost = request_cost(book, req)
        if cost is None:
            continue
        out["cost"] += cost.total
        key = f"{local_day(req.ts)}|{req.model}"
        buckets[key] = buckets.get(key, Decimal(0)) + cost.total
        if req.chain != "main":
            out["subagent"] += cost.total
        if reread:
            out["reread"] += reread_cost(book, req, reread)
            if req.chain == "main":
                out["main_reread"] += reread_cost(book, req, reread)
    assert {k: b.cost for k, b in stats.buckets.items() if b.cost or k in buckets} == buckets
    return out


def test_session_cost_from_token_sums_equals_the_sum_of_request_costs(
    tmp_path: Path, claude_fixtures: Path
) -> None:
    # compute() prices token sums per rate once; every figure must equal the per-request sum exactly, across
    # long-context tiers, server-side compaction passes, batch, an unknown model, synthetic and subagent chains.
    book = PriceBook()
    mixed = [
        Req("main", T0, "claude-sonnet-4-5-20250929", Tokens(200_000, 900, 0, 1, 0), Tokens(200_000, 900, 0, 1, 0)),
        Req("main", T0 + 5, "claude-sonnet-4-5-20250929", Tokens(10, 700, 150_000, 60_000, 3),
            Tokens(10, 700, 150_000, 60_000, 3), web_search=3),
        Req("main", T0 + 9, "claude-sonnet-4-5-20250929", Tokens(23000, 1000, 5, 200, 100),
            Tokens(273000, 4500, 5, 200, 100)),  # a compaction pass (250K: the >200K tier) at its own tier
        Req("a1", T0 + 11, "claude-opus-4-8", Tokens(3, 8, 164830, 8681, 0), Tokens(3, 8, 164830, 8681, 0)),
        Req("a1", T0 + 12, "claude-opus-4-8", Tokens(7, 9, 170000, 300, 0), Tokens(7, 9, 170000, 300, 0),
            service_tier="batch"),
        Req("main", T0 + 13, "<synthetic>", Tokens(), Tokens()),
        Req("main", T0 + 14, "some-unknown-model", Tokens(5, 5, 5, 5, 5), Tokens(5, 5, 5, 5, 5)),
        Req("main", T0 + 86400, "claude-opus-4-8", Tokens(1, 2, 250_000, 7, 9), Tokens(1, 2, 250_000, 7, 9)),
    ]  # fmt: skip
    sessions = [mixed]
    index = _index(tmp_path, claude_fixtures)
    sessions += [index.requests(s.session_id) for s in index.sessions()]
    assert len(sessions) > 3
    for requests in sessions:
        stats = compute("x", requests, [], book)
        want = _per_request_totals(requests, book, stats)
        assert want["cost"] and want["cost"] == stats.cost.total
        assert (want["subagent"], want["reread"], want["main_reread"]) == (
            stats.subagent_cost, stats.reread_cost, stats.main_reread_cost,
        )  # fmt: skip
    stats = compute("x", mixed, [], book)
    assert stats.subagent_cost and stats.reread_cost and stats.unknown_models == ["some-unknown-model"]
