"""``ctxtop run`` over real tools: exit codes preserved, no error line lost, tokens reduced, raw saved."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ctxtop.core.filters.tokens import count_tokens
from tests.commands import corpus


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[corpus.Case], dict[str, str], Path]:
    root = tmp_path_factory.mktemp("corpus")
    env = {"CTXTOP_DATA_DIR": str(root / "data"), "CTXTOP_CONFIG_DIR": str(root / "cfg")}
    return corpus.build(root), env, root


@pytest.fixture(scope="module")
def results(world) -> dict[str, tuple[corpus.Case, subprocess.CompletedProcess[bytes]]]:  # type: ignore[no-untyped-def]
    cases, env, _ = world
    return {c.name: (c, corpus.run_filtered(c, env)) for c in cases}


NAMES = [
    "pytest-failing",
    "pytest-passing",
    "pip-install",
    "pip-install-missing",
    "gcc-errors",
    "ls-R",
    "progress-bar",
]


@pytest.mark.parametrize("name", NAMES)
def test_exit_code_preserved_and_errors_survive(results, name: str) -> None:  # type: ignore[no-untyped-def]
    if name not in results:
        pytest.skip(f"{name}: tool not installed")
    case, proc = results[name]
    assert proc.returncode == case.exit_code, proc.stderr.decode()
    out = proc.stdout.decode("utf-8", "replace")
    raw_path = corpus.raw_path_of(out)
    raw = raw_path.read_text("utf-8", "replace") if raw_path else out
    lost = [line for line in corpus.must_keep_lines(raw) if line not in out]
    assert lost == [], f"{name}: error lines lost: {lost[:5]}"
    raw_tokens, out_tokens = count_tokens(raw), count_tokens(out)
    assert raw_tokens and out_tokens is not None and out_tokens <= raw_tokens
    print(f"{name}: {raw_tokens} -> {out_tokens} tokens ({out_tokens / raw_tokens:.0%} of raw)")


def test_noisy_set_reduced_by_at_least_60_percent(results) -> None:  # type: ignore[no-untyped-def]
    raw_total = out_total = 0
    for _case, proc in results.values():
        out = proc.stdout.decode("utf-8", "replace")
        raw_path = corpus.raw_path_of(out)
        raw = raw_path.read_text("utf-8", "replace") if raw_path else out
        raw_total += count_tokens(raw) or 0
        out_total += count_tokens(out) or 0
    assert out_total <= 0.4 * raw_total, f"{raw_total} -> {out_total}"


def test_failing_pytest_keeps_every_failure_and_drops_passes(results) -> None:  # type: ignore[no-untyped-def]
    _, proc = results["pytest-failing"]
    out = proc.stdout.decode()
    for k, got in ((17, 16.5), (123, 122.5), (250, 249.5)):
        assert f"MEAN{k}: expected {k}.0, got {got}" in out
        assert f"FAILED test_calc.py::test_mean[{k}]" in out
    assert "KeyError: 'missing_key'" in out
    assert "4 failed, 297 passed" in out
    assert out.count("PASSED") == 0


def test_raw_output_saved_private_and_logged(results, world) -> None:  # type: ignore[no-untyped-def]
    _, env, root = world
    case, proc = results["pytest-passing"]
    raw_path = corpus.raw_path_of(proc.stdout.decode())
    assert raw_path is not None and raw_path.is_file()
    assert stat.S_IMODE(raw_path.stat().st_mode) == 0o600
    assert stat.S_IMODE(raw_path.parent.stat().st_mode) == 0o700
    assert "400 passed" in raw_path.read_text() and raw_path.read_text().count("PASSED") == 400
    records = [json.loads(line) for f in (root / "data" / "filter-log").glob("*.jsonl") for line in f.open()]
    (rec,) = [r for r in records if r["raw_path"] == str(raw_path)]
    assert rec["source"] == "run" and rec["exit_code"] == 0 and rec["rules"] == ["pytest"]
    assert rec["raw_tokens"] > 10 * rec["filtered_tokens"] > 0
    assert rec["filtered_chars"] == len(proc.stdout.decode())


def _ctxtop(args: list[str], env: dict[str, str], **kw) -> subprocess.CompletedProcess[bytes]:  # type: ignore[no-untyped-def]
    return subprocess.run(
        [sys.executable, "-m", "ctxtop", *args], env=corpus.clean_env(env), capture_output=True, **kw
    )


@pytest.mark.parametrize(
    ("argv", "code"),
    [
        (["sh", "-c", "exit 3"], 3),
        (["sh", "-c", "kill -TERM $$"], 128 + 15),
        (["sh", "-c", "kill -KILL $$"], 128 + 9),
        (["ctxtop-no-such-command-xyz"], 127),
        (["true"], 0),
    ],
)
def test_run_exit_codes(world, argv: list[str], code: int) -> None:  # type: ignore[no-untyped-def]
    assert _ctxtop(["run", "--", *argv], world[1]).returncode == code


def test_run_passes_env_cwd_and_stdin(world, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    env = {**world[1], "CTXTOP_DEMO_VAR": "hello-env"}
    proc = _ctxtop(
        ["run", "--", "sh", "-c", 'echo "$CTXTOP_DEMO_VAR"; pwd; cat; echo err >&2'],
        env,
        cwd=tmp_path,
        input=b"from-stdin\xff\n",
    )
    assert proc.stdout == b"hello-env\n" + str(tmp_path).encode() + b"\nfrom-stdin\xff\nerr\n"


def test_filter_stdin_without_saving(world) -> None:  # type: ignore[no-untyped-def]
    noisy = "".join(f"tests/t.py::test_{i} PASSED\n" for i in range(200)) + "FAILED tests/t.py::test_x\n"
    proc = _ctxtop(["filter", "--command", "pytest -v", "--no-save"], world[1], input=noisy.encode())
    out = proc.stdout.decode()
    assert proc.returncode == 0
    assert "FAILED tests/t.py::test_x" in out and "PASSED" not in out
    assert out.splitlines()[-1].endswith("full output not saved]")


def test_no_filter_env_gives_raw_output(world) -> None:  # type: ignore[no-untyped-def]
    env = {**world[1], "CTXTOP_NO_FILTER": "1"}
    proc = _ctxtop(["run", "--", "sh", "-c", "yes same | head -500"], env)
    assert proc.stdout == b"same\n" * 500


def test_run_without_double_dash(world) -> None:  # type: ignore[no-untyped-def]
    proc = _ctxtop(["run", "sh", "-c", "exit 4"], world[1])
    assert proc.returncode == 4


def test_long_failing_output_is_kept_whole_and_ends_with_the_raw_file(world, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A failing output loses only recognised noise; too long for Claude Code's ~10K cut, it ends with the
    pointer line, so the tail Claude Code keeps names the file that holds every byte."""
    (tmp_path / "test_many.py").write_text(
        "import pytest\n\n\n@pytest.mark.parametrize('k', range(600))\n"
        "def test_many(k):\n"
        "    print('captured line', k, 'x' * 60)\n"
        "    data = list(range(k % 7))\n"
        "    assert k not in (5, 300, 590), f'BAD{k}'\n"
    )
    argv = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rA"]
    proc = _ctxtop(["run", "--", *argv], world[1], cwd=tmp_path)
    out = proc.stdout.decode()
    assert proc.returncode == 1
    raw_path = corpus.raw_path_of(out)
    assert raw_path is not None
    raw = raw_path.read_text()
    assert all(f"captured line {k} " in raw for k in range(600))
    assert len(out) > 10_000 and out.splitlines()[-1].startswith("[ctxtop: filtered ")
    for k in (5, 300, 590):
        assert f"AssertionError: BAD{k}" in out and f"FAILED test_many.py::test_many[{k}]" in out
    for k in range(0, 600, 37):  # a failing output is never elided: every captured line survives
        assert f"captured line {k} " in out
    assert "PASSED test_many.py::test_many[1]" not in out  # passing-test lines are recognised noise
    assert "3 failed, 597 passed" in out


def test_background_job_holding_the_pipe_does_not_hang(world) -> None:  # type: ignore[no-untyped-def]
    started = time.monotonic()
    proc = _ctxtop(["run", "--", "sh", "-c", "sleep 30 & echo started; exit 2"], world[1], timeout=20)
    assert proc.returncode == 2 and proc.stdout == b"started\n"
    assert time.monotonic() - started < 10
