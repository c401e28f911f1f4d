"""Codex CLI end to end: the real CLI writing a rollout while ctxtop watches, the reports, ccusage's reading.

The real Codex CLI (``@openai/codex`` 0.169.0, pinned in ``tests/e2e/package.json``) runs offline against the
fake Responses API, inside a network namespace with only the loopback (``tests/support/codex_cli.py``).
"""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.sources.codex.expected import CODEX_HOME, CONTEXT, COST, FILES, TOKENS, A, E
from tests.support.claude_cli import CCUSAGE_BIN, require_binary

pytestmark = pytest.mark.timeout(120)

ENV_BASE = {"PATH": "/usr/local/bin:/usr/bin:/bin", "TZ": "UTC", "LANG": "C.UTF-8", "NO_COLOR": "1"}


def _report(tmp_path: Path, codex_home: Path, *args: str) -> Any:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    env = {**ENV_BASE, "HOME": str(home), "CTXTOP_CONFIG_DIR": str(tmp_path / "config")}
    proc = subprocess.run(
        [sys.executable, "-m", "ctxtop", "report", *args, "--json", "--codex-dir", str(codex_home),
         "--claude-dir", str(tmp_path / "no-claude"), "--api-logs", str(tmp_path / "no-api"),
         "--data-dir", str(tmp_path / "data")],
        env=env, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout)


def test_report_sessions_json_on_codex_fixtures(tmp_path: Path) -> None:
    rows = {r["session_id"]: r for r in _report(tmp_path, CODEX_HOME, "sessions")}
    assert set(FILES) <= set(rows)
    for sid in FILES:
        row = rows[sid]
        _n, i, o, cr, reasoning = TOKENS[sid]
        assert row["source"] == "codex"
        assert row["reasoning_output_tokens"] == reasoning  # a part of output, shown apart
        assert row["tokens"] == {
            "input": i,
            "output": o,
            "cache_read": cr,
            "cache_write_5m": 0,
            "cache_write_1h": 0,
        }
        assert Decimal(row["cost_usd"]) == COST[sid]
        context, window = CONTEXT[sid]
        assert (row["context_tokens"], row["context_window"]) == (context, window)
        assert row["fill"] == pytest.approx(context / window, abs=1e-6)
        # ctxtop's threshold and Claude Code's compaction point are not Codex's.
        assert (row["threshold_tokens"], row["compact_at_tokens"], row["room_before_compaction_tokens"]) == (
            None, None, None,
        )  # fmt: skip
    assert rows[E]["unpriced_models"] == ["gpt-oss-local"]
    assert rows[E]["compactions"] == 1


def test_daily_report_splits_the_resumed_session_by_day(tmp_path: Path) -> None:
    days = {r["date"]: r for r in _report(tmp_path, CODEX_HOME, "daily")}
    assert Decimal(days["2026-11-20"]["cost_usd"]) == COST[A]
    assert "2026-11-21" in days and "2026-11-22" in days  # B before and after its resume


def test_session_tokens_match_ccusage_codex(tmp_path: Path) -> None:
    ccusage = require_binary(CCUSAGE_BIN)
    home = tmp_path / "home"
    home.mkdir()
    env = {**ENV_BASE, "HOME": str(home), "CODEX_HOME": str(CODEX_HOME)}
    proc = subprocess.run([str(ccusage), "codex", "session", "--json", "--offline"], env=env, capture_output=True,
                          text=True, timeout=60, stdin=subprocess.DEVNULL)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    theirs = {s["sessionId"][-36:]: s for s in json.loads(proc.stdout)["sessions"]}
    ours = {r["session_id"]: r for r in _report(tmp_path, CODEX_HOME, "sessions")}
    assert set(theirs) == set(ours)
    for sid, row in ours.items():
        t = theirs[sid]
        assert (row["tokens"]["input"], row["tokens"]["cache_read"], row["tokens"]["output"],
                row["reasoning_output_tokens"]) == (
            t["inputTokens"], t["cacheReadTokens"], t["outputTokens"], t["reasoningOutputTokens"],
        ), sid  # fmt: skip
        if row["cost_usd"] is not None and not row["unpriced_models"]:
            # Same rates; ccusage sums floats.
            assert Decimal(row["cost_usd"]) == pytest.approx(
                Decimal(str(t["costUSD"])), abs=Decimal("1e-9")
            ), sid


