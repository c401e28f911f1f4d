"""Issue 15.4: ctxtop's files never go through a link or into another user's directory; all user-only."""

from __future__ import annotations

import json
import os
import stat
import threading
from pathlib import Path

import pytest

from ctxtop.adapters import notes_store, paths, raw_outputs
from ctxtop.cli import build_parser
from ctxtop.commands import claude
from ctxtop.sources.anthropic_api.log import ApiLogWriter

OLD = 1_000_000_000.0  # 2001: far past any age limit


@pytest.fixture
def data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "home" / ".local" / "share" / "ctxtop"
    monkeypatch.setenv("CTXTOP_DATA_DIR", str(folder))
    monkeypatch.setenv("CTXTOP_CONFIG_DIR", str(tmp_path / "config"))
    return folder


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def _victim(tmp_path: Path) -> Path:
    victim = tmp_path / "victim"
    victim.mkdir(mode=0o755)
    victim.chmod(0o755)
    for i in range(3):
        (victim / f"precious-{i}.txt").write_text("keep me")
        os.utime(victim / f"precious-{i}.txt", (OLD, OLD))
    return victim


def test_a_symlinked_raw_outputs_dir_is_refused_and_its_target_untouched(data: Path, tmp_path: Path) -> None:
    victim = _victim(tmp_path)
    data.mkdir(parents=True)
    (data / "raw-outputs").symlink_to(victim)
    with pytest.raises(paths.UnsafePathError, match="symbolic link"):
        raw_outputs.save(raw_outputs.new_path("s1"), b"output")
    assert raw_outputs.prune(data / "raw-outputs", max_files=0) == 0
    assert sorted(p.name for p in victim.iterdir()) == [f"precious-{i}.txt" for i in range(3)]
    assert _mode(victim) == 0o755


def test_a_real_raw_outputs_dir_is_still_pruned(data: Path) -> None:
    first = raw_outputs.save(raw_outputs.new_path("s1"), b"one")
    os.utime(first, (OLD, OLD))
    second = raw_outputs.save(raw_outputs.new_path("s1"), b"two")
    assert not first.exists() and second.exists()
    assert _mode(second) == 0o600 and _mode(second.parent) == 0o700 and _mode(data) == 0o700


def test_planted_links_at_the_notes_files_are_refused(data: Path, tmp_path: Path) -> None:
    victim = tmp_path / "victim.md"
    victim.write_text("the victim's file\n")
    sid = "abc-123"
    notes_store.save_notes(sid, "first\n")
    path = notes_store.notes_path(sid)
    path.unlink()
    path.symlink_to(victim)
    with pytest.raises(paths.UnsafePathError, match="symbolic link"):
        notes_store.save_notes(sid, "overwrite\n")
    assert notes_store.load_notes(sid) is None  # nor read through it
    notes_store.pins_path(sid).symlink_to(victim)
    with pytest.raises(paths.UnsafePathError):
        notes_store.pin(sid, "a line")
    assert notes_store.load_pins(sid) == []
    assert victim.read_text() == "the victim's file\n" and path.is_symlink()


def test_api_log_refuses_a_planted_link_and_a_fifo(tmp_path: Path) -> None:
    log_dir = tmp_path / "api"
    victim = tmp_path / "victim.jsonl"
    victim.write_text("")
    log_dir.mkdir(mode=0o700)
    (log_dir / "s1.jsonl").symlink_to(victim)
    with pytest.raises(paths.UnsafePathError, match="symbolic link"):
        ApiLogWriter("s1", log_dir).append({"type": "api_request"})
    assert victim.read_text() == ""
    os.mkfifo(log_dir / "s2.jsonl")
    outcome: list[BaseException] = []
    worker = threading.Thread(
        target=lambda: _append_catching(ApiLogWriter("s2", log_dir), outcome), daemon=True
    )
    worker.start()
    worker.join(5)
    assert not worker.is_alive(), "append blocked on a FIFO"
    assert outcome and isinstance(outcome[0], OSError)
    ApiLogWriter("s3", log_dir).append({"type": "api_request"})
    assert _mode(log_dir / "s3.jsonl") == 0o600


def _append_catching(writer: ApiLogWriter, outcome: list[BaseException]) -> None:
    try:
        writer.append({"type": "api_request"})
    except BaseException as exc:  # noqa: BLE001 - the test inspects it
        outcome.append(exc)


def test_a_directory_of_another_user_is_refused(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to give a directory to another user")
    foreign = tmp_path / "foreign"
    foreign.mkdir(mode=0o777)
    os.chown(foreign, 65534, 65534)
    foreign.chmod(0o777)
    with pytest.raises(paths.UnsafePathError, match="belongs to user id 65534"):
        paths.ensure_private_dir(foreign)
    assert _mode(foreign) == 0o777  # not taken over either
    victim = _victim(tmp_path)
    os.chown(victim, 65534, 65534)
    assert raw_outputs.prune(victim, max_files=0) == 0 and len(list(victim.iterdir())) == 3


def test_everything_ctxtop_creates_is_user_only(data: Path, tmp_path: Path, monkeypatch) -> None:
    old = os.umask(0o022)
    try:
        notes_store.save_notes("abc", "x\n")
        settings = tmp_path / "settings.json"
        args = build_parser().parse_args(["claude", "install", "--settings", str(settings)])
        assert claude.install(args) == 0
    finally:
        os.umask(old)
    state = next((data / "claude-settings").iterdir())
    for folder in (data, data / "notes", data / "claude-settings", state):
        assert _mode(folder) == 0o700, folder
    assert _mode(data / "notes" / "abc.md") == 0o600 and _mode(state / "state.json") == 0o600
    # A data dir an older version created 0755 is tightened on the next write.
    data.chmod(0o755)
    notes_store.save_notes("abc", "y\n")
    assert _mode(data) == 0o700
    assert json.loads((state / "state.json").read_text())["format"] == 2


def test_ensure_private_dir_refuses_a_link_and_a_file(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "link").symlink_to(real)
    with pytest.raises(paths.UnsafePathError, match="symbolic link"):
        paths.ensure_private_dir(tmp_path / "link")
    (tmp_path / "file").write_text("")
    with pytest.raises(paths.UnsafePathError, match="not a directory"):
        paths.ensure_private_dir(tmp_path / "file")
