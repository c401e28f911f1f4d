"""``ctxtop claude install --mcp`` / ``uninstall`` as a user runs them: what they print, what they refuse."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ctxtop.cli import main


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _install(project: Path, *extra: str) -> int:
    settings = project / ".claude" / "settings.json"
    return main(["claude", "install", "--mcp", "--scope", "project", "--settings", str(settings), *extra])


def test_dry_run_shows_the_entry_and_writes_nothing(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _install(project, "--dry-run") == 0
    out = capsys.readouterr().out
    assert '"ctxtop": {' in out and '"-m",' in out and str(project / ".mcp.json") in out
    assert not (project / ".mcp.json").exists()


def test_install_then_uninstall_project_scope(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _install(project) == 0
    out = capsys.readouterr().out
    assert "MCP server ctxtop (project scope): updated" in out and "approve the servers" in out
    assert json.loads((project / ".mcp.json").read_text())["mcpServers"]["ctxtop"]["args"] == [
        "-m",
        "ctxtop",
        "mcp",
    ]
    settings = project / ".claude" / "settings.json"
    assert main(["claude", "uninstall", "--scope", "project", "--settings", str(settings)]) == 0
    assert "removed the file (ctxtop had created it)" in capsys.readouterr().out
    assert not (project / ".mcp.json").exists()


def test_someone_elses_ctxtop_server_stops_the_install_before_it_writes(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    theirs = json.dumps({"mcpServers": {"ctxtop": {"command": "ctxtop-mcp-wrapper"}}}, indent=2)
    (project / ".mcp.json").write_text(theirs)
    assert _install(project) == 1
    assert "did not write" in capsys.readouterr().err
    assert (project / ".mcp.json").read_text() == theirs
    assert not (project / ".claude" / "settings.json").exists()  # refused before anything was written


def test_uninstall_ignores_a_broken_mcp_file_ctxtop_never_wrote(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / ".mcp.json").write_text("{ not json")
    settings = project / ".claude" / "settings.json"
    assert main(["claude", "uninstall", "--scope", "project", "--settings", str(settings)]) == 0
    assert (project / ".mcp.json").read_text() == "{ not json"
