"""The noise report is built from the index (issue 9): its dedup, its prices, its files, subagents included."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from ctxtop.adapters import filter_log
from ctxtop.services import noise
from ctxtop.services.monitor import Monitor
from tests.commands.test_run_noise import NOISY, _transcript
from tests.support.fixtures import scenario

T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC).timestamp()


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    monkeypatch.setenv("CTXTOP_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("CTXTOP_CONFIG_DIR", str(tmp_path / "cfg"))
    return tmp_path / "claude", tmp_path / "data" / "filter-log"


def _open(claude: Path) -> Monitor:
    monitor = Monitor.open([str(claude)], str(claude.parent / "api"), str(claude.parent / "cache"))
    monitor.refresh()
    return monitor


def _log(log: Path, sid: str) -> None:
    filter_log.append({"session_id": sid, "cwd": "/home/u/proj", "raw_chars": 9000, "raw_tokens": 3000,
                       "filtered_chars": 600, "filtered_tokens": 200}, folder=log, now=T0)  # fmt: skip


def test_price_overrides_are_honoured(world: tuple[Path, Path]) -> None:
    # The report priced with a bare PriceBook(): a [prices] override changed every report but this one.
    claude, log = world
    _transcript(claude / "projects" / "-p" / "s1.jsonl", "s1", T0, compact_after=3)
    _log(log, "s1")
    config = claude.parent / "cfg" / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(
        '[prices."claude-sonnet-4-5"]\ninput = 1\noutput = 2\ncache_read = 0.5\ncache_write_5m = 7\n'
    )
    monitor = _open(claude)
    try:
        [row] = noise.build_rows(monitor.index, log_folder=log)
    finally:
        monitor.close()
    # 2,800 removed tokens written once at $7/M and read twice more at $0.50/M.
    assert row.worth_usd == 2800 * (Decimal(7) + 2 * Decimal("0.5")) / 1_000_000


def test_requests_are_the_indexs_with_its_dedup_even_after_the_transcript_is_gone(
    world: tuple[Path, Path],
) -> None:
    # The report re-parsed transcripts with its own dedup (first copy wins); a deleted transcript lost its worth.
    claude, log = world
    path = claude / "projects" / "-p" / "s2.jsonl"
    _transcript(path, "s2", T0, compact_after=3)
    # A stale first copy of a request (smaller usage) precedes the final one: the largest copy counts.
    lines = path.read_text().splitlines()
    stale = json.loads(lines[1])
    stale["message"]["usage"] = {**stale["message"]["usage"], "cache_read_input_tokens": 5}
    path.write_text("\n".join([lines[0], json.dumps(stale), *lines[1:]]) + "\n")
    _log(log, "s2")
    monitor = _open(claude)
    try:
        [stats] = monitor.index.sessions(ids=["s2"])
        [row] = noise.build_rows(monitor.index, log_folder=log)
        assert row.session_input_tokens == stats.prompt_tokens == 6 * 21010
        path.unlink()  # Claude Code's cleanup: the index keeps the session's requests, archived
        monitor.refresh()
        [after] = noise.build_rows(monitor.index, log_folder=log)
    finally:
        monitor.close()
    assert after.worth_usd == row.worth_usd and after.worth_usd is not None and after.worth_usd > 0
    assert after.rereads == row.rereads == 2800 * 3


def test_subagent_bash_outputs_are_estimated_against_the_subagents_requests(world: tuple[Path, Path]) -> None:
    # The report looked at <project>/*.jsonl only: a subagent's Bash results were never counted.
    claude, log = world
    session = claude / "projects" / "-p" / "s3.jsonl"
    _transcript(session, "s3", T0 - 3600)
    agent = claude / "projects" / "-p" / "s3" / "subagents" / "agent-a1.jsonl"
    _transcript(agent, "s3", T0, bash_output=NOISY, compact_after=2)
    # Another chain's requests: their own message ids.
    agent.write_text(agent.read_text().replace('"id": "m', '"id": "agent-m'))
    monitor = _open(claude)
    try:
        [row] = noise.build_rows(monitor.index, log_folder=log)
        [stats] = monitor.index.sessions(ids=["s3"])
    finally:
        monitor.close()
    assert row.session_id == "s3" and row.estimated and row.outputs == 1
    assert row.removed_tokens > 0.8 * row.raw_tokens
    # Two of the subagent's requests before its compaction; none of the main chain's (an hour earlier).
    assert row.rereads == row.removed_tokens * 2
    assert row.session_input_tokens == stats.prompt_tokens == 12 * 21010


def test_the_estimate_counts_only_outputs_the_model_saw_in_full(
    tmp_path: Path, claude_fixtures: Path
) -> None:
    # Claude Code cuts toolUseResult.stdout of a persisted output to 30,000 characters and shows the model a
    # ~2,000-character preview: the report estimated from the 29,999 kept characters, crediting ~7K tokens
    # that never reached the context. Recomputed here from the raw lines, with the filter as the oracle.
    from ctxtop.adapters import filter_rules
    from ctxtop.core.filters import filter_text
    from ctxtop.core.filters.tokens import count_tokens

    noisy = scenario("noisy")
    bash = {}
    expected = []
    cfg = filter_rules.load()
    for rec in noisy.records():
        for block in (rec.get("message") or {}).get("content") or []:
            if not isinstance(block, dict):
                continue
            if block.get("type") == "tool_use" and block.get("name") == "Bash":
                bash[block["id"]] = block["input"]["command"]
            if (
                block.get("type") == "tool_result"
                and block.get("tool_use_id") in bash
                and not block.get("is_error")
            ):
                text = block["content"] if isinstance(block["content"], str) else ""
                if text.startswith("<persisted-output>"):
                    continue
                if filter_text(
                    text, bash[block["tool_use_id"]], cfg.rules, cfg.settings, raw_path="/x"
                ).changed:
                    expected.append(count_tokens(text))
    monitor = Monitor.open([str(claude_fixtures)], str(tmp_path / "api"), str(tmp_path / "cache"))
    try:
        monitor.refresh()
        [row] = [r for r in noise.build_rows(monitor.index) if r.session_id == noisy.session_id]
    finally:
        monitor.close()
    assert row.estimated and expected
    assert (row.outputs, row.raw_tokens) == (len(expected), sum(expected))
