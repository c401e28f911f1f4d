"""What you ask for is what you see: one index holding several config dirs shows each view only the sessions
of the sources in effect (reports, doctor, statusline, the TUI's dashboard, spend and history), and the
sessions whose transcripts Claude Code deleted keep their totals, marked, unless ``--present-only``.

The "work" config dir is a copy of the repository's fixtures; the "personal" one, the public corpus."""

from __future__ import annotations

import json
import shutil
from decimal import Decimal
from pathlib import Path

import pytest

from ctxtop import cli
from ctxtop.adapters.config import Config
from ctxtop.core.pricing import fmt_usd
from ctxtop.services import events as m
from ctxtop.services.live import Engine
from ctxtop.services.monitor import Monitor
from tests.support.fixtures import last_activity, scenario

PUBLIC_NOW = 1795352400.0  # 2026-11-22 13:00 UTC, half an hour after the public sessions' last activity
FIXTURES_NOW = last_activity() + 1800  # the same for the fixtures
REFACTOR = scenario("refactor")


@pytest.fixture
def work(tmp_path: Path, claude_fixtures: Path) -> Path:
    work = tmp_path / "work-claude"
    shutil.copytree(claude_fixtures, work)
    return work


@pytest.fixture
def roots(tmp_path: Path, work: Path, public_corpus: Path) -> tuple[Path, Path]:
    personal = tmp_path / "personal-claude"
    shutil.copytree(public_corpus, personal, ignore=shutil.ignore_patterns("edge", "*.md"))
    return work, personal


def _ids(root: Path) -> set[str]:
    return {p.stem for p in (root / "projects").glob("*/*.jsonl")}


def _json(capsys: pytest.CaptureFixture[str], *argv: str) -> object:
    assert cli.main(list(argv)) == 0
    return json.loads(capsys.readouterr().out)


def _report(capsys: pytest.CaptureFixture[str], kind: str, *argv: str) -> list[dict]:
    rows = _json(capsys, "report", kind, "--json", *argv)
    assert isinstance(rows, list)
    return rows


def test_one_index_two_config_dirs_each_view_shows_its_own(
    roots: tuple[Path, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    work, personal = roots
    cache = str(tmp_path / "shared-cache")
    for root in (work, personal, work):  # both indexed into the same cache, then the first again
        rows = _report(capsys, "sessions", "--claude-dir", str(root), "--cache-dir", cache)
        assert {r["session_id"] for r in rows} == _ids(root)
    # The same numbers as an index of that directory alone.
    for root in (work, personal):
        for kind in ("daily", "projects", "models"):
            shared = _report(capsys, kind, "--claude-dir", str(root), "--cache-dir", cache)
            alone = _report(capsys, kind, "--claude-dir", str(root), "--cache-dir", str(tmp_path / root.name))
            assert shared == alone
    # CLAUDE_CONFIG_DIR naming a dir that does not exist: nothing, not everything the cache holds.
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(tmp_path / "does-not-exist"))
    assert _report(capsys, "sessions", "--cache-dir", cache) == []
    assert cli.main(["report", "sessions", "--cache-dir", cache]) == 0
    assert "No sessions found" in capsys.readouterr().out
    doctor = _json(capsys, "doctor", "--json", "--cache-dir", cache)
    assert isinstance(doctor, dict) and doctor["index"]["sessions"] == 0 and doctor["index"]["files"] == 0
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(personal))
    doctor = _json(capsys, "doctor", "--json", "--cache-dir", cache)
    assert isinstance(doctor, dict) and doctor["index"]["sessions"] == len(_ids(personal))
    # The statusline of a work session, with the shared cache.
    transcript = next((work / "projects").glob("*/*.jsonl"))
    monkeypatch.setattr(
        "sys.stdin", __import__("io").StringIO(json.dumps({"transcript_path": str(transcript)}))
    )
    assert cli.main(["statusline", f"--cache-dir={cache}"]) == 0
    line = capsys.readouterr().out
    work_cost = next(
        r["cost_usd"]
        for r in _report(capsys, "sessions", "--claude-dir", str(work), "--cache-dir", cache)
        if r["session_id"] == transcript.stem
    )
    assert line.strip().endswith(fmt_usd(Decimal(work_cost)))


def _engine(root: Path, cache: str, now: float = FIXTURES_NOW) -> tuple[Engine, list[object]]:
    posted: list[object] = []
    config = Config.load()

    def factory(cfg: Config) -> Monitor:
        return Monitor.open([str(root)], None, cache, cfg)

    engine = Engine(factory, config, posted.append, clock=lambda: now, watch=False)
    engine._open()
    engine._initial()
    return engine, posted


