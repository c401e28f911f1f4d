"""``Monitor.views`` looks at each (config dir, cwd)'s settings files once per call, and sees edits next call."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from ctxtop.adapters.config import Config
from ctxtop.services.monitor import Monitor
from ctxtop.sources.claude_code import env as claude_env
from tests.support.fixtures import FIXTURES, scenario


def test_settings_are_read_once_per_views_call_and_edits_count_on_the_next(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    claude = tmp_path / "claude"
    shutil.copytree(FIXTURES, claude)
    # A second session in the same project (fresh ids, as a resumed-elsewhere copy would have).
    ref = scenario("refactor")
    data = (claude / ref.relpath()).read_bytes()
    twin = "00000000-0000-4000-8000-000000000001"
    data = (
        data.replace(ref.session_id.encode(), twin.encode())
        .replace(b'"msg_', b'"msg_tw')
        .replace(b'"req_', b'"req_tw')
    )
    (claude / ref.relpath()).with_name(f"{twin}.jsonl").write_bytes(data)
    monkeypatch.setenv("CTXTOP_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("CTXTOP_CONFIG_DIR", str(tmp_path / "cfg"))
    for name in ("CLAUDE_AUTOCOMPACT_PCT_OVERRIDE", "DISABLE_AUTO_COMPACT", "DISABLE_COMPACT"):
        monkeypatch.delenv(name, raising=False)
    monitor = Monitor.open([str(claude)], str(tmp_path / "api"), str(tmp_path / "data"), Config())
    try:
        monitor.refresh()
        stamps: list[object] = []
        real_stamp = claude_env._stamp
        monkeypatch.setattr(claude_env, "_stamp", lambda files: stamps.append(files) or real_stamp(files))
        before = monitor.views()
        places = {(str(monitor.config_dir_for(v.stats)), v.stats.cwd) for v in before}
        assert len(before) > len(places)  # several sessions share a place: the point of the snapshot
        assert len(stamps) == len(places)
        (claude / "settings.json").write_text(json.dumps({"env": {"CLAUDE_AUTOCOMPACT_PCT_OVERRIDE": "40"}}))
        after = monitor.views()
        assert len(stamps) == 2 * len(places)
        moved = [
            (a.compaction.compact_at, b.compaction.compact_at) for a, b in zip(before, after, strict=True)
        ]
        assert any(x != y for x, y in moved), moved  # the edit is seen by the next call
    finally:
        monitor.close()
