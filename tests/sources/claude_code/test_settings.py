"""``ctxtop claude install/uninstall`` on real files: round trips, refusals, symlinks and kills mid-write."""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ctxtop.cli import build_parser
from ctxtop.commands import claude
from ctxtop.core.compaction import PCT_ENV, WINDOW_ENV
from ctxtop.sources.claude_code import settings as cs

ENV_KEYS = (PCT_ENV, WINDOW_ENV, "FOO", "ANTHROPIC_BASE_URL", "DISABLE_TELEMETRY")


def run(*argv: str) -> int:
    args = build_parser().parse_args(list(argv))
    return getattr(claude, args.handler.partition(":")[2])(args)


@contextlib.contextmanager
def world() -> Iterator[Path]:
    """A temporary dir with ctxtop's data dir inside it (hypothesis examples cannot use tmp_path)."""
    saved = {k: os.environ.get(k) for k in ("CTXTOP_DATA_DIR", "CTXTOP_CONFIG_DIR", WINDOW_ENV, PCT_ENV)}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        os.environ["CTXTOP_DATA_DIR"] = str(root / "data")
        os.environ["CTXTOP_CONFIG_DIR"] = str(root / "config")
        os.environ.pop(WINDOW_ENV, None)
        os.environ.pop(PCT_ENV, None)
        try:
            yield root
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)
foreign_command = st.text(max_size=20).filter(lambda c: "ctxtop" not in c) | st.sampled_from(
    # The user's own commands that mention ctxtop are the user's (issue 15.5).
    ["git-prompt.sh; python3 -m ctxtop statusline", "python3 -m ctxtop hook pre-compact && backup.sh"]
)
handler = st.fixed_dictionaries(
    {"type": st.just("command"), "command": foreign_command}, optional={"timeout": st.integers(1, 600)}
)
group = st.fixed_dictionaries(
    {"hooks": st.lists(handler, max_size=2)}, optional={"matcher": st.text(max_size=6)}
)
settings_docs = st.fixed_dictionaries(
    {},
    optional={
        "env": st.dictionaries(st.sampled_from(ENV_KEYS), st.sampled_from(["1", "50", "200000", "abc", ""])),
        "hooks": st.dictionaries(
            st.sampled_from(["PreCompact", "SessionStart", "PostToolUse", "Stop"]),
            st.lists(group, max_size=2),
            max_size=3,
        ),
        "statusLine": st.fixed_dictionaries({"type": st.just("command"), "command": foreign_command}),
        "autoCompactWindow": st.sampled_from([150_000, 50, 300_000]),
        "model": st.sampled_from(["sonnet", "opus[1m]", "claude-haiku-4-5"]),
    },
).flatmap(
    lambda base: st.dictionaries(
        st.text(max_size=10).filter(lambda k: k not in ("env", "hooks", "statusLine")),
        json_values,
        max_size=4,
    ).map(lambda extra: {**extra, **base})
)
layouts = st.tuples(st.sampled_from([2, 4, "\t", None]), st.booleans())
install_flags = st.tuples(
    st.sampled_from(["60", "45.5", "90", "10"]),
    st.booleans(),
    st.sampled_from([None, "post", "wrap"]),
    st.sampled_from([None, "300000"]),
)


def layout(doc: dict[str, Any], fmt: tuple[Any, bool]) -> str:
    indent, newline = fmt
    return json.dumps(doc, indent=indent, ensure_ascii=False) + ("\n" if newline else "")


def install_argv(path: Path, flags: tuple[str, bool, str | None, str | None]) -> list[str]:
    threshold, statusline, filt, window = flags
    argv = ["claude", "install", "--settings", str(path), "--threshold", threshold]
    if statusline:
        argv.append("--statusline")
    if filt:
        argv += ["--filter", filt]
    if window:
        argv += ["--window", window]
    return argv


