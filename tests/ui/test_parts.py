"""Pure parts of the TUI: gauge cells, alerts, the /compact command, tmux pane lookup, live sessions, export."""

from __future__ import annotations

import json
import os
from decimal import Decimal
from pathlib import Path

from ctxtop.adapters import tmux
from ctxtop.core.alerts import AlertTracker, budget_level
from ctxtop.core.compaction import CompactionInfo
from ctxtop.core.metrics import CacheExpiry, SessionStats
from ctxtop.core.pricing import Cost
from ctxtop.core.report import SessionView
from ctxtop.services import export
from ctxtop.services.compact import compact_command
from ctxtop.sources.claude_code.live import live_sessions
from ctxtop.ui.widgets.chart import Series, resample
from ctxtop.ui.widgets.gauge import gauge_cells, level

INFO = CompactionInfo(window=200_000, window_source="test", compact_at=167_000, enabled=True)


def view(
    context: int, cost: str = "0", sid: str = "s1", expiries: list[CacheExpiry] | None = None
) -> SessionView:
    stats = SessionStats(session_id=sid, cwd="/tmp/p", context_tokens=context, turns=3,
                         cost=Cost(input=Decimal(cost)), expiries=expiries or [])  # fmt: skip
    return SessionView(stats, INFO, 60.0)


def test_gauge_marks_threshold_and_compaction_point() -> None:
    cells = gauge_cells(view(50_000), 20)
    roles = [r for _, r in cells]
    assert roles[:5] == ["fill-ok"] * 5 and roles[5] == "track"
    assert roles[12] == "threshold"  # 120K of 200K
    assert roles[16] == "compact"  # 167K
    assert level(view(110_000)) == "warn" and level(view(125_000)) == "over"
    assert [r for _, r in gauge_cells(view(125_000), 20)][:12] == ["fill-over"] * 12


def test_gauge_without_window_is_an_empty_track() -> None:
    v = SessionView(SessionStats(session_id="x"), CompactionInfo(None, "unknown", None, True), 60.0)
    assert {r for _, r in gauge_cells(v, 8)} == {"track"}


def test_threshold_alert_fires_once_on_crossing() -> None:
    tracker = AlertTracker()
    assert tracker.update([view(100_000)], session_budget=0, expiry_usd=0.5, baseline=True) == []
    alerts = tracker.update([view(130_000)], session_budget=0, expiry_usd=0.5)
    assert [a.kind for a in alerts] == ["threshold"] and "60%" in alerts[0].message
    assert tracker.update([view(140_000)], session_budget=0, expiry_usd=0.5) == []


def test_budget_alerts_at_70_and_100_percent() -> None:
    tracker = AlertTracker()
    tracker.update([view(1000, "1")], session_budget=10, expiry_usd=0.5, baseline=True)
    assert [a.kind for a in tracker.update([view(1000, "7.5")], session_budget=10, expiry_usd=0.5)] == [
        "session-budget"
    ]
    alerts = tracker.update([view(1000, "10")], session_budget=10, expiry_usd=0.5)
    assert alerts[0].severity == "error" and "100%" in alerts[0].message
    assert budget_level(Decimal("6.99"), 10) == 0
    assert tracker.update_day("2026-11-22", Decimal(1), 10, baseline=True) == []
    assert [a.kind for a in tracker.update_day("2026-11-22", Decimal(8), 10)] == ["day-budget"]
    assert tracker.update_day("2026-11-22", Decimal(9), 10) == []


def test_costly_cache_expiry_alerts() -> None:
    tracker = AlertTracker()
    tracker.update([view(1000)], session_budget=0, expiry_usd=0.5, baseline=True)
    cheap = CacheExpiry(1.0, 400, 10_000, Decimal("0.1"))
    assert tracker.update([view(1000, expiries=[cheap])], session_budget=0, expiry_usd=0.5) == []
    dear = CacheExpiry(2.0, 900, 150_000, Decimal("0.9"))
    alerts = tracker.update([view(1000, expiries=[cheap, dear])], session_budget=0, expiry_usd=0.5)
    assert [a.kind for a in alerts] == ["cache-expiry"] and "$0.90" in alerts[0].message


