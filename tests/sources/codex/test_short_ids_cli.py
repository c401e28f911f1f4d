"""Codex sessions started together: the short ids ctxtop shows tell them apart and are accepted back."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from ctxtop.core.session_ids import short_ids

CLI_DAY = Path(__file__).parents[2] / "fixtures" / "codex" / "sessions" / "2026" / "12" / "02"


def ctxtop(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ctxtop", *args], capture_output=True, text=True, timeout=60,
                          env=dict(os.environ), stdin=subprocess.DEVNULL)  # fmt: skip


def test_sessions_started_within_seconds_show_and_take_distinct_short_ids(tmp_path: Path) -> None:
    # The real Codex CLI's three sessions of one run: their UUIDv7 ids share the first 8 characters, so the
    # report showed "01a23458" three times and that short id named none of them.
    home = tmp_path / "codex"
    shutil.copytree(CLI_DAY, home / "sessions" / "2026" / "12" / "02")
    ids = [p.stem[-36:] for p in sorted(CLI_DAY.glob("rollout-*.jsonl"))]
    assert len(ids) == 3 and len({i[:8] for i in ids}) == 1
    common = ["--codex-dir", str(home), "--claude-dir", str(tmp_path / "no-claude"), "--cache-dir",
              str(tmp_path / "cache")]  # fmt: skip
    table = ctxtop("report", "sessions", *common)
    assert table.returncode == 0, table.stderr
    shown = [line.split()[0] for line in table.stdout.splitlines()[1:] if not line.startswith("TOTAL")]
    assert sorted(shown) == sorted(short_ids(ids).values()) and len(set(shown)) == 3
    for sid, short in short_ids(ids).items():
        # Resolved to the full id (which then says what a Codex session does not have).
        context = ctxtop("report", "context", short, *common)
        assert f"session {sid}: Codex compacts by itself" in context.stderr, context.stderr
    # The shared head is refused as naming three sessions, not taken as one of them.
    shared = ctxtop("report", "context", ids[0][:8], *common)
    assert shared.returncode == 1 and "matches 3 sessions" in shared.stderr
