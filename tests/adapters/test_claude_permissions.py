"""The wrap hook's gate: wrap only when Claude Code's permission decision and the shell's behaviour cannot change."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ctxtop.adapters import claude_permissions
from ctxtop.adapters.claude_permissions import command_words, relies_on_shell, why_not_wrap


@pytest.fixture(autouse=True)
def _wrap_enabled(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(claude_permissions, "WRAP_DISABLED", None)


WRAPPED = "/usr/bin/python3 -m ctxtop run -- /bin/bash -c 'X'"


def _payload(tmp_path: Path, mode: str = "default", **permissions: list[str]) -> dict:
    config = tmp_path / "claude"
    (config / "projects" / "p").mkdir(parents=True, exist_ok=True)
    if permissions:
        (config / "settings.json").write_text(json.dumps({"permissions": permissions}))
    return {
        "transcript_path": str(config / "projects" / "p" / "s.jsonl"),
        "cwd": str(tmp_path / "project"),
        "permission_mode": mode,
    }


def test_bypass_mode_without_rules_wraps(tmp_path: Path) -> None:
    assert why_not_wrap(_payload(tmp_path, "bypassPermissions"), "make -j4", WRAPPED) is None


def test_default_mode_needs_an_allow_rule_for_all_of_bash(tmp_path: Path) -> None:
    assert why_not_wrap(_payload(tmp_path, "default"), "make -j4", WRAPPED) is not None
    assert (
        why_not_wrap(_payload(tmp_path, "default", allow=["Bash(make:*)"]), "make -j4", WRAPPED) is not None
    )
    assert why_not_wrap(_payload(tmp_path, "default", allow=["Bash"]), "make -j4", WRAPPED) is None


@pytest.mark.parametrize("kind", ["deny", "ask"])
@pytest.mark.parametrize(
    ("rule", "command"),
    [("Bash(rm:*)", "rm victim.txt"), ("Bash(git push *)", "make && git push origin"), ("Bash", "ls"),
     ("Bash(python3:*)", "make"),  # matches the wrapped command (python3 -m ctxtop run ...)
     ],
)  # fmt: skip
def test_deny_and_ask_rules_block_wrapping(tmp_path: Path, kind: str, rule: str, command: str) -> None:
    payload = _payload(tmp_path, "bypassPermissions", allow=["Bash"], **{kind: [rule]})
    reason = why_not_wrap(payload, command, WRAPPED)
    assert reason is not None and rule in reason


def test_project_and_local_rules_count_and_unreadable_settings_block(tmp_path: Path) -> None:
    payload = _payload(tmp_path, "bypassPermissions")
    project = Path(payload["cwd"]) / ".claude"
    project.mkdir(parents=True)
    (project / "settings.local.json").write_text(json.dumps({"permissions": {"deny": ["Bash(curl:*)"]}}))
    assert why_not_wrap(payload, "curl -O x", WRAPPED) is not None
    assert why_not_wrap(payload, "make", WRAPPED) is None
    (project / "settings.json").write_text("{ not json")
    assert why_not_wrap(payload, "make", WRAPPED) is not None


@pytest.mark.parametrize(
    ("command", "relies"),
    [
        ("make 2>&1 | tee log", False),
        ("FOO=1 ls && cd /tmp; ls | grep y", False),
        ("for f in *; do echo $f; done", False),
        ("echo $HOME", False),
        ("my_shell_function arg", True),  # a function or alias of the user's shell
        ("echo $NOT_EXPORTED_ANYWHERE_42", True),
        ("trap 'echo bye' EXIT; cd sub", True),
        ("eval 'cd sub'", True),
        ("source ./env.sh && make", True),
        ("echo 'unbalanced", True),
    ],
)
def test_commands_that_need_the_calling_shell_are_left_alone(command: str, relies: bool) -> None:
    assert relies_on_shell(command) is relies


def test_too_long_commands_are_left_alone(tmp_path: Path) -> None:
    huge = "x" * (65 * 1024)
    assert (
        why_not_wrap(_payload(tmp_path, "bypassPermissions"), "echo hi", huge)
        == "too long to pass as one argument"
    )


def test_command_words_skip_assignments_redirections_and_heredoc_bodies() -> None:
    assert command_words("A=1 B=2 make 2>&1 | tee log && (cd x && ls)") == ["make", "tee", "cd", "ls"]
    assert command_words("cat <<EOF\nrm -rf /\nEOF") == ["cat"]