def test_compact_command_is_one_line_with_the_notes() -> None:
    notes = "# Notes\n## Tasks\n- [in progress] refactor parser\n- [pending] add tests\n\nPinned: keep API stable\n"
    command = compact_command(notes)
    assert command.startswith("/compact ") and "\n" not in command
    assert "refactor parser" in command and "keep API stable" in command
    assert len(compact_command("x" * 10_000)) < 1700
    assert compact_command(None).startswith("/compact ")


def test_find_pane_by_process_tree_then_unique_cwd(tmp_path: Path) -> None:
    panes = tmux.parse_panes(f"%1 100 /home/u/a\n%2 200 {tmp_path}\n%3 300 /home/u/c\nbad line\n")
    parents = {4242: 4200, 4200: 300, 300: 1}
    claude, everywhere = (lambda pid: pid == 4242), (lambda pane: True)
    assert tmux.find_pane(4242, None, panes, parents.get, everywhere, claude).pane_id == "%3"
    assert tmux.find_pane(999, str(tmp_path), panes, parents.get, everywhere, claude).pane_id == "%2"
    twice = panes + [tmux.Pane("%4", 400, str(tmp_path))]
    assert tmux.find_pane(999, str(tmp_path), twice, parents.get, everywhere, claude) is None
    # Never a pane in which Claude Code does not run, nor the ancestry of a pid that is not Claude Code.
    assert tmux.find_pane(999, str(tmp_path), panes, parents.get, lambda pane: False, claude) is None
    assert tmux.find_pane(4242, None, panes, parents.get, everywhere, lambda pid: False) is None


def test_is_claude_code_by_program_package_or_native_install(tmp_path: Path) -> None:
    cases = {
        1: b"/usr/local/bin/claude\0--resume\0",
        2: b"node\0/usr/lib/node_modules/@anthropic-ai/claude-code/cli.js\0",
        3: b"/home/u/.local/share/claude/versions/2.1.197\0",
        4: b"python3\0/tmp/x/claude\0",
        5: b"sh\0-c\0claude; rm -rf x\0",
        6: b"bash\0",
    }
    for pid, cmdline in cases.items():
        (tmp_path / str(pid)).mkdir()
        (tmp_path / str(pid) / "cmdline").write_bytes(cmdline)
        (tmp_path / str(pid) / "comm").write_text("bash\n" if pid == 6 else "x\n")
    assert [pid for pid in cases if tmux.is_claude_code(pid, tmp_path)] == [1, 2, 3, 4]
    assert not tmux.is_claude_code(99, tmp_path)


def test_parent_pid_reads_proc() -> None:
    assert tmux.parent_pid(os.getpid()) == os.getppid()


def test_live_sessions_need_a_live_pid(tmp_path: Path) -> None:
    folder = tmp_path / "sessions"
    folder.mkdir()
    (folder / "111.json").write_text(json.dumps({"sessionId": "a", "cwd": "/x", "status": "busy"}))
    (folder / "222.json").write_text(json.dumps({"sessionId": "b", "cwd": "/y", "status": "idle"}))
    (folder / "333.json").write_text("{not json")
    found = live_sessions([tmp_path], alive=lambda pid: pid == 111)
    assert list(found) == ["a"] and found["a"].status == "busy" and found["a"].pid == 111


def test_chart_resample_keeps_maxima_and_marks() -> None:
    series = Series(values=[1, 5, 2, 8, 3, 1], marks=frozenset({4}))
    values, _, marks, _ = resample(series, 3)
    assert values == [5, 8, 3] and marks == {2}


def test_export_formats(tmp_path: Path) -> None:
    rows = [{"session_id": "a", "tokens": {"input": 1, "output": 2}, "models": ["m1", "m2"]}]
    written = export.write(rows, tmp_path / "out.json")
    assert json.loads(written.read_text()) == rows
    csv_text = export.write(rows, tmp_path / "out.csv").read_text().splitlines()
    assert csv_text[0] == "session_id,tokens.input,tokens.output,models"
    assert csv_text[1] == "a,1,2,m1;m2"