def test_the_tui_dashboard_spend_and_history_show_only_the_dir_in_effect(
    roots: tuple[Path, Path], tmp_path: Path
) -> None:
    work, personal = roots
    cache = str(tmp_path / "shared-cache")
    spends = {}
    for root, now in ((personal, PUBLIC_NOW), (work, FIXTURES_NOW)):
        engine, posted = _engine(root, cache, now)
        engine._history(None, None, "session")
        engine._close()
        updates = [p for p in posted if isinstance(p, m.SessionsUpdated)]
        shown = {v.stats.session_id for u in updates for v in u.views}
        assert shown <= _ids(root) and shown
        [history] = [p for p in posted if isinstance(p, m.HistoryLoaded)]
        assert {v.stats.session_id for v in history.views} == _ids(root)
        spends[root] = updates[-1].spend
    # The repro: an empty config dir with the shared cache showed another dir's spend and sessions.
    (tmp_path / "empty").mkdir()
    engine, posted = _engine(tmp_path / "empty", cache)
    engine._close()
    [update] = [p for p in posted if isinstance(p, m.SessionsUpdated)]
    assert update.views == [] and (update.spend.today, update.spend.week) == (0, 0)
    # The work dir alone, in its own cache, spends the same as in the shared one.
    engine, posted = _engine(work, str(tmp_path / "alone"))
    engine._close()
    alone = [p for p in posted if isinstance(p, m.SessionsUpdated)][-1].spend
    assert (spends[work].today, spends[work].week) == (alone.today, alone.week)
    assert spends[work].week > 0


def test_archived_sessions_keep_their_totals_in_reports_and_history(
    work: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Claude Code's cleanup deletes a session's transcripts: its totals stay, marked, in every report and in
    # the TUI's history, not on the live dashboard; --present-only and a cold index agree on what is left.
    cache = str(tmp_path / "cache")
    args = ("--claude-dir", str(work), "--cache-dir", cache)
    before = {k: _report(capsys, k, *args) for k in ("sessions", "daily", "projects", "models")}
    shutil.rmtree(work / "projects" / REFACTOR.project_dir)
    after = {k: _report(capsys, k, *args) for k in ("sessions", "daily", "projects", "models")}
    for kind in ("daily", "projects", "models"):
        assert after[kind] == before[kind]
    old = {r["session_id"]: r for r in before["sessions"]}
    for row in after["sessions"]:
        deleted = row["session_id"] == REFACTOR.session_id
        assert row["transcript_deleted"] is deleted
        assert (row["cost_usd"], row["tokens"], row["requests"]) == (
            old[row["session_id"]]["cost_usd"], old[row["session_id"]]["tokens"], old[row["session_id"]]["requests"],
        )  # fmt: skip
    gone = next(r for r in after["sessions"] if r["session_id"] == REFACTOR.session_id)
    assert gone["archived_requests"] == gone["requests"]
    # --present-only: what a cold index of the files left gives.
    cold = ("--claude-dir", str(work), "--cache-dir", str(tmp_path / "cold"))
    for kind in ("sessions", "daily", "projects", "models"):
        assert _report(capsys, kind, *args, "--present-only") == _report(capsys, kind, *cold)
    assert REFACTOR.session_id not in {
        r["session_id"] for r in _report(capsys, "sessions", *args, "--present-only")
    }
    total = sum(Decimal(r["cost_usd"]) for r in after["daily"])
    assert total > sum(Decimal(r["cost_usd"]) for r in _report(capsys, "daily", *cold))
    # doctor counts them; the text says what happened.
    doctor = _json(capsys, "doctor", "--json", *args)
    assert isinstance(doctor, dict)
    assert doctor["index"]["archived_sessions"] == 1
    assert doctor["index"]["archived_requests"] == gone["requests"]
    assert cli.main(["doctor", *args]) == 0
    assert "Archived (transcripts deleted, totals kept): 1 sessions" in capsys.readouterr().out
    # The TUI: in the history, marked; not on the live dashboard.
    engine, posted = _engine(work, cache)
    engine._history(None, None, "session")
    engine._close()
    dashboard = {v.stats.session_id for p in posted if isinstance(p, m.SessionsUpdated) for v in p.views}
    assert REFACTOR.session_id not in dashboard and dashboard
    [history] = [p for p in posted if isinstance(p, m.HistoryLoaded)]
    marked = {v.stats.session_id for v in history.views if v.stats.transcript_deleted}
    assert marked == {REFACTOR.session_id}
