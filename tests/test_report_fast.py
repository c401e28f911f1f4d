"""``report sessions --json``'s fast path answers from the stored rows only when nothing changed.

Every test runs the real CLI. The fast path is known to have answered when the run imported none of the
application (``-X importtime`` lists no ``ctxtop.adapters.index``); whatever answers must print what a cold
index of the same files prints, byte for byte. Directory mtimes are set to distinct old times after each change
(as changes seconds apart leave them): a directory changed within two seconds is never trusted.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.fixtures import FIXTURES

OLD = time.time() - 86_400
JSON = ("sessions", "--json")


class World:
    def __init__(self, tmp_path: Path) -> None:
        self.tmp = tmp_path
        self.home = tmp_path / "claude"
        shutil.copytree(FIXTURES, self.home)
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("CLAUDE", "ANTHROPIC"))}
        self.env.pop("PYTHONDONTWRITEBYTECODE", None)
        self.env.update(CTXTOP_CONFIG_DIR=str(tmp_path / "cfg"), CTXTOP_DATA_DIR=str(tmp_path / "data"),
                        CTXTOP_API_LOG_DIR=str(tmp_path / "api"), CODEX_HOME=str(tmp_path / "codex"),
                        CLAUDE_CONFIG_DIR=str(self.home))  # fmt: skip
        self.n = 0
        self.settle()

    def settle(self) -> None:
        """Old, distinct mtimes for every file and directory changed since the last call."""
        for dirpath, _dirs, files in os.walk(self.tmp):
            for path in [dirpath, *(os.path.join(dirpath, f) for f in files)]:
                if not os.path.islink(path) and os.stat(path).st_mtime > OLD + 3_600:
                    self.n += 1
                    os.utime(path, (OLD + self.n, OLD + self.n))

    def run(self, *extra: str, data: str = "data", report: tuple[str, ...] = JSON) -> tuple[bytes, bool]:
        """(stdout, whether the fast path answered) of ``ctxtop report REPORT...``."""
        cmd = [sys.executable, "-X", "importtime", "-m", "ctxtop", "report", *report,
               "--data-dir", str(self.tmp / data), *extra]  # fmt: skip
        proc = subprocess.run(cmd, capture_output=True, env=self.env, timeout=120)
        assert proc.returncode == 0, proc.stderr.decode()[-3000:]
        return proc.stdout, b"ctxtop.adapters.index" not in proc.stderr

    def cold(self, report: tuple[str, ...] = JSON) -> bytes:
        shutil.rmtree(self.tmp / "cold", ignore_errors=True)
        return self.run(data="cold", report=report)[0]

    def warm(self, report: tuple[str, ...] = JSON) -> tuple[bytes, bool]:
        """Runs until the fast path can answer: the full path leaves its record, the next run uses it."""
        first, fast = self.run(report=report)
        second, fast2 = self.run(report=report)
        assert second == first
        return second, fast2


@pytest.fixture
def world(tmp_path: Path) -> World:
    return World(tmp_path)


def test_nothing_changed_the_stored_rows_answer_without_the_application(world: World) -> None:
    cold = world.cold()
    out, fast = world.warm()
    assert fast and out == cold
    assert json.loads(out)  # the report's JSON, rows and all
    assert world.run()[1]


def _append_copy(transcript: Path, suffix: str) -> None:
    line = next(x for x in reversed(transcript.read_bytes().splitlines()) if b'"usage"' in x)
    obj = json.loads(line)
    obj["message"]["id"] += suffix
    obj["requestId"] = obj.get("requestId", "req") + suffix
    with transcript.open("ab") as fh:
        fh.write(json.dumps(obj).encode() + b"\n")


def _changes(world: World) -> dict:
    home = world.home
    transcript = max(home.glob("projects/*/*.jsonl"), key=lambda p: p.stat().st_size)

    def appended() -> None:
        _append_copy(transcript, "-more")

    def new_file_in_old_dir() -> None:
        new = transcript.with_name("0bb1e0b5-0000-4000-8000-000000000001.jsonl")
        new.write_bytes(transcript.read_bytes().replace(transcript.stem.encode(), new.stem.encode()))
        _append_copy(new, "-new")

    def new_directory() -> None:
        sub = transcript.with_suffix("") / "subagents"
        sub.mkdir(parents=True, exist_ok=True)
        agent = sub / "agent-a1.jsonl"
        agent.write_bytes(b"")
        line = next(x for x in reversed(transcript.read_bytes().splitlines()) if b'"usage"' in x)
        agent.write_bytes(line + b"\n")
        _append_copy(agent, "-agent")

    def removed() -> None:
        transcript.unlink()

    def settings() -> None:
        (home / "settings.json").write_text(json.dumps({"env": {"CLAUDE_AUTOCOMPACT_PCT_OVERRIDE": "40"}}))

    def config() -> None:
        (world.tmp / "cfg").mkdir(exist_ok=True)
        (world.tmp / "cfg" / "config.toml").write_text("[compaction]\nthreshold = 33\n")

    def environment() -> None:
        world.env["CLAUDE_CODE_AUTO_COMPACT_WINDOW"] = "150000"

    def observation() -> None:
        folder = world.tmp / "data" / "observed"
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        line = next(x for x in reversed(transcript.read_bytes().splitlines()) if b'"usage"' in x)
        model = json.loads(line)["message"]["model"]
        (folder / f"{transcript.stem}.json").write_text(json.dumps({
            "session_id": transcript.stem, "model": {"id": model}, "observed_at": time.time(),
            "context_window": {"context_window_size": 432_100, "used_percentage": 3}}))  # fmt: skip
        os.chmod(folder / f"{transcript.stem}.json", 0o600)

    return {f.__name__: f for f in (appended, new_file_in_old_dir, new_directory, removed, settings, config,
                                    environment, observation)}  # fmt: skip


CHANGES = ["appended", "new_file_in_old_dir", "new_directory", "removed", "settings", "config", "environment",
           "observation"]  # fmt: skip


@pytest.mark.parametrize("change", CHANGES)
def test_any_change_is_seen_and_then_served(world: World, change: str) -> None:
    before, fast = world.warm()
    assert fast
    _changes(world)[change]()
    world.settle()
    after, fast = world.run()
    assert not fast, "the fast path answered although something changed"
    if change != "removed":  # a deleted transcript's requests stay, archived: no cold index has them
        assert after == world.cold()
    assert after != before
    # The full run stored what it rendered: the next run is served again, the same bytes.
    again, fast = world.run()
    assert fast and again == after


def test_a_directory_changed_just_now_is_not_trusted(world: World) -> None:
    world.warm()
    project = next(world.home.glob("projects/*"))
    # A new file in a directory touched just now: its mtime may not have moved since the listing.
    shutil.copy(next(project.glob("*.jsonl")), project / "0bb1e0b5-0000-4000-8000-00000000000f.jsonl")
    out, fast = world.run()
    assert not fast
    out, fast = world.run()
    assert not fast  # still within two seconds of its change: listed again, never kept
    assert out == world.cold()


def test_other_options_and_filters_go_to_the_full_command(world: World) -> None:
    world.warm()
    for extra in (["--since", "2020-01-01"], ["--project", "x"], ["--present-only"]):
        assert not world.run(*extra)[1], extra


def test_real_sessions_with_subagents_are_served_as_a_cold_index_prints_them(
    tmp_path: Path, public_corpus: Path
) -> None:
    world = World(tmp_path)
    shutil.rmtree(world.home / "projects")
    shutil.copytree(public_corpus / "projects", world.home / "projects")
    world.settle()
    cold = world.cold()
    out, fast = world.warm()
    assert fast and out == cold and len(json.loads(out)) > 1


def test_two_config_dirs_are_served_and_a_retargeted_symlink_is_seen(world: World) -> None:
    other = world.tmp / "other"
    shutil.copytree(FIXTURES, other)
    moved = max(other.glob("projects/*/*.jsonl"), key=lambda p: p.stat().st_size)
    twin = moved.with_name("0bb1e0b5-0000-4000-8000-0000000000aa.jsonl")
    twin.write_bytes(moved.read_bytes().replace(moved.stem.encode(), twin.stem.encode()))
    moved.unlink()
    (world.tmp / "link").symlink_to(world.home)
    world.env["CLAUDE_CONFIG_DIR"] = f"{world.tmp / 'link'},{other}"
    world.settle()
    out, fast = world.warm()
    assert fast and out == world.cold()
    # The link now names the other tree: other files, other sessions, whatever the index kept.
    (world.tmp / "link").unlink()
    (world.tmp / "link").symlink_to(other)
    world.env["CLAUDE_CONFIG_DIR"] = str(world.tmp / "link")
    out_one, _ = world.warm()
    (world.tmp / "link").unlink()
    (world.tmp / "link").symlink_to(world.home)
    assert world.run()[1] is False and world.run()[0] != out_one


def test_a_source_that_decides_its_own_window_is_left_to_the_full_command(world: World) -> None:
    # Codex sessions' windows come from their rollout files as they are: the full command reads them.
    shutil.copytree(FIXTURES.parent / "codex", world.tmp / "codex")
    world.settle()
    out, fast = world.warm()
    assert not fast and out == world.cold()
    assert any(r["source"] == "codex" for r in json.loads(out))


def test_a_change_to_the_index_alone_drops_the_stored_output(world: World) -> None:
    # Another process's write (a history import, a TUI's update) changes what the report lists without any
    # file under the roots changing: the stored output must not be printed again.
    import sqlite3

    before, fast = world.warm()
    assert fast
    conn = sqlite3.connect(world.tmp / "data" / "index.sqlite3")
    sid = json.loads(before)[0]["session_id"]
    with conn:
        conn.execute("UPDATE sessions SET archived = archived WHERE session_id = ?", (sid,))
    assert conn.execute("SELECT count(*) FROM meta WHERE key = 'report_output'").fetchone() == (0,)
    out, fast = world.run()
    assert not fast and out == before
    assert world.run() == (before, True)
    # A trigger gone (a table rebuilt by some migration takes its triggers along): not trusted either.
    with conn:
        conn.execute("DROP TRIGGER report_output_files_update")
    conn.close()
    assert world.run() == (before, False)


def test_an_observation_file_removed_is_seen(world: World) -> None:
    _changes(world)["observation"]()
    world.settle()
    with_it, fast = world.warm()
    assert fast
    for path in (world.tmp / "data" / "observed").iterdir():
        path.unlink()
    world.settle()
    out, fast = world.run()
    assert not fast and out != with_it and out == world.cold()


def test_the_stored_output_file_is_printed_only_as_it_was_written(world: World) -> None:
    before, fast = world.warm()
    assert fast
    stored = world.tmp / "data" / "report-sessions.json"
    assert stored.read_bytes() == before and stored.stat().st_mode & 0o777 == 0o600
    stored.write_bytes(before.replace(b"{", b" ", 1))  # the same size, other bytes, the same inode
    assert world.run() == (before, False)
    assert world.run() == (before, True)
    stored.unlink()
    assert world.run() == (before, False)


def test_an_output_whose_replace_a_crash_lost_is_not_printed(world: World) -> None:
    # The kept output is written without syncing its directory: after a power loss the replace may be
    # lost and the name hold the file written before. The index names the new file by its inode, so the
    # old one is not printed for it, whatever its bytes.
    before, fast = world.warm()
    assert fast
    stored = world.tmp / "data" / "report-sessions.json"
    os.link(stored, world.tmp / "older")
    _changes(world)["config"]()
    world.settle()
    after, fast = world.run()
    assert not fast and after != before and stored.stat().st_ino != (world.tmp / "older").stat().st_ino
    os.replace(world.tmp / "older", stored)  # the replace undone: the old inode, its old bytes
    world.settle()
    assert world.run() == (after, False)
    assert world.run() == (after, True)


REPORTS = [("sessions",), ("sessions", "--csv"), ("daily",), ("weekly", "--json"), ("models", "--csv")]


@pytest.mark.parametrize("report", REPORTS, ids=" ".join)
def test_every_report_is_kept_and_printed_again_until_something_changes(world: World, report: tuple) -> None:
    cold = world.cold(report)
    out, fast = world.warm(report)
    assert fast and out == cold and out.strip()
    # Each report keeps its own output; another report's run leaves it as it is.
    assert world.warm()[1]
    assert world.run(report=report) == (out, True)
    _changes(world)["appended"]()
    world.settle()
    after, fast = world.run(report=report)
    assert not fast and after != out and after == world.cold(report)
    assert world.run(report=report) == (after, True)


def test_a_text_report_is_printed_again_only_to_the_same_encoding(world: World) -> None:
    out, fast = world.warm(("sessions",))
    assert fast
    world.env["PYTHONIOENCODING"] = "latin-1:replace"
    assert world.run(report=("sessions",))[1] is False
    assert world.run(report=("sessions",))[1] is True
    del world.env["PYTHONIOENCODING"]
    assert world.run(report=("sessions",)) == (out, False)


def test_reports_run_in_turns_are_each_served(world: World) -> None:
    # Each report's full run leaves the one record: a totals report (no settings files in its rows) must not
    # leave one the sessions' outputs cannot be checked by.
    out, fast = world.warm()
    assert fast
    daily, fast = world.warm(("daily",))
    assert fast
    assert world.run() == (out, True)
    assert world.run(report=("daily",)) == (daily, True)