def place(root: Path, text: str, symlink: bool) -> tuple[Path, Path]:
    """Write the settings file; with ``symlink`` the settings path links to a file elsewhere."""
    real = root / ("dotfiles" if symlink else "cfg") / "settings.json"
    real.parent.mkdir(parents=True, exist_ok=True)
    real.write_text(text, encoding="utf-8")
    if not symlink:
        return real, real
    link = root / "cfg" / "settings.json"
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(real)
    return link, real


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=settings_docs, fmt=layouts, flags=install_flags, symlink=st.booleans())
def test_install_then_uninstall_gives_back_the_original_bytes(doc, fmt, flags, symlink) -> None:
    with world() as root:
        original = layout(doc, fmt)
        path, real = place(root, original, symlink)
        assert run(*install_argv(path, flags)) == 0
        installed = json.loads(real.read_text(encoding="utf-8"))
        assert path.is_symlink() == symlink
        for key, value in doc.items():
            if key not in ("env", "hooks", "statusLine"):
                assert installed[key] == value
        for key, value in (doc.get("env") or {}).items():
            if key not in (PCT_ENV, WINDOW_ENV):
                assert installed["env"][key] == value
        commands = [
            h["command"] for groups in installed["hooks"].values() for g in groups for h in g["hooks"]
        ]
        for groups in (doc.get("hooks") or {}).values():
            for g in groups:
                assert all(h["command"] in commands for h in g["hooks"])
        assert any(c.endswith("-m ctxtop hook pre-compact") for c in commands)
        # Idempotent: the same install again changes nothing.
        before = real.read_bytes()
        assert run(*install_argv(path, flags)) == 0
        assert real.read_bytes() == before
        assert run("claude", "uninstall", "--settings", str(path)) == 0
        assert real.read_text(encoding="utf-8") == original
        assert path.is_symlink() == symlink
        assert not (cs.state_dir(real) / "state.json").exists()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=settings_docs, fmt=layouts, flags=install_flags)
def test_uninstall_after_someone_else_edits_keeps_their_edit(doc, fmt, flags) -> None:
    with world() as root:
        original = layout(doc, fmt)
        path, _ = place(root, original, symlink=False)
        assert run(*install_argv(path, flags)) == 0
        # Claude Code (or the user) rewrites the file with a change of its own.
        edited = json.loads(path.read_text(encoding="utf-8"))
        ctxtop_created_env = "env" in edited and "env" not in doc
        edited["theme"] = "dark"
        edited.setdefault("env", {})["OTHER_TOOL"] = "1"
        path.write_text(json.dumps(edited, indent=2) + "\n", encoding="utf-8")
        assert run("claude", "uninstall", "--settings", str(path)) == 0
        expected = json.loads(original)
        expected["theme"] = "dark"
        if not ctxtop_created_env:
            expected.setdefault("env", {})["OTHER_TOOL"] = "1"
        else:
            # ctxtop created "env"; it stays because it is no longer empty.
            expected = {
                **{k: v for k, v in expected.items() if k != "theme"},
                "env": {"OTHER_TOOL": "1"},
                "theme": "dark",
            }
        result = path.read_text(encoding="utf-8")
        assert json.loads(result) == expected
        if fmt == (2, True):
            # Written the way ctxtop (and Claude Code) write it: byte-identical, not just JSON-equal.
            assert result == json.dumps(expected, indent=2, ensure_ascii=False) + "\n"


def test_env_values_ctxtop_replaced_are_restored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CTXTOP_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv(WINDOW_ENV, raising=False)
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"env": {PCT_ENV: "50", "FOO": "x"}}, indent=2) + "\n")
    assert run("claude", "install", "--settings", str(path), "--threshold", "60") == 0
    env = json.loads(path.read_text())["env"]
    assert env == {PCT_ENV: "66.667", "FOO": "x", WINDOW_ENV: "200000"}
    # Someone changes the window after the install: uninstall leaves their value and says so.
    data = json.loads(path.read_text())
    data["env"][WINDOW_ENV] = "180000"
    path.write_text(json.dumps(data, indent=2) + "\n")
    assert run("claude", "uninstall", "--settings", str(path)) == 0
    assert json.loads(path.read_text()) == {"env": {PCT_ENV: "50", "FOO": "x", WINDOW_ENV: "180000"}}


