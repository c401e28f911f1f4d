"""The budget hook (``ctxtop hook user-prompt-submit``), ``ctxtop budget allow|status`` and
``claude install --enforce-budgets``, on the committed transcripts written by the real Claude Code CLI."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ctxtop import cli
from ctxtop.commands.hook_budget import user_prompt_submit
from tests.support.fixtures import scenario

REFACTOR = scenario("refactor")  # $1.95 over 16 requests (claude-opus-4-8)
NOISY = scenario("noisy")


def _copy(world: Path, sc) -> Path:  # type: ignore[no-untyped-def]
    path = world / "claude-home" / "projects" / sc.project_dir / f"{sc.session_id}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(sc.path, path)
    return path


def _config(world: Path, text: str) -> None:
    folder = world / "ctxtop_config_dir"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.toml").write_text(text)


def _payload(path: Path, sc=REFACTOR) -> dict:  # type: ignore[no-untyped-def]
    return {"session_id": sc.session_id, "transcript_path": str(path), "hook_event_name": "UserPromptSubmit",
            "cwd": sc.cwd, "prompt": "go on"}  # fmt: skip


def _last_ts(path: Path) -> float:
    from datetime import datetime

    stamps = [json.loads(line).get("timestamp") for line in path.read_text().splitlines() if line.strip()]
    last = max(s for s in stamps if s)
    return datetime.fromisoformat(last.replace("Z", "+00:00")).timestamp()


def test_no_hard_limit_never_blocks(isolated_dirs: Path) -> None:
    path = _copy(isolated_dirs, REFACTOR)
    _config(isolated_dirs, "[budgets]\nsession_usd = 0.01\ndaily_usd = 0.01\n")  # budgets alert, never block
    assert user_prompt_submit(_payload(path)) is None


def test_session_hard_limit_blocks_until_allowed_once(
    isolated_dirs: Path, capsys: pytest.CaptureFixture
) -> None:
    path = _copy(isolated_dirs, REFACTOR)
    _config(isolated_dirs, "[budgets]\nsession_usd_hard = 1.50\n")
    reply = json.loads(user_prompt_submit(_payload(path)) or "{}")
    assert reply["decision"] == "block"
    assert reply["reason"].startswith(
        "ctxtop: the session hard limit ($1.50) is passed: $1.95 spent, $0.45 over."
    )
    assert cli.main(["budget", "allow", REFACTOR.session_id[:8]]) == 0
    assert REFACTOR.session_id in capsys.readouterr().out
    assert user_prompt_submit(_payload(path)) is None  # the grant is used up here
    assert cli.main(["budget", "allow", "zz-not-a-session"]) == 1  # a typo grants nothing
    assert "no session id starts with 'zz-not-a-session'" in capsys.readouterr().err
    assert json.loads(user_prompt_submit(_payload(path)) or "{}")["decision"] == "block"


def test_day_hard_limit_counts_every_session_and_allow_today_lifts_it(isolated_dirs: Path) -> None:
    refactor = _copy(isolated_dirs, REFACTOR)
    now = _last_ts(refactor)
    _config(isolated_dirs, "[budgets]\ndaily_usd_hard = 2.00\n")
    assert user_prompt_submit(_payload(refactor), now=now) is None  # $1.95 alone is under $2.00
    # Another session of the same day appears: REFACTOR's hook reads it too (changed since the period began).
    noisy = _copy(isolated_dirs, NOISY)
    now = max(now, _last_ts(noisy))
    reason = json.loads(user_prompt_submit(_payload(refactor), now=now) or "{}")["reason"]
    assert "the daily hard limit ($2.00) is passed on " in reason and "[budgets] daily_usd_hard" in reason
    # The next day the daily budget starts again.
    assert user_prompt_submit(_payload(refactor), now=now + 86400) is None
    from ctxtop.adapters import budget_state
    from ctxtop.core.budgets import period

    budget_state.allow_day(period("day", now).label)
    assert user_prompt_submit(_payload(refactor), now=now) is None
    assert user_prompt_submit(_payload(noisy, NOISY), now=now) is None


def test_near_the_session_limit_asks_to_compact_once(isolated_dirs: Path) -> None:
    path = _copy(isolated_dirs, REFACTOR)
    _config(isolated_dirs, '[budgets]\nsession_usd_hard = 2.50\nsoft_pct = 75\nenforce_compact = "on"\n')
    reply = json.loads(user_prompt_submit(_payload(path)) or "{}")
    assert reply["decision"] == "block" and "run /compact first" in reply["reason"]
    assert "at 78% of its hard limit ($1.95 of $2.50)" in reply["reason"]
    assert user_prompt_submit(_payload(path)) is None  # asked once; the prompt goes through


def _hook(env: dict[str, str], payload: dict) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ctxtop", "hook", "user-prompt-submit"], input=json.dumps(payload),
                          env=env, capture_output=True, text=True, timeout=30)  # fmt: skip


def test_the_hook_process_blocks_and_fails_open(isolated_dirs: Path) -> None:
    path = _copy(isolated_dirs, REFACTOR)
    _config(isolated_dirs, "[budgets]\nsession_usd_hard = 1\n")
    env = dict(os.environ)
    done = _hook(env, _payload(path))
    assert done.returncode == 0 and json.loads(done.stdout)["decision"] == "block"
    # Any ctxtop error lets the prompt through: here the data dir (the index's home) is a plain file.
    data = Path(env["CTXTOP_DATA_DIR"])
    shutil.rmtree(data)
    data.write_text("not a directory")
    done = _hook(env, _payload(path))
    assert (done.returncode, done.stdout) == (0, "")
    # ... and so does running out of time: a config.toml that is a FIFO nobody writes blocks the read.
    shutil.rmtree(isolated_dirs / "ctxtop_config_dir")
    (isolated_dirs / "ctxtop_config_dir").mkdir()
    os.mkfifo(isolated_dirs / "ctxtop_config_dir" / "config.toml")
    data.unlink()
    done = _hook(env, _payload(path))
    assert (done.returncode, done.stdout) == (0, "")
    # The let-through is noted, so a prompt that went through can be told from a decision.
    [noted] = [json.loads(line) for line in (data / "hooks.log").read_text().splitlines()]
    assert (noted["event"], noted["outcome"]) == ("user-prompt-submit", "timeout")
    assert noted["detail"] == "no answer within the hook's 4 s"
    # Not JSON, no session: through.
    for text in ("not json", "[]", json.dumps({"prompt": "x"})):
        done = subprocess.run([sys.executable, "-m", "ctxtop", "hook", "user-prompt-submit"], input=text, env=env,
                              capture_output=True, text=True, timeout=30)  # fmt: skip
        assert (done.returncode, done.stdout) == (0, "")


def test_install_enforce_budgets_is_kept_by_reinstall_and_removed_by_uninstall(
    isolated_dirs: Path, capsys: pytest.CaptureFixture
) -> None:
    settings = isolated_dirs / "settings.json"
    original = '{\n  "hooks": {\n    "UserPromptSubmit": [\n      {\n        "hooks": [\n          {\n' \
               '            "type": "command",\n            "command": "my-own-check"\n          }\n' \
               '        ]\n      }\n    ]\n  }\n}\n'  # fmt: skip
    settings.write_text(original)
    assert cli.main(["claude", "install", "--enforce-budgets", "--settings", str(settings)]) == 0
    assert "no hard limit is set in [budgets] yet" in capsys.readouterr().out
    groups = json.loads(settings.read_text())["hooks"]["UserPromptSubmit"]
    commands = [h["command"] for g in groups for h in g["hooks"]]
    assert commands[0] == "my-own-check" and commands[1].endswith("-m ctxtop hook user-prompt-submit")
    assert cli.main(["claude", "install", "--settings", str(settings)]) == 0  # additive: kept
    assert len(json.loads(settings.read_text())["hooks"]["UserPromptSubmit"]) == 2
    assert cli.main(["claude", "uninstall", "--settings", str(settings)]) == 0
    assert settings.read_text() == original


def test_budget_status_json(isolated_dirs: Path, capsys: pytest.CaptureFixture) -> None:
    _copy(isolated_dirs, REFACTOR)
    _config(isolated_dirs, "[budgets]\nsession_usd = 2\nsession_usd_hard = 3\nmonthly_usd = 1000\n")
    assert cli.main(["budget", "status", REFACTOR.session_id[:8], "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["budgets"]
    session = next(r for r in rows if r["level"] == "session")
    assert session["spent"].startswith("1.95") and session["state"] == "soft"
    assert {r["level"] for r in rows} == {"session", "month"}


def test_doctor_lists_the_budgets_and_the_hook_runs_that_let_through(
    isolated_dirs: Path, capsys: pytest.CaptureFixture
) -> None:
    _copy(isolated_dirs, REFACTOR)
    _config(isolated_dirs, "[budgets]\nsession_usd = 10\nsession_usd_hard = 15\n")
    done = subprocess.run([sys.executable, "-m", "ctxtop", "hook", "user-prompt-submit"], input="not json",
                          capture_output=True, text=True, timeout=30)  # fmt: skip
    assert (done.returncode, done.stdout) == (0, "")
    assert cli.main(["doctor", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["budgets"] == [{"level": "session", "unit": "usd", "budget": "10.0", "hard": "15.0",
                                  "text": "budget $10.00, hard $15.00"}]  # fmt: skip
    [failed] = report["hook_fail_opens_24h"]
    assert (failed["event"], failed["outcome"]) == ("user-prompt-submit", "error")
    assert failed["detail"].startswith("JSONDecodeError")
