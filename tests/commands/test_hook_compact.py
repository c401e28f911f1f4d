"""``ctxtop hook pre-compact`` / ``session-start`` and ``ctxtop notes``, run as Claude Code runs them."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.fixtures import scenario

REFACTOR = scenario("refactor")
SPOTTER = "projects/-home-USER-projects-spotter-worktrees-spotter-dov"
SESSION = REFACTOR.session_id


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "CTXTOP_DATA_DIR": str(tmp_path / "data"),
        "CTXTOP_CONFIG_DIR": str(tmp_path / "config"),
        "CLAUDE_CONFIG_DIR": str(tmp_path / "claude"),
    }


@pytest.fixture
def transcript(tmp_path: Path) -> Path:
    path = tmp_path / "claude" / "projects" / "-tmp-proj" / f"{SESSION}.jsonl"
    path.parent.mkdir(parents=True)
    shutil.copy(REFACTOR.path, path)
    return path


def ctxtop(env: dict[str, str], *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ctxtop", *args],
        input=stdin,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )


def pre_compact_payload(transcript: Path, trigger: str = "auto") -> str:
    return json.dumps(
        {
            "session_id": SESSION,
            "transcript_path": str(transcript),
            "cwd": REFACTOR.cwd,
            "permission_mode": "default",
            "hook_event_name": "PreCompact",
            "trigger": trigger,
            "custom_instructions": "",
        }
    )


def session_start_payload(transcript: Path, source: str = "compact") -> str:
    return json.dumps(
        {
            "session_id": SESSION,
            "transcript_path": str(transcript),
            "cwd": REFACTOR.cwd,
            "hook_event_name": "SessionStart",
            "source": source,
        }
    )


def test_pre_compact_prints_instructions_and_stores_private_notes(env, transcript, tmp_path) -> None:
    done = ctxtop(env, "hook", "pre-compact", stdin=pre_compact_payload(transcript))
    assert done.returncode == 0 and done.stderr == ""
    out = done.stdout
    assert "The summary must keep these facts" in out
    assert "[pending] #1 Refactor inventory records to dataclasses" in out
    assert "src/inventory/models.py (edited)" in out and "CHANGELOG.md (created)" in out
    assert "Thanks. Add a CHANGELOG entry for this work." in out
    notes = tmp_path / "data" / "notes" / f"{SESSION}.md"
    assert notes.stat().st_mode & 0o777 == 0o600
    assert notes.parent.stat().st_mode & 0o777 == 0o700
    assert notes.read_text() in out


def test_session_start_after_compaction_returns_additional_context(env, transcript) -> None:
    done = ctxtop(env, "hook", "session-start", stdin=session_start_payload(transcript))
    assert done.returncode == 0
    reply = json.loads(done.stdout)
    assert reply["hookSpecificOutput"]["hookEventName"] == "SessionStart"
    context = reply["hookSpecificOutput"]["additionalContext"]
    assert "Refactor inventory records to dataclasses" in context and "models.py" in context


@pytest.mark.parametrize("source", ["startup", "resume", "clear"])
def test_session_start_other_sources_say_nothing(env, transcript, source) -> None:
    done = ctxtop(env, "hook", "session-start", stdin=session_start_payload(transcript, source))
    assert (done.returncode, done.stdout) == (0, "")


@pytest.mark.parametrize("event", ["pre-compact", "session-start"])
@pytest.mark.parametrize(
    "stdin",
    [
        "",
        "garbage{",
        "[1, 2]",
        '{"session_id": 5}',
        '{"source": "compact"}',
        '{"session_id": "s", "transcript_path": "/nonexistent", "source": "compact"}',
    ],
)
def test_fails_open(env, event, stdin) -> None:
    done = ctxtop(env, "hook", event, stdin=stdin)
    assert (done.returncode, done.stdout) == (0, "")


def test_notes_are_the_newest_state_not_a_snapshot(env, transcript) -> None:
    assert ctxtop(env, "hook", "pre-compact", stdin=pre_compact_payload(transcript)).returncode == 0
    # Work continues after the PreCompact hook: a new task appears before SessionStart runs.
    with transcript.open("a") as fh:
        fh.write(
            json.dumps(
                {
                    "type": "assistant",
                    "sessionId": SESSION,
                    "message": {
                        "content": [
                            {
                                "type": "tool_use",
                                "id": "toolu_new",
                                "name": "TaskCreate",
                                "input": {"subject": "Write the docs"},
                            }
                        ]
                    },
                }
            )
            + "\n"
        )
        fh.write('{"type": "user", "message": {"content": [{"type": "tool_res')  # a line still being written
    done = ctxtop(env, "hook", "session-start", stdin=session_start_payload(transcript))
    assert "Write the docs" in json.loads(done.stdout)["hookSpecificOutput"]["additionalContext"]


def test_session_start_falls_back_to_stored_notes(env, transcript) -> None:
    assert ctxtop(env, "hook", "pre-compact", stdin=pre_compact_payload(transcript)).returncode == 0
    transcript.unlink()
    done = ctxtop(env, "hook", "session-start", stdin=session_start_payload(transcript))
    assert "Refactor inventory records" in json.loads(done.stdout)["hookSpecificOutput"]["additionalContext"]


def test_pinned_lines_survive_and_notes_command(env, transcript) -> None:
    assert ctxtop(env, "notes").returncode == 1  # nothing yet
    assert ctxtop(env, "hook", "pre-compact", stdin=pre_compact_payload(transcript)).returncode == 0
    pinned = ctxtop(env, "notes", SESSION, "--pin", "Never change the public CLI flags")
    assert pinned.returncode == 0 and "pinned: Never change" in pinned.stderr
    assert "- Never change the public CLI flags" in pinned.stdout
    out = ctxtop(env, "hook", "pre-compact", stdin=pre_compact_payload(transcript)).stdout
    assert "- Never change the public CLI flags" in out
    latest = ctxtop(env, "notes")  # the most recent session by default
    assert latest.returncode == 0 and "Never change the public CLI flags" in latest.stdout
    assert "not pinned" in ctxtop(env, "notes", SESSION, "--unpin", "something else").stderr
    assert (
        "Never change"
        not in ctxtop(env, "notes", SESSION, "--unpin", "Never change the public CLI flags").stdout
    )


def test_notes_command_finds_the_transcript_in_the_claude_config_dir(env, transcript) -> None:
    done = ctxtop(env, "notes", SESSION)
    assert done.returncode == 0 and "Refactor inventory records to dataclasses" in done.stdout
    assert ctxtop(env, "notes", "no-such-session").returncode == 1


def test_large_real_transcript_within_the_hook_budget(env, tmp_path, public_corpus) -> None:
    source = next((public_corpus / SPOTTER).glob("*.jsonl"))
    start = time.perf_counter()
    payload = json.dumps({"session_id": "big", "transcript_path": str(source), "trigger": "auto"})
    done = ctxtop(env, "hook", "pre-compact", stdin=payload)
    elapsed = time.perf_counter() - start
    assert done.returncode == 0 and "<ctxtop-notes>" in done.stdout
    assert elapsed < 1.0, elapsed
    assert len((tmp_path / "data" / "notes" / "big.md").read_bytes()) <= 2048


def test_giant_transcripts_are_read_from_the_tail(tmp_path) -> None:
    from ctxtop.sources.claude_code import notes as claude_notes

    path = tmp_path / "t.jsonl"
    old = json.dumps({"type": "user", "message": {"content": "old request"}}) + "\n"
    new = json.dumps({"type": "user", "message": {"content": "new request"}}) + "\n"
    path.write_text(old * 50 + new)
    requests = [r["message"]["content"] for r in claude_notes.iter_transcript(path, max_bytes=len(new) + 10)]
    assert requests == ["new request"]
