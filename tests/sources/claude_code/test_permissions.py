"""The wrap hook's gate: wrap only in sessions where Claude Code runs every command unasked, and only commands
that do not need the calling shell."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ctxtop.sources.claude_code import permissions as cp
from ctxtop.sources.claude_code.permissions import command_words, relies_on_shell, why_not_wrap

WRAPPED = "/usr/bin/python3 -m ctxtop run -- /bin/bash -c 'X'"


@pytest.fixture
def session(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict:
    """A bypassPermissions session with no rules anywhere, started by a plain ``claude -p``."""
    config = tmp_path / "home" / ".claude"
    (config / "projects" / "p").mkdir(parents=True)
    project = tmp_path / "work" / "project"
    (project / "sub").mkdir(parents=True)
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(config))
    monkeypatch.setenv("CLAUDE_PROJECT_DIR", str(project))
    monkeypatch.chdir(project)
    monkeypatch.setattr(cp, "MANAGED_DIRS", (tmp_path / "etc" / "claude-code",))
    monkeypatch.setattr(cp, "claude_argv", lambda: ["claude", "-p", "go"])
    return {
        "transcript_path": str(config / "projects" / "p" / "s.jsonl"),
        "cwd": str(project),
        "permission_mode": "bypassPermissions",
    }


def _rules(path: Path, **permissions: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"permissions": permissions}))


def test_bypass_mode_without_rules_wraps(session: dict) -> None:
    assert why_not_wrap(session, "make -j4", WRAPPED) is None


@pytest.mark.parametrize("mode", ["default", "acceptEdits", "plan", "dontAsk", "auto", None, 3])
def test_only_bypass_mode_wraps_even_with_an_allow_rule_for_all_of_bash(
    session: dict, tmp_path: Path, mode: object
) -> None:
    # With allow ["Bash"] in default mode Claude Code 2.1.197 still asks for writes under .git or .claude.
    _rules(tmp_path / "home" / ".claude" / "settings.json", allow=["Bash", "Bash(*)"])
    assert why_not_wrap({**session, "permission_mode": mode}, "make -j4", WRAPPED) is not None


SCOPES = {
    "user": "home/.claude/settings.json",
    "user-local": "home/.claude/settings.local.json",
    "cowork": "home/.claude/cowork_settings.json",
    "remote": "home/.claude/remote-settings.json",
    "managed": "etc/claude-code/managed-settings.json",
    "managed-drop-in": "etc/claude-code/managed-settings.d/50-policy.json",
    "project": "work/project/.claude/settings.json",
    "local": "work/project/.claude/settings.local.json",
    "above-the-project": "work/.claude/settings.json",
    "cwd-after-cd": "work/project/sub/.claude/settings.local.json",
}


@pytest.mark.parametrize("scope", SCOPES)
@pytest.mark.parametrize("kind", ["deny", "ask"])
@pytest.mark.parametrize("rule", ["Bash(rm:*)", "Bash", "Read(./secrets/**)", "WebFetch", "mcp__x__y"])
def test_any_deny_or_ask_rule_in_any_scope_blocks_wrapping(
    session: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, scope: str, kind: str, rule: str
) -> None:
    # No rule of any kind is matched here: Claude Code also checks Bash paths against Read/Edit rules.
    _rules(tmp_path / SCOPES[scope], **{kind: [rule]})
    payload = dict(session)
    if scope == "cwd-after-cd":
        payload["cwd"] = str(tmp_path / "work" / "project" / "sub")
    reason = why_not_wrap(payload, "make", WRAPPED)
    assert reason is not None and rule in reason and kind in reason


def test_after_cd_the_project_root_still_counts(session: dict, tmp_path: Path, monkeypatch) -> None:
    # Issue 15 (a): after `cd sub` the hook's cwd is sub/, but Claude Code's project settings are the root's.
    _rules(tmp_path / SCOPES["project"], deny=["Bash(rm:*)"])
    sub = tmp_path / "work" / "project" / "sub"
    monkeypatch.chdir(sub)
    assert why_not_wrap({**session, "cwd": str(sub)}, "rm -rf important", WRAPPED) is not None


def test_empty_rule_lists_and_allow_rules_do_not_block(session: dict, tmp_path: Path) -> None:
    _rules(tmp_path / SCOPES["user"], allow=["Bash(make:*)"], deny=[], ask=[])
    (tmp_path / SCOPES["project"]).parent.mkdir(parents=True)
    (tmp_path / SCOPES["project"]).write_text("")  # empty: no settings
    assert why_not_wrap(session, "make", WRAPPED) is None


@pytest.mark.parametrize(
    "content",
    [
        "{ not json",
        "[1, 2]",
        '{"permissions": ["Bash"]}',
        '{"permissions": {"deny": "Bash(rm:*)"}}',
        "\udcff",
    ],
)
def test_a_settings_file_that_cannot_be_judged_blocks_wrapping(
    session: dict, tmp_path: Path, content: str
) -> None:
    path = tmp_path / SCOPES["local"]
    path.parent.mkdir(parents=True)
    path.write_bytes(content.encode("utf-8", "surrogateescape"))
    assert why_not_wrap(session, "make", WRAPPED) is not None


def test_unreadable_settings_and_managed_dir_block_wrapping(session: dict, tmp_path: Path) -> None:
    (tmp_path / SCOPES["user"]).mkdir(parents=True)  # a directory where the file should be: unreadable
    assert "cannot read" in (why_not_wrap(session, "make", WRAPPED) or "")
    (tmp_path / SCOPES["user"]).rmdir()
    (tmp_path / "etc" / "claude-code").mkdir(parents=True)
    (tmp_path / "etc" / "claude-code" / "managed-settings.d").write_text("not a dir")
    assert why_not_wrap(session, "make", WRAPPED) is None  # Claude Code ignores ENOTDIR too


def test_without_a_project_dir_nothing_is_wrapped(session: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CLAUDE_PROJECT_DIR")
    assert "CLAUDE_PROJECT_DIR" in (why_not_wrap(session, "make", WRAPPED) or "")
    monkeypatch.setenv("CLAUDE_PROJECT_DIR", "relative/dir")
    assert why_not_wrap(session, "make", WRAPPED) is not None


@pytest.mark.parametrize(
    "argv",
    [
        ["claude", "-p", "go", "--disallowedTools", "Bash(rm:*)"],
        ["claude", "--disallowed-tools=Edit"],
        ["claude", "--settings", "/tmp/s.json"],
        ["node", "/usr/lib/node_modules/@anthropic-ai/claude-code/cli.js", "--add-dir", "../other"],
        ["claude", "--permission-prompt-tool", "stdio"],
    ],
)
def test_claude_command_line_rules_block_wrapping(session: dict, monkeypatch, argv: list[str]) -> None:
    monkeypatch.setattr(cp, "claude_argv", lambda: argv)
    assert "was started with" in (why_not_wrap(session, "make", WRAPPED) or "")


def test_no_claude_process_found_blocks_wrapping(session: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.undo()
    tree = {100: (99, ["/bin/sh", "-c", "python -m ctxtop hook pre-tool-use"]), 99: (98, ["uv", "run"])}
    tree |= {98: (1, ["/usr/bin/claude", "-p"])}
    monkeypatch.setattr(cp, "_proc", lambda pid: tree[pid])
    assert cp.claude_argv(100) == ["/usr/bin/claude", "-p"]
    tree[98] = (97, ["node", "/opt/claude-code/cli.js"])
    assert cp.claude_argv(100)[1].endswith("cli.js")
    tree[98] = (1, ["bash"])  # reached init without finding Claude Code
    with pytest.raises(cp.Doubt):
        cp.claude_argv(100)
    tree[98] = (97, ["bash"])
    tree |= {97: (96, ["bash"]), 96: (1, ["claude"])}  # too far up to be the one that runs this hook
    with pytest.raises(cp.Doubt):
        cp.claude_argv(100)
    del tree[99]  # /proc unreadable (another user's process, no /proc)
    with pytest.raises(cp.Doubt):
        monkeypatch.setattr(cp, "_proc", lambda pid: (_ for _ in ()).throw(OSError(2, "gone")))
        cp.claude_argv(100)
    assert cp.risky_flag(["claude", "-p", "--", "--settings"]) is None


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


def test_too_long_commands_are_left_alone(session: dict) -> None:
    huge = "x" * (65 * 1024)
    assert why_not_wrap(session, "echo hi", huge) == "too long to pass as one argument"


def test_command_words_skip_assignments_redirections_and_heredoc_bodies() -> None:
    assert command_words("A=1 B=2 make 2>&1 | tee log && (cd x && ls)") == ["make", "tee", "cd", "ls"]
    assert command_words("cat <<EOF\nrm -rf /\nEOF") == ["cat"]
