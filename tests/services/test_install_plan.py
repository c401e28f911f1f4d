"""Install as plan -> apply: a plan says what changes per file and key and writes nothing; apply writes it.

The settings screen shows this plan object (no fake argparse.Namespace, no stdout searched for "no
change"); ``ctxtop claude install`` prints or applies the same one.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ctxtop.adapters import paths
from ctxtop.adapters.config import Config
from ctxtop.core.compaction import PCT_ENV, WINDOW_ENV
from ctxtop.services import install
from ctxtop.services.install import InstallOptions, InstallRefused


def _keys(plan: install.Plan) -> dict[tuple[str, str], tuple[object, object]]:
    return {(Path(k.file).name, k.key): (k.before, k.after) for k in plan.keys()}


def test_a_plan_lists_each_key_per_file_writes_nothing_and_apply_writes_exactly_it(tmp_path: Path) -> None:
    settings = tmp_path / "settings.json"
    settings.write_text(json.dumps({"model": "opus", "env": {"FOO": "1"}}))
    original = settings.read_bytes()
    config = Config.load()
    plan = install.plan_install(InstallOptions(settings=str(settings), threshold=50), config)
    assert settings.read_bytes() == original and not paths.config_file().exists()
    keys = _keys(plan)
    # opus runs with 200K here: 50% of 200,000 = 100,000 = (200,000 - 20,000) x 55.556%.
    assert keys[("settings.json", f"env.{PCT_ENV}")] == (None, "55.556")
    assert keys[("settings.json", f"env.{WINDOW_ENV}")] == (None, "200000")
    assert {k for _f, k in keys if k.startswith("hooks.")} == {"hooks.PreCompact", "hooks.SessionStart"}
    assert keys[("config.toml", "compaction.threshold")] == (None, 50)
    assert ("settings.json", "env.FOO") not in keys and ("settings.json", "model") not in keys
    assert plan.changed and '+    "CLAUDE_AUTOCOMPACT_PCT_OVERRIDE": "55.556"' in plan.diff()
    assert plan.after.compact_at == 100_000
    notes = install.apply(plan)
    assert settings.read_text() == plan.change.after
    assert Config.load().threshold == 50 and "threshold is now 50%" in notes[0]
    # Planned again: nothing left to do, in either file.
    again = install.plan_install(InstallOptions(settings=str(settings), threshold=50), Config.load())
    assert not again.changed and again.keys() == []
    # Uninstall is a plan too: the user's own keys come back as they were.
    out = install.plan_uninstall(settings=str(settings))
    assert {k for _f, k in _keys(out)} >= {f"env.{PCT_ENV}", f"env.{WINDOW_ENV}", "hooks.PreCompact"}
    install.apply(out)
    assert settings.read_bytes() == original


def test_a_file_edited_after_the_plan_was_shown_is_not_overwritten(tmp_path: Path) -> None:
    # The settings screen used to re-run the install after "yes": the change written was not the one shown.
    settings = tmp_path / "settings.json"
    settings.write_text(json.dumps({"env": {"FOO": "1"}}))
    plan = install.plan_install(InstallOptions(settings=str(settings), threshold=60, remember=False))
    settings.write_text(json.dumps({"env": {"FOO": "2"}}))
    with pytest.raises(InstallRefused, match="changed since this plan was made; nothing changed"):
        install.apply(plan)
    assert json.loads(settings.read_text()) == {"env": {"FOO": "2"}}


def test_refusals_name_the_option_and_write_nothing(tmp_path: Path) -> None:
    settings = tmp_path / "settings.json"
    with pytest.raises(InstallRefused, match="--threshold 2: must be between 5 and 95"):
        install.plan_install(InstallOptions(settings=str(settings), threshold=2))
    with pytest.raises(InstallRefused, match="--window must be between"):
        install.plan_install(InstallOptions(settings=str(settings), window=10))
    settings.write_text("{not json")
    with pytest.raises(InstallRefused, match=str(settings)):
        install.plan_install(InstallOptions(settings=str(settings)))
    assert settings.read_text() == "{not json" and not paths.config_file().exists()
