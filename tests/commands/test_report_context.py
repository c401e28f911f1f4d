"""``ctxtop report context SESSION``: the breakdown as a user gets it, from the real CLI over real transcripts."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

from ctxtop.adapters.index import Index
from ctxtop.sources.claude_code.source import ClaudeCode
from ctxtop.sources.registry import Sources
from tests.support.fixtures import rereads, scenario

REFACTOR = scenario("refactor")


def _ctxtop(tmp_path: Path, *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "CTXTOP_DATA_DIR": str(tmp_path / "data"),
        "CTXTOP_CACHE_DIR": str(tmp_path / "cache"),
    }
    proc = subprocess.run([sys.executable, "-m", "ctxtop", *args], capture_output=True, text=True, env=env,
                          timeout=60)  # fmt: skip
    assert (proc.returncode == 0) == ok, proc.stderr
    return proc


def test_json_sums_to_the_prompt_and_to_the_session_rereads(tmp_path: Path, claude_fixtures: Path) -> None:
    prefix = REFACTOR.session_id[:8]
    doc = json.loads(_ctxtop(tmp_path, "report", "context", prefix, "--json", "--claude-dir",
                             str(claude_fixtures)).stdout)  # fmt: skip
    want = rereads(REFACTOR.path)
    assert doc["session_id"] == REFACTOR.session_id
    assert doc["context_tokens"] == want.context == sum(doc["by_kind"].values())
    assert doc["reread_tokens"] == want.reread
    assert sum(Decimal(i["reread_cost_usd"]) for i in doc["items"]) == Decimal(doc["reread_cost_usd"])
    assert sum(Decimal(g["reread_cost_usd"]) for g in doc["groups"]) == Decimal(doc["reread_cost_usd"])
    index = Index(tmp_path / "i.sqlite3")
    index.update(Sources((ClaudeCode((claude_fixtures,)),)))
    [stats] = index.sessions(ids=[REFACTOR.session_id])
    assert Decimal(doc["reread_cost_usd"]) == stats.main_reread_cost > 0
    assert "summary" in doc["by_kind"]  # the session compacted: its summary is in the window now


def test_text_and_csv(tmp_path: Path, claude_fixtures: Path) -> None:
    args = ("report", "context", REFACTOR.session_id, "--claude-dir", str(claude_fixtures))
    text = _ctxtop(tmp_path, *args).stdout
    assert text.splitlines()[1].startswith("context ") and "costliest items" in text and "per tool" in text
    rows = list(csv.DictReader(io.StringIO(_ctxtop(tmp_path, *args, "--csv").stdout)))
    assert rows and {"kind", "group", "label", "reread_cost_usd"} <= set(rows[0])


def test_unknown_and_ambiguous_sessions_say_so(tmp_path: Path, claude_fixtures: Path) -> None:
    proc = _ctxtop(tmp_path, "report", "context", "zzzz", "--claude-dir", str(claude_fixtures), ok=False)
    assert "no session id starts with 'zzzz'" in proc.stderr
    proc = _ctxtop(tmp_path, "report", "context", "", "--claude-dir", str(claude_fixtures), ok=False)
    assert "matches 3 sessions" in proc.stderr


def test_labels_cannot_drive_the_terminal(tmp_path: Path, claude_fixtures: Path) -> None:
    # A command with an escape sequence in it: the label keeps its text and loses the control characters.
    src = REFACTOR.path.read_text().replace(
        '"command": "python3 -m pytest', '"command": "\\u001b[2Jpython3 -m pytest'
    )
    src = src.replace('"command":"python3 -m pytest', '"command":"\\u001b[2Jpython3 -m pytest')
    claude = tmp_path / "claude"
    dest = claude / REFACTOR.relpath()
    dest.parent.mkdir(parents=True)
    dest.write_text(src)
    assert "\\u001b[2J" in src
    out = _ctxtop(tmp_path, "report", "context", REFACTOR.session_id, "--claude-dir", str(claude)).stdout
    assert "\x1b" not in out and "[2Jpython3 -m pytest" in out


def test_statusline_segment_shows_the_largest_category_when_switched_on(
    tmp_path: Path, claude_fixtures: Path
) -> None:
    from ctxtop.core.breakdown import build, rough, segment
    from ctxtop.core.pricing import PriceBook
    from ctxtop.sources.claude_code.context import claude_events

    claude = tmp_path / "claude"
    dest = claude / REFACTOR.relpath()
    dest.parent.mkdir(parents=True)
    dest.write_bytes(REFACTOR.path.read_bytes())
    payload = json.dumps({"session_id": REFACTOR.session_id, "transcript_path": str(dest), "version": "2.1.197",
                          "context_window": {"context_window_size": 200_000, "used_percentage": 28}})  # fmt: skip
    env = {**os.environ, "CTXTOP_STATUSLINE_BUDGET": "30"}

    def line() -> str:
        proc = subprocess.run([sys.executable, "-m", "ctxtop", "statusline", f"--cache-dir={tmp_path / 'c'}"],
                              input=payload, capture_output=True, text=True, env=env, timeout=60)  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        return proc.stdout.strip()

    off = line()
    config = Path(os.environ["CTXTOP_CONFIG_DIR"])
    config.mkdir(parents=True, exist_ok=True)
    (config / "config.toml").write_text('[statusline]\nbreakdown = "on"\n')
    # (The status line weighs pieces at four characters a token: it cannot afford to load tiktoken.)
    events = claude_events([json.loads(x) for x in dest.read_text().splitlines()])
    want = segment(build(events, PriceBook(), count=rough))
    assert want and want.startswith("Bash ")  # the refactor session's window is mostly test-run outputs
    on = line()
    assert on.startswith(off.rsplit(" · ", 1)[0]) and f" · {want} · " in on
    assert line() == on  # cached on the transcript's size and mtime: the same answer
    cache = Path(os.environ["CTXTOP_CACHE_DIR"]) / "statusline-context.json"
    assert cache.stat().st_mode & 0o777 == 0o600


def test_tools_rollup_sums_to_each_projects_rereads(tmp_path: Path, claude_fixtures: Path) -> None:
    args = ("report", "tools", "--json", "--claude-dir", str(claude_fixtures))
    rows = json.loads(_ctxtop(tmp_path, *args).stdout)
    index = Index(tmp_path / "i.sqlite3")
    index.update(Sources((ClaudeCode((claude_fixtures,)),)))
    by_project: dict[str, Decimal] = {}
    for s in index.sessions():
        by_project[s.cwd or "?"] = by_project.get(s.cwd or "?", Decimal(0)) + s.main_reread_cost
    got: dict[str, Decimal] = {}
    for r in rows:
        got[r["project"]] = got.get(r["project"], Decimal(0)) + Decimal(r["reread_cost_usd"])
    assert got == by_project and len(got) == 3
    # The costliest row of the noisy project is a Bash output; the second run reads the cache, same rows.
    noisy = [r for r in rows if r["project"] == scenario("noisy").cwd]
    assert noisy[0]["reread_cost_usd"] >= noisy[-1]["reread_cost_usd"]
    assert json.loads(_ctxtop(tmp_path, *args).stdout) == rows
    cache = tmp_path / "cache" / "context-groups.json"  # (the CTXTOP_CACHE_DIR _ctxtop sets)
    assert cache.stat().st_mode & 0o777 == 0o600
    text = _ctxtop(tmp_path, "report", "tools", "--claude-dir", str(claude_fixtures)).stdout
    assert "costs you most in re-reads" in text


def test_compactions_report_and_a_deleted_transcript(tmp_path: Path, claude_fixtures: Path) -> None:
    claude = tmp_path / "claude"
    dest = claude / REFACTOR.relpath()
    dest.parent.mkdir(parents=True)
    dest.write_bytes(REFACTOR.path.read_bytes())
    text = _ctxtop(tmp_path, "report", "compactions", "--claude-dir", str(claude)).stdout
    assert "kept 2 of 3" in text and "lost task: Refactor inventory records to dataclasses" in text
    [doc] = json.loads(
        _ctxtop(tmp_path, "report", "compactions", "--json", "--claude-dir", str(claude)).stdout
    )
    assert doc["session_id"] == REFACTOR.session_id and doc["compactions"][0]["lost_open_tasks"]
    # Claude Code's cleanup deleted the transcript: the index keeps the totals, the breakdown says why not.
    dest.unlink()
    proc = _ctxtop(tmp_path, "report", "context", REFACTOR.session_id, "--claude-dir", str(claude), ok=False)
    assert "has no main transcript on disk" in proc.stderr