def test_real_codex_session_shows_up_live(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from ctxtop.adapters.config import Config
    from ctxtop.services import events
    from ctxtop.services.live import Engine
    from ctxtop.services.monitor import Monitor
    from tests.support.codex_cli import CodexCLI
    from tests.support.fake_responses import run, say

    for name in ("CTXTOP_CONFIG_DIR", "CTXTOP_DATA_DIR"):
        monkeypatch.setenv(name, str(tmp_path / name.lower()))
    cli = CodexCLI(tmp_path / "codex")
    config = Config.load(tmp_path / "config.toml")

    def factory(cfg: Config) -> Monitor:
        return Monitor.open([str(tmp_path / "no-claude")], str(tmp_path / "no-api"), str(tmp_path / "cache"), cfg,
                            codex_dirs=[str(cli.codex_home)])  # fmt: skip

    q: queue.Queue = queue.Queue()
    engine = Engine(
        factory, config, q.put, clock=time.time, poll_interval=0.2, live_interval=0.5, min_interval=0.05
    )
    thread = threading.Thread(target=engine.run, daemon=True)
    thread.start()
    try:
        result = cli.run("run the tests", steps=[run("echo '1 failed'"), say("One test fails.")])
        assert result.returncode == 0, result.stderr[-2000:]
        [rollout] = cli.rollouts()
        sid = rollout.stem[-36:]
        want_input = sum(r["input_tokens"] - r["cached_tokens"] for r in result.reported)
        want_cached = sum(r["cached_tokens"] for r in result.reported)
        want_output = sum(r["output_tokens"] for r in result.reported)
        deadline = time.monotonic() + 30
        while True:
            assert time.monotonic() < deadline, "the Codex session never showed up with its figures"
            try:
                event = q.get(timeout=0.2)
            except queue.Empty:
                continue
            assert not isinstance(event, events.EngineFailed), event.error
            if not isinstance(event, events.SessionsUpdated):
                continue
            views = [v for v in event.views if v.stats.session_id == sid]
            if views and views[0].stats.requests == len(result.reported):
                break
        view = views[0]
        assert view.stats.source == "codex"
        t = view.stats.tokens
        assert (t.input, t.cache_read, t.output) == (want_input, want_cached, want_output)
        assert view.window == 258400 and view.context_tokens == result.reported[-1]["input_tokens"]
        assert view.stats.cost_usd is not None and view.stats.cost_usd > 0
    finally:
        engine.stop()
        thread.join(10)
    assert not thread.is_alive()


def test_doctor_lists_codex_homes_and_keeps_claude_facts_apart(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    env = {**ENV_BASE, "HOME": str(home), "CTXTOP_CONFIG_DIR": str(tmp_path / "config")}
    proc = subprocess.run(
        [sys.executable, "-m", "ctxtop", "doctor", "--json", "--codex-dir", str(CODEX_HOME),
         "--claude-dir", str(tmp_path / "no-claude"), "--api-logs", str(tmp_path / "no-api"),
         "--data-dir", str(tmp_path / "data")],
        env=env, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout)
    [codex] = report["codex_homes"]
    assert codex["dir"] == str(CODEX_HOME) and codex["rollouts"] == len(
        list(CODEX_HOME.rglob("rollout-*.jsonl"))
    )
    assert report["claude_code"]["version"] is None  # Codex's CLI version is not Claude Code's
    rows = {c["model"]: c for c in report["compaction"]}
    assert rows["gpt-5-codex"]["source"] == "codex" and rows["gpt-5-codex"]["context_window"] == 258400
    assert (
        rows["gpt-5-codex"]["threshold_applies"] is False and rows["gpt-5-codex"]["compact_at_tokens"] is None
    )


@pytest.mark.parametrize(
    "command", [["notes", A, "--pin", "keep this"], ["report", "context", A]], ids=["notes", "report-context"]
)
def test_claude_only_commands_refuse_a_codex_session(tmp_path: Path, command: list[str]) -> None:
    home = tmp_path / "home"
    home.mkdir()
    data = tmp_path / "data"
    env = {**ENV_BASE, "HOME": str(home), "CTXTOP_CONFIG_DIR": str(tmp_path / "config"),
           "CTXTOP_DATA_DIR": str(data)}  # fmt: skip
    proc = subprocess.run(
        [sys.executable, "-m", "ctxtop", *command, "--codex-dir", str(CODEX_HOME),
         "--claude-dir", str(tmp_path / "no-claude"), "--api-logs", str(tmp_path / "no-api"),
         "--data-dir", str(data)],
        env=env, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    # Both find the session in the index (the one session lookup) and refuse it with the reason.
    assert "Codex compacts by itself" in proc.stderr and "for Claude Code sessions" in proc.stderr
    notes = data / "notes"
    assert not notes.exists() or not any(notes.iterdir())  # nothing written for it
