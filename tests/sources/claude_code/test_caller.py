"""Which session calls the MCP server: the live-session file of an ancestor process, else the environment.

Real files in a scratch config dir and the real process tree (this test process stands in for Claude Code).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from ctxtop.sources.claude_code import caller as cc

ME = os.getpid()


def _live(config: Path, pid: int, session: str, **extra: object) -> Path:
    path = config / "sessions" / f"{pid}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"pid": pid, "sessionId": session, "cwd": "/work/proj", **extra}))
    return path


def test_the_live_session_file_wins_over_the_variable(tmp_path: Path) -> None:
    # After /clear Claude Code keeps the server and its env (the first id) but rewrites its sessions file.
    path = _live(tmp_path, ME, "after-clear", procStart=cc.start_time(ME))
    env = {"CLAUDE_CODE_SESSION_ID": "before-clear", "CLAUDE_PROJECT_DIR": "/work/proj"}
    found = cc.caller(env, ppid=ME, config_dirs=[tmp_path])
    assert (found.session_id, found.how, found.pid, found.project_dir) == (
        "after-clear",
        str(path),
        ME,
        "/work/proj",
    )


def test_an_ancestor_further_up_is_found(tmp_path: Path) -> None:
    """A wrapper between Claude Code and the server (sh -c ...) is looked through."""
    parent = os.getppid()
    _live(tmp_path, parent, "parent-session")
    assert cc.ancestors(ME)[:2] == [ME, parent]
    assert cc.caller({}, ppid=ME, config_dirs=[tmp_path]).session_id == "parent-session"


def test_a_stale_file_of_a_reused_pid_is_ignored(tmp_path: Path) -> None:
    _live(tmp_path, ME, "dead-session", procStart="1")  # recorded by a process that started at another time
    found = cc.caller({"CLAUDE_CODE_SESSION_ID": "live-one"}, ppid=ME, config_dirs=[tmp_path])
    assert (found.session_id, found.how) == ("live-one", "$CLAUDE_CODE_SESSION_ID")


@pytest.mark.parametrize("content", ["{not json", "[]", '{"pid": 1, "sessionId": "x"}', '{"sessionId": ""}'])
def test_damaged_or_foreign_files_fall_back_to_the_variable(tmp_path: Path, content: str) -> None:
    path = tmp_path / "sessions" / f"{ME}.json"
    path.parent.mkdir()
    path.write_text(content)
    assert cc.caller({"CLAUDE_CODE_SESSION_ID": "s1"}, ppid=ME, config_dirs=[tmp_path]).session_id == "s1"


def test_without_claude_code_it_says_so(tmp_path: Path) -> None:
    with pytest.raises(cc.NoCaller, match="CLAUDE_CODE_SESSION_ID is not set"):
        cc.caller({}, ppid=ME, config_dirs=[tmp_path])


def test_parent_of_reads_proc_even_with_odd_command_names() -> None:
    assert cc.parent_of(ME) == os.getppid()
    assert cc.parent_of(2**22 + 12345) is None  # no such process