def test_configured_window_is_kept_and_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CTXTOP_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv(WINDOW_ENV, raising=False)
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"autoCompactWindow": 150_000}))
    assert run("claude", "install", "--settings", str(path), "--threshold", "60") == 0
    env = json.loads(path.read_text())["env"]
    assert env == {PCT_ENV: "69.231"}  # 60% of 150,000 = 90,000 = floor(130,000 * 0.69231)


def test_missing_file_is_created_and_removed_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CTXTOP_DATA_DIR", str(tmp_path / "data"))
    path = tmp_path / "new" / "settings.json"
    assert run("claude", "install", "--settings", str(path)) == 0
    assert json.loads(path.read_text())["hooks"]["SessionStart"][0]["matcher"] == "compact"
    assert run("claude", "uninstall", "--settings", str(path)) == 0
    assert not path.exists()


def test_lost_sidecar_still_removes_hooks_and_says_what_it_left(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("CTXTOP_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv(WINDOW_ENV, raising=False)
    path = tmp_path / "settings.json"
    path.write_text("{}\n")
    assert run("claude", "install", "--settings", str(path), "--statusline") == 0
    (cs.state_dir(path.resolve()) / "state.json").unlink()
    assert run("claude", "uninstall", "--settings", str(path)) == 0
    data = json.loads(path.read_text())
    assert "hooks" not in data and "statusLine" not in data
    assert set(data["env"]) == {PCT_ENV, WINDOW_ENV}
    assert "no record of its previous value" in capsys.readouterr().out


@pytest.mark.parametrize(
    "text",
    ['{"env": {"A": 1},}', "[1, 2]", '{"hooks": []}', '{"env": "x"}', '{"hooks": {"Stop": {}}}', "\xff"],
)
def test_invalid_settings_are_refused_and_untouched(tmp_path, monkeypatch, capsys, text) -> None:
    monkeypatch.setenv("CTXTOP_DATA_DIR", str(tmp_path / "data"))
    path = tmp_path / "settings.json"
    raw = text.encode("latin-1") if text == "\xff" else text.encode()
    path.write_bytes(raw)
    assert run("claude", "install", "--settings", str(path)) == 1
    assert run("claude", "uninstall", "--settings", str(path)) == 1
    assert path.read_bytes() == raw
    err = capsys.readouterr().err
    assert str(path) in err and "untouched" in err
    assert not (tmp_path / "data").exists()


def test_invalid_json_message_says_where(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text('{\n  "a": 1,\n}\n')
    with pytest.raises(cs.SettingsError, match=r"line 3, column 1"):
        cs.load(path)


def test_dry_run_prints_a_diff_and_writes_nothing(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("CTXTOP_DATA_DIR", str(tmp_path / "data"))
    path = tmp_path / "settings.json"
    path.write_text('{"model": "sonnet"}\n')
    assert run("claude", "install", "--settings", str(path), "--dry-run", "--statusline") == 0
    out = capsys.readouterr().out
    assert out.startswith(f"--- {path} (now)\n+++ {path} (after)\n")
    assert '+  "statusLine": {' in out and "-m ctxtop hook pre-compact" in out
    assert path.read_text() == '{"model": "sonnet"}\n'
    assert not (tmp_path / "data").exists()
    assert run("claude", "install", "--settings", str(path)) == 0
    assert run("claude", "uninstall", "--settings", str(path), "--dry-run") == 0
    assert '-  "hooks": {' in capsys.readouterr().out
    assert "hooks" in json.loads(path.read_text())


def test_backup_is_taken_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CTXTOP_DATA_DIR", str(tmp_path / "data"))
    path = tmp_path / "settings.json"
    path.write_text('{"a": 1}')
    assert run("claude", "install", "--settings", str(path), "--threshold", "50") == 0
    backup = cs.backup_path(path.resolve())
    assert backup.read_text() == '{"a": 1}' and backup.stat().st_mode & 0o777 == 0o600
    assert run("claude", "install", "--settings", str(path), "--threshold", "40") == 0
    assert backup.read_text() == '{"a": 1}'


def test_filter_modes_replace_each_other_and_install_is_additive(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("CTXTOP_DATA_DIR", str(tmp_path / "data"))
    path = tmp_path / "settings.json"
    assert run("claude", "install", "--settings", str(path), "--filter", "post", "--statusline") == 0
    assert run("claude", "install", "--settings", str(path), "--filter", "wrap", "--threshold", "50") == 0
    data = json.loads(path.read_text())
    assert set(data["hooks"]) == {"PreCompact", "SessionStart", "PreToolUse"}
    assert data["hooks"]["PreToolUse"][0]["matcher"] == "Bash"
    assert data["statusLine"]["command"].endswith("-m ctxtop statusline")
    assert data["env"][PCT_ENV] == "55.556"


def test_failed_replace_leaves_the_old_file(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("CTXTOP_DATA_DIR", str(tmp_path / "data"))
    path = tmp_path / "settings.json"
    path.write_text('{"keep": true}\n')

    def boom(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    # A clear message and exit 1, not a traceback; the file is untouched.
    assert run("claude", "install", "--settings", str(path)) == 1
    assert path.read_text() == '{"keep": true}\n'
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_sigkill_at_random_points_never_leaves_a_broken_file(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    original = json.dumps({"env": {"FOO": "1"}, "big": ["x" * 100] * 2000}, indent=2) + "\n"
    path.write_text(original)
    env = {**os.environ, "CTXTOP_DATA_DIR": str(tmp_path / "data")}
    rng = random.Random(4)
    seen = set()
    for i in range(24):
        action = "install" if i % 2 == 0 else "uninstall"
        proc = subprocess.Popen(
            [sys.executable, "-m", "ctxtop", "claude", action, "--settings", str(path)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(rng.uniform(0.02, 0.15))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        data = json.loads(path.read_text())  # never torn
        assert data["env"]["FOO"] == "1" and len(data["big"]) == 2000
        seen.add("hooks" in data)
    # Whatever state the kills left, a clean uninstall gets the original back.
    done = subprocess.run(
        [sys.executable, "-m", "ctxtop", "claude", "uninstall", "--settings", str(path)],
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(path.read_text()) == json.loads(original)


def test_cli_with_claude_config_dir_like_the_e2e_test(tmp_path: Path) -> None:
    config = tmp_path / "claude-config"
    config.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in (WINDOW_ENV, PCT_ENV)}
    env.update(CLAUDE_CONFIG_DIR=str(config), CTXTOP_DATA_DIR=str(tmp_path / "data"))
    settings_file = config / "settings.json"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "ctxtop",
            "claude",
            "install",
            "--threshold",
            "60",
            "--settings",
            str(settings_file),
        ],
        env=env,
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert "compacts at 120,000 tokens = 60.0% of its 200,000-token window" in done.stdout
    data = json.loads(settings_file.read_text())
    python = cs.python_command()
    assert data == {
        "env": {WINDOW_ENV: "200000", PCT_ENV: "66.667"},
        "hooks": {
            "PreCompact": [
                {
                    "hooks": [
                        {"type": "command", "command": f"{python} -m ctxtop hook pre-compact", "timeout": 5}
                    ]
                }
            ],
            "SessionStart": [
                {
                    "matcher": "compact",
                    "hooks": [
                        {"type": "command", "command": f"{python} -m ctxtop hook session-start", "timeout": 5}
                    ],
                }
            ],
        },
    }
    # --scope user resolves to the same file through CLAUDE_CONFIG_DIR.
    done = subprocess.run(
        [sys.executable, "-m", "ctxtop", "claude", "uninstall", "--scope", "user"],
        env=env,
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert not settings_file.exists()


def test_scope_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(tmp_path / "cc"))
    assert cs.settings_path("user") == tmp_path / "cc" / "settings.json"
    assert cs.settings_path("project", cwd=tmp_path) == tmp_path / ".claude" / "settings.json"
    assert cs.settings_path("local", cwd=tmp_path) == tmp_path / ".claude" / "settings.local.json"
    assert cs.settings_path("user", explicit="~/x.json") == Path.home() / "x.json"


def test_ours_is_recognised_only_for_ctxtop_commands() -> None:
    assert cs.ctxtop_command("'/opt/my venv/bin/python' -m ctxtop hook pre-compact") == "hook:pre-compact"
    assert cs.ctxtop_command("/usr/bin/python3 -m ctxtop statusline") == "statusline"
    # Only the whole command ctxtop writes: a user's command that mentions ctxtop is the user's.
    assert cs.ctxtop_command("/usr/local/bin/ctxtop hook session-start") is None
    assert cs.ctxtop_command("git-prompt.sh; python3 -m ctxtop statusline") is None
    assert cs.ctxtop_command("python3 -m ctxtop hook pre-compact && backup.sh") is None
    assert cs.ctxtop_command("python3 -m ctxtop hook stop") is None
    assert cs.ctxtop_command("mytool hook pre-compact") is None
    assert cs.ctxtop_command("notctxtop hook x") is None
    assert cs.ctxtop_command(None) is None


def test_reinstall_keeps_an_earlier_window_and_caps_to_the_model(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("CTXTOP_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv(WINDOW_ENV, raising=False)
    path = tmp_path / "settings.json"
    assert run("claude", "install", "--settings", str(path), "--window", "500000") == 0
    assert run("claude", "install", "--settings", str(path), "--threshold", "50") == 0
    env = json.loads(path.read_text())["env"]
    assert env == {WINDOW_ENV: "500000", PCT_ENV: "52.0834"}  # 50% of 500,000 = floor(480,000 * p / 100)
    # A known 200K model caps a 500K window: the override is computed for the window really used.
    path.write_text(json.dumps({"model": "claude-sonnet-4-5"}))
    assert run("claude", "install", "--settings", str(path), "--window", "500000", "--threshold", "60") == 0
    assert json.loads(path.read_text())["env"][PCT_ENV] == "66.667"
    assert "caps the window at the model's 200,000" in capsys.readouterr().out


def test_review_regressions_bom_read_only_and_threshold_memory(tmp_path, monkeypatch) -> None:
    """A BOM-prefixed file installs and uninstalls; a read-only file is refused with a message; an install
    with --threshold is remembered so a later --filter install keeps it."""
    import os
    import subprocess
    import sys

    def ctxtop(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "ctxtop", *args], capture_output=True, text=True,
                              env=dict(os.environ), timeout=60)  # fmt: skip

    bom = tmp_path / "bom.json"
    original = b'\xef\xbb\xbf{"a": 1}\n'
    bom.write_bytes(original)
    assert ctxtop("claude", "install", "--settings", str(bom)).returncode == 0
    out = ctxtop("claude", "uninstall", "--settings", str(bom))
    assert out.returncode == 0, out.stderr
    assert bom.read_bytes() == original

    settings = tmp_path / "s.json"
    settings.write_text("{}\n")
    assert ctxtop("claude", "install", "--threshold", "50", "--settings", str(settings)).returncode == 0
    first = json.loads(settings.read_text())["env"]["CLAUDE_AUTOCOMPACT_PCT_OVERRIDE"]
    assert ctxtop("claude", "install", "--filter", "post", "--settings", str(settings)).returncode == 0
    assert json.loads(settings.read_text())["env"]["CLAUDE_AUTOCOMPACT_PCT_OVERRIDE"] == first == "55.556"

    if os.geteuid() != 0:  # root may write a 0444 file anyway; the check is on os.access
        locked = tmp_path / "locked.json"
        locked.write_text("{}\n")
        locked.chmod(0o444)
        out = ctxtop("claude", "install", "--settings", str(locked))
        assert out.returncode == 1 and "read-only" in out.stderr and "Traceback" not in out.stderr
        assert locked.read_text() == "{}\n"
