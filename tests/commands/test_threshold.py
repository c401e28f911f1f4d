"""One threshold: the CLI, the config, the TUI's view model, ``claude install`` and the statusline agree on it.

Each test here is a regression of a bug where two of them disagreed (issue 9, "Threshold and config").
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ctxtop.adapters import paths
from ctxtop.adapters.config import Config
from ctxtop.cli import build_parser
from ctxtop.commands import claude
from ctxtop.core.compaction import PCT_ENV, compact_at_tokens, threshold_tokens
from ctxtop.services.monitor import Monitor
from tests.support.fixtures import rereads, scenario

SCENARIO = scenario("refactor")
REFACTOR = SCENARIO.session_id
CONTEXT = rereads(SCENARIO.path).context  # the session's last context, recomputed from its raw lines


def install(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    args = build_parser().parse_args(["claude", "install", *argv])
    code = claude.install(args)
    out = capsys.readouterr()
    return code, out.out, out.err


def env_of(settings: Path) -> dict[str, str]:
    return json.loads(settings.read_text()).get("env", {})


@pytest.mark.parametrize("value", ["0", "2", "97", "100", "nan"])
def test_a_threshold_out_of_range_is_refused_with_the_one_range(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], value: str
) -> None:
    settings = tmp_path / "settings.json"
    code, _out, err = install(capsys, "--settings", str(settings), "--threshold", value)
    assert code == 1
    assert (
        err == f"ctxtop: --threshold {float(value):g}: must be between 5 and 95 (% of the context window)\n"
    )
    assert not settings.exists() and not paths.config_file().exists()


def test_a_threshold_past_claude_codes_point_removes_the_earlier_override(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = tmp_path / "settings.json"
    assert install(capsys, "--settings", str(settings), "--threshold", "50")[0] == 0
    assert env_of(settings)[PCT_ENV] == "55.556"
    code, out, _err = install(capsys, "--settings", str(settings), "--threshold", "90")
    assert code == 0 and f"no {PCT_ENV} needed" in out
    # The old override (which compacted at 100,000) is gone: Claude Code's own point applies.
    assert PCT_ENV not in env_of(settings)
    assert "Claude Code compacts at 167,000 tokens" in out
    assert Config.load().threshold == 90.0 and "ctxtop's threshold is now 90%" in out


def test_the_config_threshold_is_one_number_for_install_and_display(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = tmp_path / "settings.json"
    config_file = paths.config_file()
    config_file.parent.mkdir(parents=True)
    for text in ("[compaction]\nthreshold = 97\n", "threshold = 70\n"):
        config_file.write_text(text)
        code, out, err = install(capsys, "--settings", str(settings))
        assert code == 0
        if "97" in text:  # out of range: reported with file, key and value; 60 used by install and display
            assert (
                err
                == f"ctxtop: {config_file}: [compaction] threshold = 97: must be between 5 and 95 (using 60)\n"
            )
        assert env_of(settings)[PCT_ENV] == "66.667"  # 60% of 200,000: 120,000
        assert "compacts at 120,000 tokens" in out
        assert Config.load().threshold == 60.0
        assert config_file.read_text() == text  # install without --threshold never writes the config
    problems = Config.load().problems
    assert problems == [f"{config_file}: threshold = 70: not a ctxtop setting, ignored; "
                        "did you mean [compaction] threshold?"]  # fmt: skip


def test_a_threshold_that_cannot_be_remembered_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config_file = paths.config_file()
    config_file.parent.mkdir(parents=True)
    config_file.write_text("[compaction\n")  # broken TOML: never overwritten
    code, out, _err = install(capsys, "--settings", str(tmp_path / "s.json"), "--threshold", "45")
    assert code == 0 and "ctxtop's own threshold was not updated to 45%" in out and "not overwritten" in out
    assert config_file.read_text() == "[compaction\n"


def test_a_remembered_threshold_keeps_the_users_comments(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config_file = paths.config_file()
    config_file.parent.mkdir(parents=True)
    config_file.write_text('# mine\n[ui]\ntheme = "ctxtop-light"  # the light one\n')
    assert install(capsys, "--settings", str(tmp_path / "s.json"), "--threshold", "45")[0] == 0
    assert config_file.read_text() == (
        '# mine\n[ui]\ntheme = "ctxtop-light"  # the light one\n\n[compaction]\nthreshold = 45.0\n'
    )


async def test_cli_config_tui_install_and_statusline_show_one_number(
    tmp_path: Path, claude_fixtures: Path
) -> None:
    """``--threshold 66.6667``: 133,334 tokens of a 200,000 window everywhere (once 133,333 in the TUI)."""
    from ctxtop.ui.app import CtxtopApp

    claude_dir = tmp_path / "claude"
    shutil.copytree(claude_fixtures, claude_dir)
    settings = claude_dir / "settings.json"
    cache = tmp_path / "cache"
    threshold, window = 66.6667, 200_000
    expected = threshold_tokens(threshold, window)
    assert expected == 133_334

    # CLI -> Claude Code's settings and ctxtop's config.
    args = build_parser().parse_args(
        ["claude", "install", "--settings", str(settings), "--threshold", "66.6667"]
    )
    assert claude.install(args) == 0
    assert Config.load().threshold == threshold
    # Claude Code's own rule on the override install wrote.
    assert compact_at_tokens(window, float(env_of(settings)[PCT_ENV])) == expected

    # The TUI's view model, through the app's engine.
    def factory(config: Config) -> Monitor:
        return Monitor.open([str(claude_dir)], str(tmp_path / "api"), str(cache), config)

    app = CtxtopApp(factory, config_dir=paths.config_dir(), clock=lambda: 2e9, watch=False,
                    theme="ctxtop-dark", claude_dirs=[str(claude_dir)])  # fmt: skip
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()  # the dashboard mounts first
        while REFACTOR not in app.views:
            await pilot.pause(0.05)
        await pilot.pause(0.2)  # let the dashboard settle (preview requests) before the app is torn down
        view = app.views[REFACTOR]
        # The threshold is a share of the compaction window install wrote; the fill stays against the
        # model's own 1M (Claude Code 2.1.197's default opus-4-8).
        assert (view.threshold_pct, view.compaction.window, view.window) == (threshold, window, 1_000_000)
        assert view.threshold_tokens == view.compaction.compact_at == expected
        assert view.room_before_compaction == expected - CONTEXT

    # The statusline Claude Code runs.
    payload = {"session_id": REFACTOR, "transcript_path": str(claude_dir / SCENARIO.relpath()),
               "model": {"id": "claude-opus-4-8"}}  # fmt: skip
    done = subprocess.run([sys.executable, "-m", "ctxtop", "statusline", f"--cache-dir={cache}"],
                          input=json.dumps(payload), capture_output=True, text=True,
                          env={**os.environ, "CTXTOP_STATUSLINE_BUDGET": "30"},
                          timeout=60)  # fmt: skip
    # Fill against the model's own 1M; room before the threshold of the compaction window install wrote.
    fill, room = CONTEXT / 1_000_000 * 100, (expected - CONTEXT) / 1000
    assert done.stdout.strip().startswith(f"ctx {fill:.0f}% · {room:.0f}K to compact · re-read ")
