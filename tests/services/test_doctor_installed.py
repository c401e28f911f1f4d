"""doctor lists ctxtop's entries in each settings file by install's own ownership rules (``claude_settings``).

It searched the file's text for "ctxtop hook <event>" over a fixed list: a user's own hook that mentions
ctxtop counted as ctxtop's, and the UserPromptSubmit hook ``--enforce-budgets`` installs was never listed.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from ctxtop.services import doctor, install
from ctxtop.services.monitor import Monitor


def test_doctor_lists_exactly_the_entries_ctxtop_owns(tmp_path: Path, claude_fixtures: Path) -> None:
    claude = tmp_path / "claude"
    shutil.copytree(claude_fixtures, claude)
    settings = claude / "settings.json"
    mine = {
        "matcher": "Bash",
        "hooks": [{"type": "command", "command": "echo 'ctxtop hook post-tool-use' >> log"}],
    }
    settings.write_text(json.dumps({"hooks": {"PostToolUse": [mine]}}))
    options = install.InstallOptions(settings=str(settings), threshold=60, remember=False, budgets=True)
    install.apply(install.plan_install(options))
    monitor = Monitor.open([str(claude)], str(tmp_path / "api"), str(tmp_path / "cache"))
    try:
        monitor.refresh()
        report = doctor.collect(monitor)
    finally:
        monitor.close()
    [entry] = [h for h in report["installed"] if h["path"] == str(settings)]
    assert entry["ctxtop_entries"] == ["pre-compact", "session-start", "user-prompt-submit"]
    assert json.loads(settings.read_text())["hooks"]["PostToolUse"] == [
        mine
    ]  # the user's, kept and not listed
