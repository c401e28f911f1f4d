"""A bad config value costs that value only: reports, doctor and the TUI keep working and say what was wrong."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from ctxtop.adapters import paths
from tests.support.fixtures import scenario

BAD_PRICE = '[prices."claude-opus-4-8"]\ninput = "x"\noutput = 25\n'


def ctxtop(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ctxtop", *args], capture_output=True, text=True,
                          env=dict(os.environ), timeout=120)  # fmt: skip


def write_config(text: str) -> Path:
    path = paths.config_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_a_bad_price_override_is_reported_once_and_reports_still_run(
    tmp_path: Path, claude_fixtures: Path
) -> None:
    claude = tmp_path / "claude"
    shutil.copytree(claude_fixtures, claude)
    config = write_config(BAD_PRICE)
    common = ["--claude-dir", str(claude), "--cache-dir", str(tmp_path / "cache")]
    message = (f'{config}: [prices."claude-opus-4-8"] input = "x": expected a price in USD per million tokens, '
               "0 or more; this model's prices are ignored")  # fmt: skip
    for report in ("sessions", "daily"):
        done = ctxtop("report", report, "--json", *common)
        assert done.returncode == 0 and "Traceback" not in done.stderr
        assert done.stderr.count(message) == 1
        rows = json.loads(done.stdout)
        assert rows and all(row["cost_usd"] is not None for row in rows)  # genai-prices' rates apply
    doctor = ctxtop("doctor", *common)
    assert doctor.returncode == 0 and "Traceback" not in doctor.stderr
    assert doctor.stdout.count(message) == 1 and message not in doctor.stderr


def test_doctor_says_when_there_is_no_config_file(tmp_path: Path) -> None:
    done = ctxtop("doctor", "--cache-dir", str(tmp_path / "cache"))
    assert done.returncode == 0
    assert (
        f"Config: no config file (defaults; threshold 60%); ctxtop reads {paths.config_file()}\n"
        in done.stdout
    )
    assert not paths.config_file().exists()


def test_doctor_reports_an_unknown_theme_and_a_window_that_is_not_a_number(tmp_path: Path) -> None:
    config = write_config('[ui]\ntheme = "mine-typo"\n[windows]\n"claude-opus" = "big"\n')
    done = ctxtop("doctor", "--json", "--cache-dir", str(tmp_path / "cache"))
    assert done.returncode == 0
    assert json.loads(done.stdout)["config_problems"] == [
        f'{config}: [windows] "claude-opus" = "big": expected a whole number of tokens; this window is ignored',
        f'{config}: [ui] theme = "mine-typo": no such theme (using ctxtop-dark)',
    ]
    # A user theme of that name makes it a known theme.
    (config.parent / "themes").mkdir()
    (config.parent / "themes" / "mine.toml").write_text('name = "mine-typo"\nprimary = "#ff8800"\n')
    done = ctxtop("doctor", "--json", "--cache-dir", str(tmp_path / "cache"))
    assert not any("theme" in p for p in json.loads(done.stdout)["config_problems"])


def test_the_statusline_says_when_the_config_has_problems(tmp_path: Path, claude_fixtures: Path) -> None:
    refactor = scenario("refactor")
    payload = {"session_id": refactor.session_id, "transcript_path": str(claude_fixtures / refactor.relpath()),
               # What Claude Code sends for a 200K window (the default 1M would read 8%).
               "context_window": {"context_window_size": 200_000}}  # fmt: skip
    write_config("[compaction]\nthreshold = 97\n" + BAD_PRICE)
    done = subprocess.run([sys.executable, "-m", "ctxtop", "statusline", f"--cache-dir={tmp_path / 'c'}"],
                          input=json.dumps(payload), capture_output=True, text=True,
                          env={**os.environ, "CTXTOP_STATUSLINE_BUDGET": "30"}, timeout=60)  # fmt: skip
    # The context is the last main request's prompt, as the fake API reported it: 76,000 tokens.
    last = refactor.answers("main")[-1]
    context = last["input_tokens"] + last["cache_read_input_tokens"] + last["cache_creation_input_tokens"]
    assert context == 76_000
    # The bad threshold is dropped, the default (60%) applies: 120,000 - 76,000 tokens of room; the line
    # says why (the bad price override costs that model's override only: the figures are still priced).
    assert done.stdout.startswith("ctx 38% · 44K to compact · re-read ")
    assert done.stdout.endswith(" · config.toml has problems: ctxtop doctor\n")
    assert "$" in done.stdout
