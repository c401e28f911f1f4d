"""Issue 15.5-15.7: ctxtop takes out only what it wrote, numbers survive exactly, and kills between the
sidecar and settings.json writes leave a pair that belongs together."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from ctxtop.cli import build_parser
from ctxtop.commands import claude
from ctxtop.core.compaction import PCT_ENV, WINDOW_ENV
from ctxtop.sources.claude_code import settings as cs


def run(*argv: str) -> int:
    args = build_parser().parse_args(list(argv))
    return getattr(claude, args.handler.partition(":")[2])(args)


@pytest.fixture(autouse=True)
def _world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CTXTOP_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("CTXTOP_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.delenv(WINDOW_ENV, raising=False)
    monkeypatch.delenv(PCT_ENV, raising=False)


USERS_OWN = {
    "statusLine": {"type": "command", "command": "~/bin/git-prompt.sh; python3 -m ctxtop statusline"},
    "hooks": {
        "Stop": [{"hooks": [{"type": "command", "command": "python3 -m ctxtop hook pre-compact"}]}],
        "PreCompact": [
            {"hooks": [{"type": "command", "command": "python3 -m ctxtop hook pre-compact && ~/backup.sh"}]}
        ],
    },
}


@pytest.mark.parametrize("statusline", [False, True])
def test_users_own_entries_that_mention_ctxtop_are_never_taken_out(tmp_path: Path, statusline: bool) -> None:
    path = tmp_path / "settings.json"
    original = json.dumps(USERS_OWN, indent=2) + "\n"
    path.write_text(original)
    argv = ["claude", "install", "--settings", str(path)] + (["--statusline"] if statusline else [])
    assert run(*argv) == 0
    data = json.loads(path.read_text())
    assert data["hooks"]["Stop"] == USERS_OWN["hooks"]["Stop"]
    assert data["hooks"]["PreCompact"][0] == USERS_OWN["hooks"]["PreCompact"][0]
    assert len(data["hooks"]["PreCompact"]) == 2  # ctxtop's group comes after the user's
    assert (data["statusLine"] == USERS_OWN["statusLine"]) is not statusline
    assert run(*argv) == 0  # a re-install neither duplicates ctxtop's entries nor drops the user's
    assert len(json.loads(path.read_text())["hooks"]["PreCompact"]) == 2
    assert run("claude", "uninstall", "--settings", str(path)) == 0
    assert path.read_text() == original


def test_edited_file_keeps_the_users_entries_through_uninstall(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text(json.dumps(USERS_OWN, indent=2) + "\n")
    assert run("claude", "install", "--settings", str(path), "--statusline") == 0
    data = json.loads(path.read_text())
    data["model"] = "sonnet"  # the user edits after the install: no byte-for-byte restore now
    path.write_text(json.dumps(data, indent=4))
    assert run("claude", "uninstall", "--settings", str(path)) == 0
    assert json.loads(path.read_text()) == {**USERS_OWN, "model": "sonnet"}


def test_without_a_record_only_the_exact_entry_ctxtop_writes_is_taken_for_ctxtops(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text(json.dumps(USERS_OWN))
    assert run("claude", "install", "--settings", str(path)) == 0
    (cs.state_dir(path.resolve()) / "state.json").unlink()
    assert run("claude", "uninstall", "--settings", str(path)) == 0
    data = json.loads(path.read_text())
    assert data["hooks"] == USERS_OWN["hooks"] and data["statusLine"] == USERS_OWN["statusLine"]


NUMBERS = '{\n  "big": 1e400,\n  "tiny": -2.50E-400,\n  "money": 1.10,\n  "n": 12345678901234567890123,\n  "env": {}\n}\n'


def test_numbers_are_written_back_exactly_as_they_were(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text(NUMBERS)
    assert run("claude", "install", "--settings", str(path), "--statusline") == 0
    text = path.read_text()
    for literal in ('"big": 1e400', '"tiny": -2.50E-400', '"money": 1.10', '"n": 12345678901234567890123'):
        assert literal in text
    assert "Infinity" not in text
    # Claude Code parses settings with JavaScript's JSON.parse: the file must stay valid for it.
    done = subprocess.run(["node", "-e", "JSON.parse(require('fs').readFileSync(process.argv[1], 'utf8'))",
                           str(path)], capture_output=True, text=True)  # fmt: skip
    assert done.returncode == 0, done.stderr
    path.write_text(text.replace('"money": 1.10', '"money": 1.10, "more": 2E+3'))  # edited: no byte restore
    assert run("claude", "uninstall", "--settings", str(path)) == 0
    assert '"big": 1e400' in path.read_text() and '"more": 2E+3' in path.read_text()


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ('{"a": NaN}', "line 1, column 7"),
        ('{\n  "s": "NaN Infinity",\n  "b": [1, -Infinity]\n}', "line 3, column 12"),
        ('{"env": {"X": "1"}, "c": Infinity}', "line 1, column 26"),
    ],
)
def test_nan_and_infinity_are_refused_with_where(tmp_path: Path, capsys, text: str, where: str) -> None:
    path = tmp_path / "settings.json"
    path.write_text(text)
    assert run("claude", "install", "--settings", str(path)) == 1
    assert run("claude", "uninstall", "--settings", str(path)) == 1
    assert path.read_text() == text
    err = capsys.readouterr().err
    assert where in err and "is not a JSON number" in err and "untouched" in err


def test_settings_json_dumps_refuses_plain_non_finite_floats() -> None:
    from ctxtop.adapters import settings_json

    with pytest.raises(ValueError):
        settings_json.dumps({"x": float("inf")})
    assert (
        settings_json.dumps(settings_json.loads('[1.0, 1E5, -0, "@x@"]'), indent=None)
        == '[1.0, 1E5, -0, "@x@"]'
    )


ORIGINAL = '{\n  "model": "sonnet"\n}\n'


def _pct(path: Path) -> str | None:
    return json.loads(path.read_text()).get("env", {}).get(PCT_ENV)


def _leftovers(tmp_path: Path) -> list[str]:
    return sorted(p.name for p in tmp_path.rglob("*.tmp"))


def _replace_fails_at(monkeypatch: pytest.MonkeyPatch, n: int) -> None:
    real = os.replace
    calls = [0]

    def replace(src, dst):  # type: ignore[no-untyped-def]
        calls[0] += 1
        if calls[0] == n:
            raise OSError(5, "simulated failure")
        return real(src, dst)

    monkeypatch.setattr(os, "replace", replace)


@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_a_failed_write_at_any_step_leaves_a_consistent_pair(tmp_path, monkeypatch, n) -> None:
    path = tmp_path / "settings.json"
    path.write_text(ORIGINAL)
    assert run("claude", "install", "--settings", str(path), "--threshold", "60") == 0
    expected_40 = None
    with monkeypatch.context() as patch:
        _replace_fails_at(patch, n)
        run("claude", "install", "--settings", str(path), "--threshold", "40")
    assert run("claude", "install", "--settings", str(path), "--threshold", "40") == 0
    expected_40 = _pct(path)
    assert expected_40 == "44.4445"
    with monkeypatch.context() as patch:
        _replace_fails_at(patch, n)
        run("claude", "uninstall", "--settings", str(path))
    assert run("claude", "uninstall", "--settings", str(path)) == 0
    assert path.read_text() == ORIGINAL
    assert not (cs.state_dir(path.resolve()) / "state.json").exists()


KILLER = textwrap.dedent(
    """
    import os, signal, sys
    real, calls, n = os.replace, [0], int(sys.argv[1])
    def replace(src, dst):
        calls[0] += 1
        if calls[0] == n:
            os.kill(os.getpid(), signal.SIGKILL)
        return real(src, dst)
    os.replace = replace
    from ctxtop.cli import main
    main(sys.argv[2:])
    """
)


def _ctxtop(tmp_path: Path, *argv: str, kill_at: int = 0) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "CTXTOP_DATA_DIR": str(tmp_path / "data"),
        "CTXTOP_CONFIG_DIR": str(tmp_path / "config"),
    }
    return subprocess.run([sys.executable, "-c", KILLER, str(kill_at), *argv], env=env, capture_output=True,
                          text=True, timeout=60)  # fmt: skip


def test_sigkill_before_each_replace_is_recovered_by_the_next_run(tmp_path: Path) -> None:
    """A real SIGKILL just before the Nth rename: the temp file stays behind, like after a real kill."""
    project = tmp_path / "proj" / ".claude"
    project.mkdir(parents=True)
    path = project / "settings.json"
    path.write_text(ORIGINAL)
    assert (
        _ctxtop(tmp_path, "claude", "install", "--settings", str(path), "--threshold", "60").returncode == 0
    )
    for n in (1, 2, 3):
        killed = _ctxtop(
            tmp_path, "claude", "install", "--settings", str(path), "--threshold", "40", kill_at=n
        )
        assert killed.returncode == -9
        assert _leftovers(tmp_path)  # the kill left a temp file, as in the audit
        done = _ctxtop(tmp_path, "claude", "install", "--settings", str(path), "--threshold", "40")
        assert done.returncode == 0, done.stderr
        assert _pct(path) == "44.4445"
        assert [p for p in _leftovers(tmp_path) if "config" not in p] == []
        killed = _ctxtop(tmp_path, "claude", "uninstall", "--settings", str(path), kill_at=min(n, 2))
        assert killed.returncode == -9
        done = _ctxtop(tmp_path, "claude", "uninstall", "--settings", str(path))
        assert done.returncode == 0, done.stderr
        assert path.read_text() == ORIGINAL
        assert os.listdir(project) == ["settings.json"]  # nothing left for `git status` to show
        assert (
            _ctxtop(tmp_path, "claude", "install", "--settings", str(path), "--threshold", "60").returncode
            == 0
        )


def test_temp_files_of_others_and_of_running_writers_are_kept(tmp_path: Path) -> None:
    from ctxtop.adapters.atomic import clean_stale_temps

    path = tmp_path / "settings.json"
    path.write_text("{}")
    other = tmp_path / ".settings.json.abc123.tmp"  # someone else's naming
    running = tmp_path / f".settings.json.ctxtop-{os.getppid()}-x1.tmp"  # a live process
    dead = tmp_path / ".settings.json.ctxtop-999999999-x2.tmp"
    for p in (other, running, dead):
        p.write_text("{")
    assert clean_stale_temps(path) == [dead]
    assert other.exists() and running.exists()


def test_lone_surrogates_and_odd_hook_shapes_install_and_uninstall_cleanly(tmp_path: Path) -> None:
    """Issue 15.10's settings part: no crash, and the file is never written and then left half-done."""
    path = tmp_path / "settings.json"
    original = (
        '{\n  "title": "x\\ud800y",\n  "hooks": {\n    "Stop": [1, "x", {"hooks": [1, "y", null]}, '
        '{"hooks": "no"}],\n    "PreCompact": [{"matcher": 3, "hooks": [{"command": 5}]}]\n  }\n}\n'
    )
    path.write_text(original)
    assert run("claude", "install", "--settings", str(path), "--statusline") == 0
    data = json.loads(path.read_text())
    assert data["title"] == "x\ud800y" and data["hooks"]["Stop"][:2] == [1, "x"]
    assert "\\ud800" in path.read_text()  # written back as the escape it was read from
    assert run("claude", "uninstall", "--settings", str(path)) == 0
    assert path.read_text() == original
