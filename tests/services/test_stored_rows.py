"""Stored report rows: a warm ``report sessions --json`` splices the bytes it stored, and renders again exactly
the sessions whose inputs changed.

Each test stores rows, then marks every stored row (a JSON key no renderer writes) so the output shows which
rows were served from the store and which were rendered afresh; whatever is rendered must equal what the
views give, byte for byte.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest

from ctxtop.adapters.config import Config
from ctxtop.services.monitor import Monitor
from ctxtop.sources.claude_code.source import ClaudeCode

MARK = b'  {\n    "stored": true,'


def _home(tmp_path: Path, claude_fixtures: Path) -> Path:
    home = tmp_path / "claude"
    shutil.copytree(claude_fixtures, home)
    return home


def _monitor(home: Path, tmp_path: Path, config: Config | None = None) -> Monitor:
    monitor = Monitor.open([str(home)], cache_dir=str(tmp_path / "cache"), config=config or Config())
    monitor.refresh()
    return monitor


def _views_json(monitor: Monitor, **filters: object) -> list[bytes]:
    """The rows as the views render them (what the report printed before rows were stored)."""
    rows = [v.as_dict() for v in monitor.views(**filters)]  # type: ignore[arg-type]
    return [b"  " + orjson.dumps(r, option=orjson.OPT_INDENT_2).replace(b"\n", b"\n  ") for r in rows]


def _mark_stored(monitor: Monitor) -> int:
    """Tag every stored row; returns how many there are."""
    conn = monitor.index.conn
    conn.execute("UPDATE rows SET body = CAST(replace(CAST(body AS TEXT), '  {\n', ?) AS BLOB)",
                 (MARK.decode() + "\n",))  # fmt: skip
    return conn.execute("SELECT count(*) FROM rows").fetchone()[0]


def _served(rows: list[bytes]) -> list[bool]:
    return [r.startswith(MARK) for r in rows]


def _unmarked(rows: list[bytes]) -> list[bytes]:
    return [r.replace(MARK + b"\n", b"  {\n") for r in rows]


def _stored_then_marked(home: Path, tmp_path: Path, config: Config | None = None) -> list[bytes]:
    monitor = _monitor(home, tmp_path, config)
    first = monitor.session_rows()
    assert first == _views_json(monitor) and len(first) >= 3
    assert _mark_stored(monitor) == len(first)
    monitor.close()
    return first


def test_warm_rows_are_the_stored_bytes_and_equal_a_fresh_render(
    tmp_path: Path, claude_fixtures: Path
) -> None:
    home = _home(tmp_path, claude_fixtures)
    first = _stored_then_marked(home, tmp_path)
    monitor = _monitor(home, tmp_path)
    warm = monitor.session_rows()
    assert all(_served(warm))
    assert _unmarked(warm) == first == _views_json(monitor)


def test_appended_lines_render_that_session_again_only(tmp_path: Path, claude_fixtures: Path) -> None:
    home = _home(tmp_path, claude_fixtures)
    first = _stored_then_marked(home, tmp_path)
    transcript = max(home.glob("projects/*/*.jsonl"), key=lambda p: p.stat().st_size)
    lines = transcript.read_bytes().splitlines(keepends=True)
    last_request = next(line for line in reversed(lines) if b'"usage"' in line)
    obj = json.loads(last_request)
    obj["message"]["id"] += "-again"
    obj["requestId"] = obj.get("requestId", "req") + "-again"
    with transcript.open("ab") as fh:
        fh.write(json.dumps(obj).encode() + b"\n")
    monitor = _monitor(home, tmp_path)
    warm = monitor.session_rows()
    fresh = _views_json(monitor)
    assert _unmarked(warm) == fresh != first
    changed = [json.loads(r)["session_id"] == transcript.stem for r in _unmarked(warm)]
    assert [not c for c in changed] == _served(warm) and sum(changed) == 1


def test_a_settings_change_renders_again(tmp_path: Path, claude_fixtures: Path) -> None:
    home = _home(tmp_path, claude_fixtures)
    first = _stored_then_marked(home, tmp_path)
    settings = home / "settings.json"
    settings.write_text(json.dumps({"env": {"CLAUDE_AUTOCOMPACT_PCT_OVERRIDE": "50"}}), encoding="utf-8")
    old = time.time() - 60  # not a racy stamp: rows rendered now may be stored
    os.utime(settings, (old, old))
    monitor = _monitor(home, tmp_path)
    warm = monitor.session_rows()
    assert not any(_served(warm)) and warm == _views_json(monitor)
    assert warm != first  # the compaction point moved
    # Stored again with the new settings: the next run serves them.
    _mark_stored(monitor)
    assert all(_served(_monitor(home, tmp_path).session_rows()))


def test_a_settings_file_changed_just_now_is_never_trusted(tmp_path: Path, claude_fixtures: Path) -> None:
    home = _home(tmp_path, claude_fixtures)
    (home / "settings.json").write_text("{}", encoding="utf-8")  # modified now: its stamp may hide an edit
    monitor = _monitor(home, tmp_path)
    monitor.session_rows()
    _mark_stored(monitor)
    again = _monitor(home, tmp_path).session_rows()
    assert not any(_served(again)) and again == _views_json(monitor)


@pytest.mark.parametrize(
    "setting",
    [("compaction.threshold", 42.0), ("windows", {"claude": 123456}),
     ("prices", {"claude": {"input": "1", "output": "2"}})],
    ids=["threshold", "window-override", "price-override"],
)  # fmt: skip
def test_a_config_change_renders_again(tmp_path: Path, claude_fixtures: Path, setting: tuple) -> None:
    home = _home(tmp_path, claude_fixtures)
    _stored_then_marked(home, tmp_path)
    config = Config()
    key, value = setting
    config.data.update(_nested(key, value))
    assert config.threshold == 42.0 or config.window_overrides or config.price_overrides
    monitor = _monitor(home, tmp_path, config)
    warm = monitor.session_rows()
    assert not any(_served(warm)) and warm == _views_json(monitor)


def _nested(key: str, value: object) -> dict:
    head, _, rest = key.partition(".")
    return {head: _nested(rest, value) if rest else value}


def test_the_environment_and_claude_codes_report_render_again(tmp_path: Path, claude_fixtures: Path) -> None:
    home = _home(tmp_path, claude_fixtures)
    _stored_then_marked(home, tmp_path)
    monitor = _monitor(home, tmp_path)
    monitor._env["CLAUDE_CODE_AUTO_COMPACT_WINDOW"] = "150000"
    monitor._env["SHLVL"] = "7"  # not something a row depends on
    warm = monitor.session_rows()
    assert not any(_served(warm)) and warm == _views_json(monitor)

    # What Claude Code's statusline reported for one session: that row only.
    from ctxtop.sources.claude_code import observations

    monitor = _monitor(home, tmp_path)
    sid = json.loads(monitor.session_rows()[0])["session_id"]
    _mark_stored(monitor)
    observations.record({"session_id": sid, "model": {"id": "claude-opus-4-6"},
                         "context_window": {"context_window_size": 1_000_000, "used_percentage": 3}})  # fmt: skip
    warm = monitor.session_rows()
    assert _unmarked(warm) == _views_json(monitor)
    assert _served(warm) == [json.loads(r)["session_id"] != sid for r in _unmarked(warm)]


def test_filters_match_the_views(tmp_path: Path, claude_fixtures: Path) -> None:
    home = _home(tmp_path, claude_fixtures)
    _stored_then_marked(home, tmp_path)
    monitor = _monitor(home, tmp_path)
    everything = [json.loads(r) for r in _unmarked(monitor.session_rows())]
    middle = sorted(r["first_ts"] for r in everything)[len(everything) // 2]
    from datetime import datetime

    cut = datetime.fromisoformat(middle.replace("Z", "+00:00")).timestamp()
    project = everything[0]["project"][-12:]
    for filters in ({"since": cut}, {"until": cut}, {"project": project}, {"present_only": True}):
        assert _unmarked(monitor.session_rows(**filters)) == _views_json(monitor, **filters), filters


def _extra_request(transcript: Path, dest: Path) -> None:
    """A copy of the transcript's last request under new ids, in ``dest`` (a request only ``dest`` holds)."""
    line = next(x for x in reversed(transcript.read_bytes().splitlines()) if b'"usage"' in x)
    obj = json.loads(line)
    obj["message"]["id"] += "-extra"
    obj["requestId"] = obj.get("requestId", "req") + "-extra"
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_bytes(json.dumps(obj).encode() + b"\n")


