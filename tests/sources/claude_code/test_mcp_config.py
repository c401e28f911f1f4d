"""ctxtop's entry in Claude Code's MCP config: only its own, everything else kept, removable, never corrupting.

Real files on tmp_path; the layouts are the ones the real CLI writes (``claude mcp add``, 2.1.197 / 2.1.332:
``JSON.stringify(x, null, 2)``, ``{"type": "stdio", "command", "args", "env"}``).
"""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path

import pytest

from ctxtop.sources.claude_code import mcp_config as cm
from ctxtop.sources.claude_code import settings as cs

CLAUDE_JSON = {
    "numStartups": 7,
    "tipsHistory": {"x": 0},
    "projects": {"/work/proj": {"allowedTools": [], "hasTrustDialogAccepted": True}},
    "mcpServers": {"github": {"type": "stdio", "command": "gh-mcp", "args": [], "env": {"T": "1"}}},
}


def _install(scope: str, cwd: Path) -> cs.Change:
    change = cm.plan_install(cm.load(scope, cwd), scope, cwd)
    cs.apply(change)
    return change


def _uninstall(scope: str, cwd: Path) -> cs.Change:
    change = cm.plan_uninstall(cm.load(scope, cwd), scope, cwd)
    cs.apply(change)
    return change


def _claude_json(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, content: str) -> Path:
    config = tmp_path / "claude-config"
    config.mkdir()
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(config))
    path = config / ".claude.json"
    path.write_text(content)
    return path


def test_user_scope_adds_only_its_server_and_uninstall_gives_the_bytes_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = json.dumps(CLAUDE_JSON, indent=2).replace('"x": 0', '"x": 1e400')
    path = _claude_json(monkeypatch, tmp_path, original)
    os.chmod(path, 0o600)
    assert cm.config_path("user") == path
    _install("user", tmp_path)
    data = json.loads(path.read_text().replace("1e400", "0"))
    assert data["mcpServers"]["ctxtop"] == {"type": "stdio", "command": sys.executable,
                                            "args": ["-m", "ctxtop", "mcp"], "env": {}}  # fmt: skip
    assert data["mcpServers"]["github"] == CLAUDE_JSON["mcpServers"]["github"]
    assert '"x": 1e400' in path.read_text()  # numbers are written back as they were
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert not _install("user", tmp_path).changed  # twice changes nothing
    _uninstall("user", tmp_path)
    assert path.read_text() == original


def test_without_claude_config_dir_the_user_file_is_home_claude_json(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CLAUDE_CONFIG_DIR")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert cm.config_path("user") == tmp_path / ".claude.json"
    assert cm.config_path("local") == tmp_path / ".claude.json"


def test_claude_codes_own_rewrites_are_kept_on_uninstall(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _claude_json(monkeypatch, tmp_path, json.dumps(CLAUDE_JSON, indent=2))
    _install("user", tmp_path)
    data = json.loads(path.read_text())
    data["numStartups"] = 8  # Claude Code rewrites the file all the time
    path.write_text(json.dumps(data, indent=2))
    _uninstall("user", tmp_path)
    after = json.loads(path.read_text())
    assert (
        after["numStartups"] == 8 and "ctxtop" not in after["mcpServers"] and "github" in after["mcpServers"]
    )


def test_project_scope_creates_mcp_json_and_removes_it_again(tmp_path: Path) -> None:
    path = tmp_path / ".mcp.json"
    _install("project", tmp_path)
    assert json.loads(path.read_text())["mcpServers"]["ctxtop"]["args"] == ["-m", "ctxtop", "mcp"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    change = _uninstall("project", tmp_path)
    assert change.after is None and not path.exists()


def test_local_scope_nests_under_the_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _claude_json(monkeypatch, tmp_path, json.dumps(CLAUDE_JSON, indent=2))
    project = tmp_path / "proj"
    _install("local", project)
    data = json.loads(path.read_text())
    assert data["projects"][str(project)]["mcpServers"]["ctxtop"]["command"] == sys.executable
    assert "ctxtop" not in data["mcpServers"]
    _uninstall("local", project)
    assert json.loads(path.read_text()) == CLAUDE_JSON  # the project entry ctxtop created went too


def test_a_ctxtop_server_someone_else_wrote_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / ".mcp.json"
    theirs = '{\n  "mcpServers": {\n    "ctxtop": {"command": "my-wrapper", "args": ["mcp"]}\n  }\n}\n'
    path.write_text(theirs)
    with pytest.raises(cs.SettingsError, match="did not write"):
        cm.plan_install(cm.load("project", tmp_path), "project", tmp_path)
    assert not _uninstall("project", tmp_path).changed
    assert path.read_text() == theirs


def test_an_entry_edited_by_hand_is_kept_on_uninstall(tmp_path: Path) -> None:
    path = tmp_path / ".mcp.json"
    _install("project", tmp_path)
    data = json.loads(path.read_text())
    data["mcpServers"]["ctxtop"]["env"] = {"CTXTOP_DATA_DIR": "/elsewhere"}
    path.write_text(json.dumps(data, indent=2))
    change = _uninstall("project", tmp_path)
    assert not change.changed and "left it in place" in change.notes[0]
    assert json.loads(path.read_text()) == data


def test_lost_records_still_recognise_exactly_ctxtops_entry(tmp_path: Path) -> None:
    path = tmp_path / ".mcp.json"
    path.write_text(json.dumps({"mcpServers": {"ctxtop": {"type": "stdio", "command": "/usr/bin/python3",
                                                          "args": ["-m", "ctxtop", "mcp"], "env": {}}}}))  # fmt: skip
    _uninstall("project", tmp_path)
    assert json.loads(path.read_text()) == {"mcpServers": {}}


@pytest.mark.parametrize("content", ['{"mcpServers": {', '{"mcpServers": []}', "[1]"])
def test_invalid_files_are_refused_and_left_as_they_are(tmp_path: Path, content: str) -> None:
    path = tmp_path / ".mcp.json"
    path.write_text(content)
    with pytest.raises(cs.SettingsError, match="untouched"):
        cm.plan_install(cm.load("project", tmp_path), "project", tmp_path)
    assert path.read_text() == content
