"""ctxtop's config TOML: validated at load, never destroyed by a save."""

from __future__ import annotations

from pathlib import Path

import pytest

from ctxtop.adapters.config import Config


def test_values_are_validated_and_unknown_tables_kept(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[compaction]\nthreshold = 200\n[windows]\n"claude-opus" = 500000\n')
    config = Config.load(path)
    assert config.threshold == 60.0 and config.problems  # out of range: reported, default used
    assert config.window_overrides == {"claude-opus": 500000}
    config.set("compaction.threshold", 50)
    config.save()
    again = Config.load(path)
    assert again.threshold == 50.0 and again.window_overrides == {"claude-opus": 500000}
    assert (tmp_path / "config.toml.bak").read_text().startswith("[compaction]\nthreshold = 200")
    with pytest.raises(ValueError):
        config.set("compaction.threshold", "lots")


def test_a_broken_file_is_reported_and_never_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    original = '# my settings\n[windows]\n"claude-opus" = 500000\n[budgets\n'
    path.write_text(original)
    config = Config.load(path)
    assert config.unreadable and "not valid TOML" in config.problems[0]
    config.set("ui.theme", "ctxtop-light")
    with pytest.raises(OSError, match="not overwritten"):
        config.save()
    assert path.read_text() == original
