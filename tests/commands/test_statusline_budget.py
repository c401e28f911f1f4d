"""``ctxtop statusline`` answers within its budget whatever the input, and keeps what Claude Code reported."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

PAYLOAD = {"session_id": "s-1", "version": "2.1.332", "model": {"id": "claude-opus-5-5"},
           "context_window": {"context_window_size": 1_000_000, "used_percentage": 42},
           "cost": {"total_cost_usd": 1.5},
           "rate_limits": {"five_hour": {"used_percentage": 71.5, "resets_at": 4_000_000_000}}}  # fmt: skip


def _env(tmp_path: Path, budget: str) -> dict[str, str]:
    return {**os.environ, "CTXTOP_DATA_DIR": str(tmp_path / "data"), "CTXTOP_CACHE_DIR": str(tmp_path / "cache"),
            "CTXTOP_STATUSLINE_BUDGET": budget}  # fmt: skip


def _statusline(tmp_path: Path, payload: dict, budget: str = "1") -> tuple[str, float]:
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "ctxtop", "statusline"], input=json.dumps(payload),
                          capture_output=True, text=True, env=_env(tmp_path, budget), timeout=60)  # fmt: skip
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    return proc.stdout.strip(), time.monotonic() - started


def test_a_fifo_transcript_is_never_opened(tmp_path: Path) -> None:
    fifo = tmp_path / "projects" / "p" / "s-1.jsonl"
    fifo.parent.mkdir(parents=True)
    os.mkfifo(fifo)
    line, _ = _statusline(tmp_path, {**PAYLOAD, "transcript_path": str(fifo)})
    # Claude Code's own figures instead.
    assert line == "ctx 42% · $1.50"


def test_slow_stdin_gets_an_answer_before_the_writer_finishes(tmp_path: Path) -> None:
    writer = "import sys, time\nsys.stdout.write('{\"session_id\": '); sys.stdout.flush(); time.sleep(30)\n"
    feeder = subprocess.Popen([sys.executable, "-c", writer], stdout=subprocess.PIPE)
    try:
        started = time.monotonic()
        proc = subprocess.run([sys.executable, "-m", "ctxtop", "statusline"], stdin=feeder.stdout,
                              capture_output=True, text=True, env=_env(tmp_path, "1"), timeout=25)  # fmt: skip
        elapsed = time.monotonic() - started
    finally:
        feeder.kill()
        feeder.wait()
    assert proc.returncode == 0 and proc.stdout.startswith("ctxtop:")
    assert elapsed < 20  # the writer holds stdin open for 30 s


def test_a_huge_first_read_degrades_to_claude_codes_figures(tmp_path: Path) -> None:
    transcript = tmp_path / "projects" / "p" / "s-1.jsonl"
    transcript.parent.mkdir(parents=True)
    line = {"type": "assistant", "sessionId": "s-1", "timestamp": "2026-11-01T00:00:00Z", "requestId": "r",
            "message": {"id": "m", "model": "claude-opus-5-5", "usage": {"input_tokens": 5, "output_tokens": 1},
                        "content": [{"type": "text", "text": "x" * 2000}]}}  # fmt: skip
    with open(transcript, "w") as fh:
        for i in range(15_000):  # ~33 MB: far more than a 0.3 s budget can index
            line["requestId"] = f"r{i}"
            fh.write(json.dumps(line) + "\n")
    out, _ = _statusline(tmp_path, {**PAYLOAD, "transcript_path": str(transcript)}, budget="0.3")
    assert out == "ctx 42% · $1.50"


def test_what_claude_code_reported_is_kept_user_only(tmp_path: Path) -> None:
    _statusline(tmp_path, {**PAYLOAD, "transcript_path": str(tmp_path / "missing.jsonl")})
    folder = tmp_path / "data" / "observed"
    kept = folder / "s-1.json"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700 and stat.S_IMODE(kept.stat().st_mode) == 0o600
    data = json.loads(kept.read_text())
    assert data["context_window"]["context_window_size"] == 1_000_000
    assert data["rate_limits"]["five_hour"]["used_percentage"] == 71.5
    assert data["version"] == "2.1.332" and data["observed_at"] > 0
    assert not [p for p in folder.iterdir() if p.name.startswith(".")]  # no temp file left behind
