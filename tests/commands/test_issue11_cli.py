"""The CLI as a newcomer meets it (issue 11): session ids as ctxtop shows them, and the wording."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.support.fixtures import scenario

REFACTOR = scenario("refactor")


def ctxtop(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ctxtop", *args], capture_output=True, text=True, timeout=60,
                          env={**os.environ, **(env or {})}, stdin=subprocess.DEVNULL)  # fmt: skip


def test_notes_takes_the_short_id_ctxtop_shows_and_the_source_options(
    tmp_path: Path, claude_fixtures: Path
) -> None:
    # Item 8: `ctxtop notes 2d2c09b6` said "no notes and no transcript found" and --claude-dir was refused.
    claude = tmp_path / "elsewhere"
    shutil.copytree(claude_fixtures, claude)
    short = REFACTOR.session_id[:8]
    done = ctxtop("notes", short, "--claude-dir", str(claude), "--cache-dir", str(tmp_path / "cache"))
    assert done.returncode == 0, done.stderr
    assert "Refactor inventory records to dataclasses" in done.stdout
    assert REFACTOR.session_id in done.stderr  # the header names the full id
    pinned = ctxtop("notes", short, "--claude-dir", str(claude), "--pin", "Keep the CLI flags")
    assert pinned.returncode == 0 and "- Keep the CLI flags" in pinned.stdout
    # A prefix two sessions share is refused with both named; one nobody has says where it looked.
    twin = claude / "projects" / "p" / f"{REFACTOR.session_id[:4]}ffff-0000-0000-0000-000000000000.jsonl"
    twin.parent.mkdir()
    twin.write_text("")
    ambiguous = ctxtop("notes", REFACTOR.session_id[:4], "--claude-dir", str(claude))
    assert ambiguous.returncode == 1 and "matches 2 sessions" in ambiguous.stderr
    missing = ctxtop("notes", "zz99", "--claude-dir", str(claude))
    assert missing.returncode == 1 and "no session id starts with 'zz99'" in missing.stderr
    assert str(claude) in missing.stderr


def test_report_wording_empty_filters_cut_columns_and_headers(tmp_path: Path, claude_fixtures: Path) -> None:
    # Item 12: filters that match nothing said "No sessions found. Run ctxtop doctor" (doctor would find
    # everything fine); PROJECT and MODEL were cut without an ellipsis; the noise report had lower-case headers.
    claude = tmp_path / "claude"
    shutil.copytree(claude_fixtures, claude)
    # A session whose cwd is longer than the PROJECT column.
    long_cwd = "/home/someone/projects/spotter-worktrees/spotter-dov-with-a-long-name"
    src = claude / REFACTOR.relpath()
    src.write_text(src.read_text().replace(REFACTOR.cwd, long_cwd))
    common = ["--claude-dir", str(claude), "--cache-dir", str(tmp_path / "cache")]
    nomatch = ctxtop("report", "sessions", "--project", "nomatch", *common)
    assert nomatch.returncode == 0 and nomatch.stdout.strip() == "No sessions match --project nomatch."
    inverted = ctxtop("report", "daily", "--since", "2026-12-10", "--until", "2026-12-01", *common)
    assert inverted.stdout.strip() == "Nothing to show: --since 2026-12-10 is after --until 2026-12-01."
    assert "doctor" not in nomatch.stdout + inverted.stdout
    table = ctxtop("report", "sessions", *common).stdout.splitlines()
    assert table[0].split()[:3] == ["SESSION", "PROJECT", "MODEL"]
    row = next(line for line in table if line.startswith(REFACTOR.session_id[:8]))
    project = row.split()[1]
    assert project.startswith("…") and long_cwd.endswith(project[1:]) and len(project) == 36
    noise = ctxtop("report", "noise", *common).stdout
    assert "SESSION" in noise and "REMOVED TOK" in noise and "session " not in noise


def test_a_threshold_out_of_range_says_the_range(tmp_path: Path) -> None:
    done = ctxtop(
        "claude", "install", "--threshold", "0", "--dry-run", "--settings", str(tmp_path / "s.json")
    )
    assert done.returncode != 0
    assert "--threshold 0: must be between 5 and 95" in done.stderr and "got 0" not in done.stderr


def test_notes_on_a_warm_index_still_find_a_session_it_has_not_seen(
    tmp_path: Path, claude_fixtures: Path
) -> None:
    # `ctxtop notes` finds sessions and transcripts in the index (the one lookup), refreshed first: a session
    # started since the index was last brought up to date is found too.
    claude = tmp_path / "claude"
    shutil.copytree(claude_fixtures, claude)
    common = ["--claude-dir", str(claude), "--cache-dir", str(tmp_path / "cache")]
    assert ctxtop("report", "sessions", *common).returncode == 0  # the index knows the fixtures now
    new_id = "feedbeef-0000-4000-8000-000000000001"
    src = claude / REFACTOR.relpath()
    (src.parent / f"{new_id}.jsonl").write_text(src.read_text().replace(REFACTOR.session_id, new_id))
    done = ctxtop("notes", "feedbeef", *common)
    assert done.returncode == 0, done.stderr
    assert new_id in done.stderr and "Refactor inventory records to dataclasses" in done.stdout
    known = ctxtop("notes", REFACTOR.session_id[:8], *common)
    assert known.returncode == 0 and REFACTOR.session_id in known.stderr
