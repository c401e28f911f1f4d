"""The rollout parser on the fixtures' lines (pure: no index, no SQLite)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ctxtop.core.records import CompactRecord, FileContext, Meta, RequestRecord
from ctxtop.core.usage import Tokens
from ctxtop.sources.codex.rollout import COMPACTION_TRIGGER, RolloutParser, read_counts, session_id_of
from tests.sources.codex.expected import CODEX_HOME, CONTEXT, FILES, TOKENS, A, B, C, D, E


def _lines(sid: str) -> list[dict]:
    text = (CODEX_HOME / FILES[sid]).read_text(encoding="utf-8")
    out = []
    for raw in text.split("\n"):
        try:
            out.append(json.loads(raw))
        except ValueError:
            continue  # D's half-written last line: the index never hands it over either
    return out


def _ctx(sid: str) -> FileContext:
    return FileContext(session_id=session_id_of(Path(FILES[sid]).stem), source="codex")


def _parse(sid: str, *, fresh_each_line: bool = False) -> list:
    ctx = _ctx(sid)
    parser = RolloutParser(ctx, None)
    facts = []
    for n, obj in enumerate(_lines(sid)):
        if fresh_each_line:
            # Every line in its own read, as the live tail does: only the saved state links them.
            parser = RolloutParser(ctx, parser.state)
        facts += parser.parse(obj, f"{FILES[sid]}:{n}")
    return facts


def _dedup(facts: list) -> dict[str, RequestRecord]:
    out: dict[str, RequestRecord] = {}
    for f in facts:
        if isinstance(f, RequestRecord):
            out.setdefault(f.key, f)
    return out


def test_file_name_gives_the_session_id() -> None:
    for sid, rel in FILES.items():
        assert session_id_of(Path(rel).stem) == sid
    assert session_id_of("notes") == "notes"


@pytest.mark.parametrize("sid", [A, B, D, E])
@pytest.mark.parametrize("fresh", [False, True], ids=["one-read", "read-per-line"])
def test_tokens_per_session(sid: str, fresh: bool) -> None:
    requests = _dedup(_parse(sid, fresh_each_line=fresh))
    n, i, o, cr, reasoning = TOKENS[sid]
    total = sum((r.usage.tokens for r in requests.values()), Tokens())
    assert (len(requests), total.input, total.output, total.cache_read, total.cache_write) == (n, i, o, cr, 0)
    assert sum(r.usage.reasoning for r in requests.values()) == reasoning


def test_reemitted_events_yield_nothing() -> None:
    # A has 6 token_count events with usage (two re-emissions, one byte-identical copy) for 3 responses.
    facts = [f for f in _parse(A) if isinstance(f, RequestRecord)]
    assert len(facts) == 3
    assert [f.usage.tokens.prompt for f in facts] == [8200, 9400, 10100]


def test_openai_input_includes_cached_input() -> None:
    second = [f for f in _parse(A) if isinstance(f, RequestRecord)][1]
    # input_tokens 9400 of which cached_input_tokens 8064: 1336 new, 8064 read from the cache.
    assert second.usage.tokens == Tokens(input=1336, output=420, cache_read=8064)
    assert second.usage.tokens.prompt == 9400


def test_model_comes_from_the_turn_context() -> None:
    models = [f.model for f in _parse(B, fresh_each_line=True) if isinstance(f, RequestRecord)]
    assert models == ["gpt-5-codex", "gpt-5-codex", "gpt-5.1-codex"]
    assert [f.model for f in _parse(E) if isinstance(f, RequestRecord)][-1] == "gpt-oss-local"


def test_fork_replay_has_the_parents_keys() -> None:
    parent = _dedup(_parse(B))
    child = _dedup(_parse(C))
    shared = set(parent) & set(child)
    assert len(child) == 3 and len(shared) == 2  # the replayed first day, keyed as B's own file keys it
    own = [r for k, r in child.items() if k not in shared]
    assert len(own) == 1 and own[0].session_id == C
    assert own[0].usage.tokens == Tokens(input=1500, output=800, cache_read=13000)


def test_meta_is_the_files_own_session() -> None:
    metas = [f for f in _parse(C) if isinstance(f, Meta)]
    assert len(metas) == 1
    assert (metas[0].session_id, metas[0].cwd, metas[0].git_branch, metas[0].version) == (
        C, "/home/dev/shop", "fix-cart-totals", "0.169.0",
    )  # fmt: skip


def test_codex_compaction_is_recorded_with_the_prompt_it_replaced() -> None:
    compactions = [f for f in _parse(E, fresh_each_line=True) if isinstance(f, CompactRecord)]
    assert [(c.trigger, c.pre_tokens, c.post_tokens) for c in compactions] == [
        (COMPACTION_TRIGGER, 180000, None)
    ]


def test_latest_prompt_matches_context() -> None:
    for sid in (A, B, E):
        last = [f for f in _parse(sid) if isinstance(f, RequestRecord)][-1]
        assert last.usage.tokens.prompt == CONTEXT[sid][0]


def test_counters_without_last_usage_count_the_difference() -> None:
    parser = RolloutParser(FileContext("s", source="codex"))
    first = {"input_tokens": 100, "cached_input_tokens": 0, "output_tokens": 10, "total_tokens": 110}
    second = {"input_tokens": 250, "cached_input_tokens": 90, "output_tokens": 30, "total_tokens": 280}
    out = []
    for ts, total in (("2026-01-01T00:00:01Z", first), ("2026-01-01T00:00:02Z", second)):
        line = {
            "timestamp": ts,
            "type": "event_msg",
            "payload": {"type": "token_count", "info": {"total_token_usage": total}},
        }
        out += parser.parse(line, ts)
    assert [r.usage.tokens for r in out] == [Tokens(100, 10, 0), Tokens(60, 20, 90)]
    assert all(r.model == "unknown" for r in out)  # no turn_context: never priced as some other model


@pytest.mark.parametrize(
    "raw",
    [
        None,
        {},
        [],
        "x",
        {"input_tokens": -5, "output_tokens": 2**60},
        {"input_tokens": True, "output_tokens": 1.5},
    ],
)
def test_odd_counters_are_zero_or_absent(raw: object) -> None:
    counts = read_counts(raw)
    assert counts is None or not any(counts.astuple())


def test_odd_lines_yield_nothing_and_never_raise() -> None:
    parser = RolloutParser(FileContext("s", source="codex"))
    odd = [
        {},
        {"type": "event_msg"},
        {"type": "event_msg", "payload": {"type": "token_count", "info": "x"}},
        {
            "type": "event_msg",
            "payload": {"type": "token_count", "info": {"total_token_usage": {"input_tokens": 5}}},
        },
        {"timestamp": 5, "type": "compacted", "payload": {}},
        {"timestamp": "2026-01-01T00:00:00Z", "type": "session_meta", "payload": {"id": 7, "git": "x"}},
        {"timestamp": "2026-01-01T00:00:00Z", "type": "turn_context", "payload": {"model": None}},
    ]
    facts = [f for obj in odd for f in parser.parse(obj, "k")]
    assert all(not isinstance(f, RequestRecord) for f in facts)


def test_a_state_from_elsewhere_is_ignored() -> None:
    for state in ("{", "[]", '{"own": true}', '{"own": true, "root": "r", "totals": [1, 2]}'):
        parser = RolloutParser(FileContext("s", source="codex"), state)
        assert json.loads(parser.state or "{}")["totals"] is None


def _cli_scenarios() -> dict[str, dict]:
    data = json.loads((CODEX_HOME / "cli-scenarios.json").read_text())
    data.pop("codex_version")
    return data


@pytest.mark.parametrize("name", ["plain", "resumed", "forked"])
def test_files_the_real_cli_wrote(name: str) -> None:
    scenario = _cli_scenarios()[name]
    path = CODEX_HOME / scenario["file"]
    ctx = FileContext(session_id=session_id_of(path.stem), source="codex")
    assert ctx.session_id == scenario["session_id"]
    parser = RolloutParser(ctx)
    requests = []
    for n, raw in enumerate(path.read_text().splitlines()):
        requests += [f for f in parser.parse(json.loads(raw), f"{path}:{n}") if isinstance(f, RequestRecord)]
    # One request per answer the fake API gave, in its figures (the fork's totals start at its parent's:
    # only its own answer counts).
    expected = [
        Tokens(
            input=r["input_tokens"] - r["cached_tokens"],
            output=r["output_tokens"],
            cache_read=r["cached_tokens"],
        )
        for r in scenario["reported"]
    ]
    assert [r.usage.tokens for r in requests] == expected
    assert {r.model for r in requests} == {"gpt-5-codex"}
