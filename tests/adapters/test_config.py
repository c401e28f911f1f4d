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


HAND_WRITTEN = """\
# ctxtop settings, by hand
threshold = 70            # top level: not where ctxtop reads it
[compaction]
threshold = 97            # past the valid range
[ui]
theme = "mine-typo"       # no such theme (the TUI and doctor say so)
[windows]
"claude-opus" = "big"
"claude-sonnet-4-6" = 300000
[prices."claude-opus-4-8"]
input = "x"
output = 25
[prices."claude-haiku"]
input = 1
output = 5
[filter]
exclude = ['^make deploy', '(']
min_chars = -1
max_lines = 400
[mine]
note = "kept"
"""


def test_every_bad_value_is_reported_once_with_file_key_and_value(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(HAND_WRITTEN)
    config = Config.load(path)
    expected = [
        "[compaction] threshold = 97: must be between 5 and 95 (using 60)",
        '[filter] exclude = ["^make deploy", "("]: not a regular expression: "("',
        "[filter] min_chars = -1: must be at least 0 (using the built-in value)",
        "threshold = 70: not a ctxtop setting, ignored; did you mean [compaction] threshold?",
        '[windows] "claude-opus" = "big": expected a whole number of tokens; this window is ignored',
        '[prices."claude-opus-4-8"] input = "x": expected a price',
        "[mine]: not a ctxtop section, ignored",
    ]
    assert len(config.problems) == len(expected)
    for problem, text in zip(config.problems, expected, strict=True):
        assert problem.startswith(f"{path}: {text}"), problem
    # Only the bad values fall back; everything else is in effect.
    assert config.threshold == 60.0
    assert config.window_overrides == {"claude-sonnet-4-6": 300000}
    assert config.price_overrides == {"claude-haiku": {"input": 1, "output": 5}}
    assert config.get("filter.exclude") == ["^make deploy"] and config.get("filter.min_chars") is None
    assert config.get("filter.max_lines") == 400 and config.get("ui.theme") == "mine-typo"
    assert config.choice_problem("ui.theme", {"ctxtop-dark"}, "ctxtop-dark") == (
        f'{path}: [ui] theme = "mine-typo": no such theme (using ctxtop-dark)'
    )
    assert path.read_text() == HAND_WRITTEN  # reading never writes


def test_filter_rules_read_the_filter_section_through_the_one_reader(tmp_path: Path) -> None:
    from ctxtop.adapters import filter_rules

    (tmp_path / "config.toml").write_text(HAND_WRITTEN)
    loaded = filter_rules.load(tmp_path)
    assert [p.pattern for p in loaded.exclude] == ["^make deploy"]
    assert (loaded.settings.min_chars, loaded.settings.max_lines) == (1200, 400)
    assert len(loaded.errors) == 2 and all("[filter]" in e for e in loaded.errors)


def test_a_change_edits_only_its_key_and_keeps_comments_unknown_keys_and_hand_edits(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(HAND_WRITTEN)
    config = Config.load(path)
    config.set("compaction.threshold", 45.5)
    assert not any("[compaction] threshold = 97" in p for p in config.problems)  # fixed by the user
    path.write_text(HAND_WRITTEN.replace("max_lines = 400", "max_lines = 500"))  # edited by hand meanwhile
    config.save()
    assert path.read_text() == HAND_WRITTEN.replace("max_lines = 400", "max_lines = 500").replace(
        "threshold = 97            # past", "threshold = 45.5            # past"
    )
    config.set("budgets.daily_usd", 20)
    config.save(["budgets.daily_usd"])
    again = Config.load(path)
    assert (again.threshold, again.get("budgets.daily_usd")) == (45.5, 20.0)
    assert "# ctxtop settings, by hand" in path.read_text() and again.raw("mine.note") == "kept"
    assert path.stat().st_mode & 0o777 == 0o600


def test_no_file_means_defaults_and_nothing_written(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    config = Config.load(path)
    assert (config.exists, config.problems, config.threshold) == (False, [], 60.0)
    assert not path.exists()
    config.set("ui.theme", "ctxtop-light")
    config.save()
    assert path.read_text() == '[ui]\ntheme = "ctxtop-light"\n' and Config.load(path).exists


def test_settings_saved_at_once_from_threads_all_land(tmp_path: Path) -> None:
    import copy
    import threading

    path = tmp_path / "config.toml"
    path.write_text("# mine\n")
    config = Config.load(path)
    writers = []
    for index, key in enumerate(("budgets.session_usd", "budgets.daily_usd", "alerts.cache_expiry_usd")):
        config.set(key, index + 1)
        # As the TUI does: a copy per change, saved from a worker thread, only the key just changed.
        writers.append(threading.Thread(target=copy.deepcopy(config).save, args=([key],)))
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join()
    again = Config.load(path)
    assert [again.get(k) for k in ("budgets.session_usd", "budgets.daily_usd", "alerts.cache_expiry_usd")] == [
        1.0, 2.0, 3.0
    ]  # fmt: skip
    assert path.read_text().startswith("# mine\n")