def test_a_partly_archived_session_is_rendered_not_stored(tmp_path: Path, claude_fixtures: Path) -> None:
    home = _home(tmp_path, claude_fixtures)
    transcript = max(home.glob("projects/*/*.jsonl"), key=lambda p: p.stat().st_size)
    agent = transcript.with_suffix("") / "subagents" / "agent-a1.jsonl"
    _extra_request(transcript, agent)
    _stored_then_marked(home, tmp_path)
    agent.unlink()  # its request stays, archived, with the session that owned it
    monitor = _monitor(home, tmp_path)
    whole = monitor.session_rows()
    assert _unmarked(whole) == _views_json(monitor)
    present = monitor.session_rows(present_only=True)
    assert _unmarked(present) == _views_json(monitor, present_only=True) != _unmarked(whole)
    partial = [json.loads(r)["session_id"] == transcript.stem for r in present]
    assert _served(present) == [not p for p in partial] and sum(partial) == 1
    assert _served(monitor.session_rows(present_only=True)) == [not p for p in partial]


def test_report_cli_prints_the_spliced_rows_as_orjson_would(tmp_path: Path, claude_fixtures: Path) -> None:
    home = _home(tmp_path, claude_fixtures)
    cmd = [sys.executable, "-m", "ctxtop", "report", "sessions", "--json", "--claude-dir", str(home),
           "--cache-dir", str(tmp_path / "cache")]  # fmt: skip
    cold = subprocess.run(cmd, capture_output=True, check=True, timeout=60).stdout
    warm = subprocess.run(cmd, capture_output=True, check=True, timeout=60).stdout
    monitor = _monitor(home, tmp_path)
    assert (
        cold
        == warm
        == orjson.dumps([v.as_dict() for v in monitor.views()], option=orjson.OPT_INDENT_2) + b"\n"
    )
    empty = subprocess.run(
        [*cmd, "--project", "no-such-project"], capture_output=True, check=True, timeout=60
    )
    assert empty.stdout == b"[]\n"


