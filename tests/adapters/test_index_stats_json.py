"""The cached stats are read back by orjson where it accepts them, and always as ``json.loads`` reads them."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

from ctxtop.adapters.index import _stats_json
from ctxtop.services.monitor import Monitor


def test_every_cached_stats_text_reads_as_the_standard_library_reads_it(
    tmp_path: Path, claude_fixtures: Path
) -> None:
    home = tmp_path / "claude"
    shutil.copytree(claude_fixtures, home)
    monitor = Monitor.open([str(home)], cache_dir=str(tmp_path / "cache"))
    monitor.refresh()
    texts = [t for (t,) in monitor.index.conn.execute("SELECT stats FROM sessions WHERE stats IS NOT NULL")]
    assert len(texts) >= 3
    for text in texts:
        assert repr(_stats_json(text)) == repr(json.loads(text))


def test_what_orjson_refuses_goes_to_the_standard_library() -> None:
    text = json.dumps({"ratio": float("nan"), "name": "\ud800", "big": 2**70})
    got = _stats_json(text)
    assert math.isnan(got["ratio"]) and got["name"] == "\ud800" and got["big"] == 2**70
