"""Raw outputs, the filter log and rule loading, on real files in tmp_path."""

from __future__ import annotations

import json
import os
import stat
import time
from pathlib import Path

import pytest

from ctxtop.adapters import filter_log, filter_rules, raw_outputs


def test_save_is_private_and_exclusive(tmp_path: Path) -> None:
    folder = tmp_path / "raw"
    path = raw_outputs.new_path("abc-123", folder)
    raw_outputs.save(path, "hello \udcff bytes")
    assert path.read_bytes() == b"hello \xff bytes"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert "-abc-123-" in path.name
    with pytest.raises(FileExistsError):
        raw_outputs.save(path, "again")


def test_cap_keeps_head_and_tail() -> None:
    data = b"H" * 100 + b"M" * 1000 + b"T" * 100
    capped = raw_outputs.cap(data, limit=200)
    assert capped.startswith(b"H" * 100) and capped.endswith(b"T" * 100)
    assert b"1000 bytes cut" in capped
    assert raw_outputs.cap(b"small", limit=200) == b"small"


def test_prune_by_age_count_and_size(tmp_path: Path) -> None:
    now = time.time()
    for i in range(10):
        p = tmp_path / f"{i:02d}.txt"
        p.write_bytes(b"x" * 100)
        os.utime(p, (now - (10 - i) * 86400, now - (10 - i) * 86400))
    assert raw_outputs.prune(tmp_path, now=now, max_age_days=5.5) == 5
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"{i:02d}.txt" for i in range(5, 10)]
    assert raw_outputs.prune(tmp_path, now=now, max_files=3) == 2
    assert raw_outputs.prune(tmp_path, now=now, max_bytes=150, keep=tmp_path / "09.txt") == 2
    assert [p.name for p in tmp_path.iterdir()] == ["09.txt"]
    assert raw_outputs.prune(tmp_path / "missing") == 0


def test_log_append_and_read(tmp_path: Path) -> None:
    t = 1_795_000_000.0  # 2026-11-18 UTC
    path = filter_log.append({"session_id": "s1", "raw_chars": 10}, folder=tmp_path, now=t)
    filter_log.append({"session_id": "s2", "raw_chars": 20}, folder=tmp_path, now=t + 1)
    with path.open("a") as fh:
        fh.write('{"v": 1, "torn')  # a killed writer's partial line
    assert path.name == "2026-11-18.jsonl"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    recs = list(filter_log.read(tmp_path))
    assert [r["session_id"] for r in recs] == ["s1", "s2"]
    assert recs[0]["ts"] == "2026-11-18T11:06:40.000Z" and recs[0]["v"] == 1
    assert list(filter_log.read(tmp_path, since="2026-12-01")) == []
    assert json.loads(path.read_text().splitlines()[1])["raw_chars"] == 20


def test_load_user_rules_config_and_errors(tmp_path: Path) -> None:
    (tmp_path / "filters").mkdir()
    (tmp_path / "filters" / "mine.toml").write_text(
        "[[rule]]\nname = 'deploy'\ncommands = ['^deploy\\b']\ndrop = ['^uploading ']\n"
    )
    (tmp_path / "filters" / "broken.toml").write_text("[[rule]]\nname = 'x'\ndrop = ['(']\n")
    (tmp_path / "config.toml").write_text("[filter]\nexclude = ['^make deploy', '(']\nmin_chars = 10\n")
    cfg = filter_rules.load(tmp_path)
    names = [r.name for r in cfg.rules.rules]
    assert "deploy" in names and "pytest" in names and "x" not in names
    assert len(cfg.errors) == 2 and any("broken.toml" in e for e in cfg.errors)
    assert cfg.settings.min_chars == 10
    assert cfg.excluded("make deploy prod") and not cfg.excluded("make test")


def test_load_without_any_config(tmp_path: Path) -> None:
    cfg = filter_rules.load(tmp_path / "nothing")
    assert cfg.errors == () and len(cfg.rules.rules) >= 10