def test_an_index_without_stored_rows_renders_them(tmp_path: Path, claude_fixtures: Path) -> None:
    home = _home(tmp_path, claude_fixtures)
    monitor = _monitor(home, tmp_path)
    assert monitor.index.conn.execute("SELECT 1 FROM sqlite_master WHERE name='rows'").fetchone() is None
    assert monitor.session_rows() == _views_json(monitor)
    assert ClaudeCode is not None


def test_rows_of_a_source_that_decides_its_own_window_are_stored_with_its_files(
    tmp_path: Path, claude_fixtures: Path
) -> None:
    codex = tmp_path / "codex"
    shutil.copytree(claude_fixtures.parent / "codex", codex)

    def monitor() -> Monitor:
        m = Monitor.open(codex_dirs=[str(codex)], claude_dirs=[str(tmp_path / "none")],
                         cache_dir=str(tmp_path / "cache"), config=Config())  # fmt: skip
        m.refresh()
        return m

    first = monitor()
    rows = first.session_rows()
    assert rows == _views_json(first) and rows
    _mark_stored(first)
    again = monitor()
    assert all(_served(again.session_rows()))
    # Its window comes from its files as they are: a file that changed (here only its mtime) renders again.
    rollout = next(codex.rglob("rollout-*.jsonl"))
    os.utime(rollout, (time.time() - 30, time.time() - 30))
    third = monitor()
    served = third.session_rows()
    assert _unmarked(served) == _views_json(third) and not all(_served(served))


def test_an_output_rendered_before_another_process_wrote_the_index_is_not_kept(
    tmp_path: Path, claude_fixtures: Path
) -> None:
    """The kept output is the one of the snapshot it was rendered from: when another process commits a change
    between that snapshot and the write (a TUI's update), nothing is kept, and no later run can print it."""
    import sqlite3

    home = _home(tmp_path, claude_fixtures)
    monitor = _monitor(home, tmp_path)
    monitor.session_rows()  # rows stored: the next call writes only the kept output
    other = sqlite3.connect(monitor.index.path, isolation_level=None)
    key = "report_output:sessions.json"
    other.execute("DELETE FROM meta WHERE key = ?", (key,))

    def render() -> tuple[bytes, list]:
        sessions = monitor.index.sessions()  # the snapshot begins with its first read
        body = f"{len(sessions)} sessions, rendered from the old snapshot\n".encode()
        sid = sessions[0].session_id
        other.execute("UPDATE sessions SET last_ts = last_ts + 1 WHERE session_id = ?", (sid,))  # commits
        return body, []

    assert monitor.kept_output("sessions.json", render).endswith(b"rendered from the old snapshot\n")
    assert other.execute("SELECT count(*) FROM meta WHERE key = ?", (key,)).fetchone() == (0,)
    # Rendered again from a snapshot nobody changed meanwhile: kept.
    assert monitor.kept_output("sessions.json", lambda: (b"now\n", [])) == b"now\n"
    assert other.execute("SELECT count(*) FROM meta WHERE key = ?", (key,)).fetchone() == (1,)
    assert (monitor.index.path.parent / "report-sessions.json").read_bytes() == b"now\n"
