"""``ctxtop report limits``: official from what Claude Code reported, else estimated from local usage;
``claude install --statusline`` keeps the user's own statusline command."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path


def _ctxtop(tmp_path: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CTXTOP_DATA_DIR": str(tmp_path / "data"), "CTXTOP_CACHE_DIR": str(tmp_path / "cache"),
           "CTXTOP_STATUSLINE_BUDGET": "30"}  # fmt: skip
    proc = subprocess.run([sys.executable, "-m", "ctxtop", *args], input=stdin, capture_output=True, text=True,
                          env=env, timeout=60)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return proc


def _transcript(claude: Path, now: float) -> Path:
    path = claude / "projects" / "-work-app" / "s-1.jsonl"
    path.parent.mkdir(parents=True)
    lines = []
    for i, ago in enumerate((50 * 60, 20 * 60)):  # two requests in the last hour
        ts = datetime.fromtimestamp(now - ago, UTC).isoformat().replace("+00:00", "Z")
        lines.append({"type": "assistant", "sessionId": "s-1", "cwd": "/work/app", "timestamp": ts,
                      "requestId": f"r{i}", "version": "2.1.332",
                      "message": {"id": f"m{i}", "model": "claude-opus-4-8", "role": "assistant",
                                  "usage": {"input_tokens": 1000, "output_tokens": 200}, "content": []}})  # fmt: skip
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    return path


def test_limits_are_estimated_from_local_usage_until_claude_code_reports_them(tmp_path: Path) -> None:
    claude = tmp_path / "claude"
    now = time.time()
    transcript = _transcript(claude, now)
    report = json.loads(_ctxtop(tmp_path, "report", "limits", "--json", "--claude-dir", str(claude)).stdout)
    assert report["official"] == []
    est = report["estimated"]
    assert est["source"].startswith("estimated") and est["tokens"] == 2400 and est["requests"] == 2
    # opus 4.8 at $5/$25 per million: 2 × (1000 × 5 + 200 × 25) / 1e6 = $0.02.
    assert est["cost_usd"] == "0.0200000000"
    assert est["burn_usd_per_hour"] == "0.0400000000"  # $0.02 over the 30 minutes between the requests
    assert float(est["projected_cost_usd"]) > 0.02
    text = _ctxtop(tmp_path, "report", "limits", "--claude-dir", str(claude)).stdout
    assert "none reported by Claude Code yet" in text and "(estimated)" in text and "at this pace" in text

    # Claude Code reports its limits to the statusline: from then on they are official.
    payload = {"session_id": "s-1", "transcript_path": str(transcript), "version": "2.1.332",
               "rate_limits": {"five_hour": {"used_percentage": 91, "resets_at": now + 3600},
                               "seven_day": {"used_percentage": 40, "resets_at": now + 86400}}}  # fmt: skip
    line = _ctxtop(tmp_path, "statusline", stdin=json.dumps(payload)).stdout
    assert line.rstrip().endswith("5h 91% 7d 40%")
    report = json.loads(_ctxtop(tmp_path, "report", "limits", "--json", "--claude-dir", str(claude)).stdout)
    assert [(w["window"], w["used_pct"]) for w in report["official"]] == [
        ("five_hour", 91),
        ("seven_day", 40),
    ]
    assert report["official"][0]["source"] == "official (reported by Claude Code)"
    assert 58 <= report["official"][0]["resets_in_minutes"] <= 60
    assert report["alerts"] == ["5h limit at 91% (official): past 90%"]
    text = _ctxtop(tmp_path, "report", "limits", "--claude-dir", str(claude)).stdout
    assert re.search(
        r"5-hour limit: 91% used, resets in (0h59m|1h00m) \(official, reported by Claude Code\)", text
    )


def test_install_keeps_the_users_statusline_and_runs_it_first(tmp_path: Path) -> None:
    settings = tmp_path / "settings.json"
    mine = {"type": "command", "command": "echo 'my prompt'", "padding": 1}
    settings.write_text(json.dumps({"statusLine": mine}))
    out = _ctxtop(tmp_path, "claude", "install", "--statusline", "--settings", str(settings)).stdout
    assert "kept your statusLine" in out
    entry = json.loads(settings.read_text())["statusLine"]
    assert entry["padding"] == 1 and entry["command"].endswith("-m ctxtop statusline --then \"echo 'my prompt'\"") or \
        entry["command"].endswith("-m ctxtop statusline --then 'echo '\"'\"'my prompt'\"'\"''")  # fmt: skip
    # What Claude Code runs: the user's output first, ctxtop's segment after it.
    shown = subprocess.run(entry["command"], shell=True, input="{}", capture_output=True, text=True, timeout=60,
                           env={**os.environ, "CTXTOP_DATA_DIR": str(tmp_path / "data")}).stdout  # fmt: skip
    assert shown == "my prompt · ctxtop: no transcript yet\n"
    _ctxtop(tmp_path, "claude", "uninstall", "--settings", str(settings))
    assert json.loads(settings.read_text())["statusLine"] == mine


def _request(path: Path, n: int, when: float, input_tokens: int, output_tokens: int) -> None:
    ts = datetime.fromtimestamp(when, UTC).isoformat().replace("+00:00", "Z")
    line = {"type": "assistant", "sessionId": path.stem, "cwd": "/work/app", "timestamp": ts,
            "requestId": f"r{n}", "version": "2.1.332",
            "message": {"id": f"m{n}", "model": "claude-opus-4-8", "role": "assistant",
                        "usage": {"input_tokens": input_tokens, "output_tokens": output_tokens}, "content": []}}  # fmt: skip
    with path.open("a") as fh:
        fh.write(json.dumps(line) + "\n")


def test_statusline_shows_the_estimated_block_until_claude_code_reports_limits(tmp_path: Path) -> None:
    claude = tmp_path / "claude"
    now = time.time()
    transcript = _transcript(claude, now)  # 2,400 tokens in the current block
    _request(transcript, 9, now - 8 * 3600, 4000, 800)  # an earlier block of 4,800 tokens: the 100%
    payload = json.dumps({"session_id": "s-1", "transcript_path": str(transcript), "version": "2.1.332"})
    line = _ctxtop(tmp_path, "statusline", stdin=payload).stdout.rstrip()
    assert line.endswith(" · 5h 50% est.") and "▲" not in line
    # One more request: 3,600 of 4,800, past [limits] warn_pct (70%): flagged, as `report limits` alerts.
    _request(transcript, 10, now - 5 * 60, 1000, 200)
    line = _ctxtop(tmp_path, "statusline", stdin=payload).stdout.rstrip()
    assert line.endswith(" · ▲ 5h 75% est.")
    report = json.loads(_ctxtop(tmp_path, "report", "limits", "--json", "--claude-dir", str(claude)).stdout)
    assert report["estimated"]["used_pct"] == 75.0 and report["official"] == []
    assert report["alerts"] == ["5h block at 75% of the largest earlier block (estimated): past 70%"]
