"""``ctxtop statusline``'s fast path: an unchanged transcript is answered from the last render's cache.

Run as Claude Code runs it (``<python> -m ctxtop statusline``) on a copy of a real fixture session; which path
answered is read from ``-X importtime`` (the cached answer never imports ctxtop.cli, sqlite3 or pricing).
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

from tests.support.fixtures import FIXTURES, scenario

REFACTOR = scenario("refactor")


def _world(tmp_path: Path) -> tuple[Path, dict]:
    claude = tmp_path / "claude"
    shutil.copytree(FIXTURES, claude)
    transcript = claude / REFACTOR.relpath()
    lines = transcript.read_bytes().splitlines(keepends=True)
    transcript.write_bytes(b"".join(lines[: len(lines) // 2]))
    payload = {"session_id": REFACTOR.session_id, "transcript_path": str(transcript),
               "rate_limits": {"five_hour": {"used_percentage": 10, "resets_at": 4_000_000_000}}}  # fmt: skip
    return transcript, payload


def _run(tmp_path: Path, payload: dict, *extra: str) -> tuple[str, set[str]]:
    env = {**os.environ, "CTXTOP_DATA_DIR": str(tmp_path / "data"), "CTXTOP_CONFIG_DIR": str(tmp_path / "cfg"),
           "CTXTOP_CACHE_DIR": str(tmp_path / "cache"), "CTXTOP_STATUSLINE_BUDGET": "30"}  # fmt: skip
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "ctxtop", "statusline", *extra],
                          input=json.dumps(payload), capture_output=True, text=True, env=env, timeout=60)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    modules = {ln.split("|")[-1].strip() for ln in proc.stderr.splitlines() if ln.startswith("import time:")}
    return proc.stdout.rstrip("\n"), modules


def test_an_unchanged_transcript_is_answered_from_the_cache_with_this_refreshs_limits(tmp_path: Path) -> None:
    transcript, payload = _world(tmp_path)
    first, slow = _run(tmp_path, payload)
    assert "ctxtop.cli" in slow and "5h 10%" in first and "re-read" in first
    cache = tmp_path / "data" / "statusline" / f"{REFACTOR.session_id}.json"
    assert stat.S_IMODE(cache.stat().st_mode) == 0o600
    assert stat.S_IMODE(cache.parent.stat().st_mode) == 0o700

    observed = tmp_path / "data" / "observed" / f"{REFACTOR.session_id}.json"
    before = json.loads(observed.read_text())["observed_at"]
    payload["rate_limits"]["five_hour"]["used_percentage"] = 55  # another session used the plan meanwhile
    second, fast = _run(tmp_path, payload)
    assert not {"ctxtop.cli", "sqlite3", "ctxtop.commands.statusline", "pathlib", "argparse"} & fast, fast
    assert second == first.replace("5h 10%", "5h 55%")
    # Claude Code's report is kept on the fast path too.
    kept = json.loads(observed.read_text())
    assert kept["observed_at"] > before and kept["rate_limits"]["five_hour"]["used_percentage"] == 55

    # One more line in the transcript: the session is updated, the figures move, the cache follows.
    full = (FIXTURES / REFACTOR.relpath()).read_bytes()
    transcript.write_bytes(full)
    third, slow = _run(tmp_path, payload)
    assert "ctxtop.cli" in slow and third != second
    fourth, fast = _run(tmp_path, payload)
    assert "ctxtop.cli" not in fast and fourth == third


def test_what_the_render_depends_on_invalidates_the_cache(tmp_path: Path) -> None:
    transcript, payload = _world(tmp_path)
    first, _ = _run(tmp_path, payload)
    # Claude Code now reports a window: the render uses it, so the cached line is not served.
    windowed = {**payload, "context_window": {"context_window_size": 1_000_000, "used_percentage": 3}}
    _, modules = _run(tmp_path, windowed)
    assert "ctxtop.cli" in modules
    # A settings file the compaction point comes from appears.
    (tmp_path / "claude" / "settings.json").write_text('{"env": {"CLAUDE_AUTOCOMPACT_PCT_OVERRIDE": "50"}}')
    _, modules = _run(tmp_path, windowed)
    assert "ctxtop.cli" in modules
    # A different --then command, or an option the fast path does not parse, goes the full way.
    _, modules = _run(tmp_path, windowed, "--then", "echo mine")
    assert "ctxtop.cli" in modules
    line, modules = _run(tmp_path, windowed, "--then", "echo mine")
    assert "ctxtop.cli" not in modules and line.startswith("mine · ctx ")


def test_a_foreign_or_symlinked_cache_is_never_read(tmp_path: Path) -> None:
    transcript, payload = _world(tmp_path)
    _run(tmp_path, payload)
    cache = tmp_path / "data" / "statusline" / f"{REFACTOR.session_id}.json"
    planted = tmp_path / "planted.json"
    planted.write_text(cache.read_text().replace("re-read", "PLANTED"))
    cache.unlink()
    cache.symlink_to(planted)
    line, modules = _run(tmp_path, payload)
    assert "PLANTED" not in line and "ctxtop.cli" in modules
    assert not cache.is_symlink()  # replaced by a real render's cache


def test_a_damaged_cache_is_recomputed_not_shown(tmp_path: Path) -> None:
    transcript, payload = _world(tmp_path)
    first, _ = _run(tmp_path, payload)
    cache = tmp_path / "data" / "statusline" / f"{REFACTOR.session_id}.json"
    for damage in (b"{not json", b'{"files": 3, "head": "x"}', b"[]"):
        cache.write_bytes(damage)
        line, modules = _run(tmp_path, payload)
        assert line == first and "ctxtop.cli" in modules
