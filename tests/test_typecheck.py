"""src/ctxtop passes mypy with the settings in pyproject.toml [tool.mypy] (mypy pinned in the test extras)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def mypy(*args: str) -> subprocess.CompletedProcess[str]:
    # The cache (.mypy_cache, git-ignored) makes a re-run after a small change take seconds, not half a minute.
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(REPO / "pyproject.toml"), *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_source_type_checks() -> None:
    out = mypy()
    assert "No module named mypy" not in out.stderr, "mypy is a test extra: pip install -e '.[test]'"
    assert out.returncode == 0, out.stdout[-6000:] + out.stderr[-2000:]
    assert "Success: no issues found" in out.stdout


def test_the_settings_are_strict_where_the_project_says(tmp_path: Path) -> None:
    """The habits the config promises are enforced: an untyped def, an implicit Optional, an unused ignore
    and a bare ignore are each an error (a loosened [tool.mypy] fails here, not silently)."""
    sample = tmp_path / "sample.py"
    sample.write_text(
        "def untyped(x):\n"
        "    return x\n"
        "\n"
        "def implicit(x: int = None) -> int:\n"
        "    return 0\n"
        "\n"
        "a: int = 1  # type: ignore[assignment]\n"
        'b: int = ""  # type: ignore\n'
    )
    out = mypy(str(sample))
    assert out.returncode == 1, out.stdout + out.stderr
    for code in ("no-untyped-def", "assignment", "unused-ignore", "ignore-without-code"):
        assert f"[{code}]" in out.stdout, (code, out.stdout)
    assert "PEP 484 prohibits implicit Optional" in out.stdout, out.stdout
