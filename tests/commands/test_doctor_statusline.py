"""`ctxtop doctor` and `ctxtop statusline` as users run them (subprocesses on real transcripts)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

from tests.support.fixtures import api_tokens, rereads, scenario

REFACTOR = scenario("refactor")


def _run(args: list[str], stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ctxtop", *args], input=stdin, capture_output=True, text=True, timeout=60,
        env={**os.environ, "CTXTOP_STATUSLINE_BUDGET": "30"},  # figures here, speed in test_statusline_budget
    )  # fmt: skip


def test_doctor_reports_malformed_lines_and_compaction(tmp_path: Path, claude_fixtures: Path) -> None:
    claude = tmp_path / "claude"
    shutil.copytree(claude_fixtures, claude)
    transcript = claude / REFACTOR.relpath()
    with open(transcript, "ab") as fh:
        fh.write(b"{broken\n")
    (claude / "settings.json").write_text(json.dumps({"env": {"CLAUDE_AUTOCOMPACT_PCT_OVERRIDE": "60"}}))
    out = _run(["doctor", "--json", "--claude-dir", str(claude), "--cache-dir", str(tmp_path / "c")])
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["malformed"] == [{"path": str(transcript), "malformed_lines": 1}]
    assert report["index"]["sessions"] == 3
    # Claude Code 2.1.197 wrote these sessions with its default model, claude-opus-4-8, which it runs with
    # 1M: 60% of (1,000,000 - 20,000) = 588,000, below the default 967,000. (The session that ran to 985K
    # without compacting shows no proactive point.)
    [opus] = [c for c in report["compaction"] if c["compact_at_tokens"] is not None]
    assert (opus["model"], opus["window"], opus["compact_at_tokens"], opus["pct_override"]) == (
        "claude-opus-4-8",
        1_000_000,
        588_000,
        60.0,
    )
    assert opus["context_window_source"] == "Claude Code 2.1.197 default model claude-opus-4-8"
    assert report["claude_code"] == {"version": "2.1.197", "verified": True,
                                     "verified_versions": ["2.1.197", "2.1.332"], "warning": None}  # fmt: skip
    text = _run(["doctor", "--claude-dir", str(claude), "--cache-dir", str(tmp_path / "c")])
    assert "Malformed lines (skipped):" in text.stdout and "compacts at 588,000" in text.stdout
    assert "Claude Code version: 2.1.197 (verified)" in text.stdout


def test_doctor_warns_on_an_unverified_version_and_reads_its_compaction_settings(
    tmp_path: Path, claude_fixtures: Path
) -> None:
    # What `/autocompact 300000` persists (measured on 2.1.332), beside the two switches that do not move
    # the point. 2.1.197 has no modelSettings: on the fixtures as written the per-model window is ignored.
    claude = tmp_path / "claude"
    shutil.copytree(claude_fixtures, claude)
    settings = {"autoCompactWindow": 150_000, "precomputeCompactionEnabled": False,
                "modelSettings": {"claude-opus-4-8": {"autoCompactWindow": 300_000}}}  # fmt: skip
    (claude / "settings.json").write_text(json.dumps(settings))
    args = ["doctor", "--json", "--claude-dir", str(claude), "--cache-dir", str(tmp_path / "c")]
    report = json.loads(_run(args).stdout)
    points = {c["compact_at_tokens"] for c in report["compaction"]} - {None}
    assert points == {117_000}, report["compaction"]
    [entry] = [c for c in report["compaction"] if c["compact_at_tokens"]]
    assert entry["window_source"] == f"settings autoCompactWindow ({claude / 'settings.json'})"
    switches = {sw["setting"]: sw for sw in entry["switches"]}
    assert switches["precomputeCompactionEnabled"]["value"] is False
    assert switches["precomputeCompactionEnabled"]["source"] == str(claude / "settings.json")
    assert switches["idleCompaction"]["applies"] is False  # 2.1.197 has no idle compaction

    # The same transcripts as written by a newer, unverified Claude Code: warned, and modelSettings read.
    for path in claude.rglob("*.jsonl"):
        path.write_text(path.read_text().replace('"version":"2.1.197"', '"version":"2.1.400"'))
    report = json.loads(_run([*args[:-2], "--cache-dir", str(tmp_path / "c2")]).stdout)
    cc = report["claude_code"]
    assert cc["version"] == "2.1.400" and not cc["verified"]
    assert cc["warning"] == ("ctxtop's window and compaction rule are not verified for Claude Code 2.1.400 "
                             "(verified: 2.1.197, 2.1.332); using 2.1.332's")  # fmt: skip
    points = {c["compact_at_tokens"] for c in report["compaction"]} - {None}
    assert points == {267_000}, report["compaction"]
    [entry] = [c for c in report["compaction"] if c["compact_at_tokens"]]
    assert "modelSettings.claude-opus-4-8.autoCompactWindow" in entry["window_source"]
    assert {sw["setting"]: sw["applies"] for sw in entry["switches"]} == {
        "precomputeCompactionEnabled": True, "idleCompaction": True}  # fmt: skip
    text = _run(["doctor", "--claude-dir", str(claude), "--cache-dir", str(tmp_path / "c2")]).stdout
    assert "warning: ctxtop's window and compaction rule are not verified for Claude Code 2.1.400" in text
    assert "precomputeCompactionEnabled: off, " in text and "idleCompaction: on — " in text


def test_statusline_shows_fill_room_rereads_and_cost(tmp_path: Path, claude_fixtures: Path) -> None:
    claude = tmp_path / "claude"
    shutil.copytree(claude_fixtures, claude)
    payload = {
        "session_id": REFACTOR.session_id,
        "transcript_path": str(claude / REFACTOR.relpath()),
        "model": {"id": "claude-opus-4-8", "display_name": "Opus"},
        "cwd": REFACTOR.cwd,
        "version": "2.1.197",
        # What Claude Code 2.1.197 sends for `--model claude-opus-4-8`: a 200K window.
        "context_window": {"context_window_size": 200_000, "used_percentage": 28},
    }
    out = _run(["statusline", f"--cache-dir={tmp_path / 'c'}"], json.dumps(payload))
    assert out.returncode == 0
    # Recomputed from the raw lines and the fake API's bill: fill of the reported 200K window, room before
    # the 60% threshold (120,000, before Claude Code's default 167,000), re-read share and cost.
    raw = rereads(REFACTOR.path)
    billed = api_tokens(REFACTOR.answers("main"))
    rates = {"input": 5, "output": 25, "cache_read": Decimal("0.5"), "cache_write_5m": Decimal("6.25"),
             "cache_write_1h": 10}  # fmt: skip
    cost = sum(Decimal(billed[k]) * rates[k] for k in rates) / 1_000_000
    tail = f"re-read {raw.reread / raw.prompt * 100:.0f}% · ${cost.quantize(Decimal('0.01'))}"
    want = (
        f"ctx {raw.context / 200_000 * 100:.0f}% · {(120_000 - raw.context) / 1000:.0f}K to compact · {tail}"
    )
    assert out.stdout.strip() == want
    # Without Claude Code's figure the transcript's model is 2.1.197's default, run with 1M (threshold 600K).
    del payload["context_window"]
    out = _run(["statusline", f"--cache-dir={tmp_path / 'c'}"], json.dumps(payload))
    want = f"ctx {raw.context / 1_000_000 * 100:.0f}% · {(600_000 - raw.context) / 1000:.0f}K to compact · {tail}"
    assert out.stdout.strip() == want


def test_statusline_fails_soft(tmp_path: Path) -> None:
    out = _run(["statusline"], "not json")
    assert out.returncode == 0
    assert out.stdout.startswith("ctxtop:") and "Traceback" not in out.stdout + out.stderr
    out = _run(["statusline"], json.dumps({"transcript_path": str(tmp_path / "missing.jsonl")}))
    assert out.returncode == 0 and out.stdout.startswith("ctxtop:")


def test_doctor_reports_broken_filter_rules_and_installed_entries(
    tmp_path: Path, claude_fixtures: Path
) -> None:
    claude = tmp_path / "claude"
    shutil.copytree(claude_fixtures, claude)
    rules = Path(os.environ["CTXTOP_CONFIG_DIR"]) / "filters"
    rules.mkdir(parents=True)
    (rules / "mine.toml").write_text("[[rule]\nname = 'x'\n")
    settings = claude / "settings.json"
    settings.write_text("{}")
    installed = _run(["claude", "install", "--settings", str(settings), "--statusline"])
    assert installed.returncode == 0, installed.stderr
    out = _run(["doctor", "--json", "--claude-dir", str(claude), "--cache-dir", str(tmp_path / "c")])
    report = json.loads(out.stdout)
    assert (
        len(report["filter_rules"]["problems"]) == 1 and "mine.toml" in report["filter_rules"]["problems"][0]
    )
    [entry] = [h for h in report["installed"] if h["path"] == str(settings)]
    assert entry["ctxtop_entries"] == ["pre-compact", "session-start", "statusline"]
