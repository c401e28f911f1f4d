"""Real noisy and failing outputs, produced by running real tools in a scratch directory.

Shared by ``tests/commands/test_run_real_tools.py`` and ``benchmarks/filter.py``. Nothing here is canned:
each case is a command line run as is (pytest, pip, gcc, ls, a progress-bar script).
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

# A line of raw output that must reach the model: judged independently of the filter's own rules.
MUST_KEEP = re.compile(
    r"(?i:\b(?:error|errors|fail|failed|failure|failures|warning|warnings|traceback|exception|panic)\b)"
    r"|^E\s|: (?:error|warning|note): |^\s*\d+ \|.*\S|^\s*\|\s*\^"
)


@dataclass(frozen=True)
class Case:
    name: str
    argv: list[str]
    cwd: Path
    exit_code: int
    failing: bool  # in the failing set (errors must all survive) as well as the noisy set


def _wheel(folder: Path, name: str, deps: list[str]) -> None:
    version = "0.1.0"
    dist = f"{name}-{version}.dist-info"
    files = {
        f"{name}/__init__.py": f"VALUE = {name!r}\n",
        f"{dist}/METADATA": "Metadata-Version: 2.1\nName: {}\nVersion: {}\n{}".format(
            name, version, "".join(f"Requires-Dist: {d}\n" for d in deps)
        ),
        f"{dist}/WHEEL": "Wheel-Version: 1.0\nGenerator: ctxtop-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = []
    for path, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(text.encode())}")
    record.append(f"{dist}/RECORD,,")
    with zipfile.ZipFile(folder / f"{name}-{version}-py3-none-any.whl", "w") as zf:
        for path, text in files.items():
            zf.writestr(path, text)
        zf.writestr(f"{dist}/RECORD", "\n".join(record) + "\n")


def build(root: Path) -> list[Case]:
    """Create the scratch projects under ``root`` and return the cases to run."""
    py = sys.executable
    cases: list[Case] = []

    proj = root / "pytest-proj"
    proj.mkdir(parents=True)
    (proj / "test_calc.py").write_text(
        "import pytest\n\n\n"
        "@pytest.mark.parametrize('k', range(300))\n"
        "def test_mean(k):\n"
        "    assert k not in (17, 123, 250), f'MEAN{k}: expected {k}.0, got {k - 0.5}'\n\n\n"
        "def test_raises():\n"
        "    {}['missing_key']\n"
    )
    pytest_argv = [py, "-m", "pytest", "-v", "-p", "no:cacheprovider", "-p", "no:randomly", "test_calc.py"]
    cases.append(Case("pytest-failing", pytest_argv, proj, 1, True))
    quiet = root / "pytest-quiet"
    quiet.mkdir()
    (quiet / "test_ok.py").write_text(
        "import pytest\n\n\n@pytest.mark.parametrize('k', range(400))\ndef test_ok(k):\n    pass\n"
    )
    cases.append(
        Case("pytest-passing", [py, "-m", "pytest", "-v", "-p", "no:cacheprovider"], quiet, 0, False)
    )

    wheels = root / "wheels"
    wheels.mkdir()
    names = [f"ctxtop_demo_pkg_{i:02d}" for i in range(40)]
    for i, name in enumerate(names):
        _wheel(wheels, name, names[i + 1 : i + 2])
    pip = [py, "-m", "pip", "install", "--no-index", "--find-links", str(wheels), "--no-cache-dir",
           "--disable-pip-version-check", "--target", str(root / "site")]  # fmt: skip
    cases.append(Case("pip-install", [*pip, names[0]], root, 0, False))
    bad = [f"ctxtop_bad_pkg_{i:02d}" for i in range(40)]
    for i, name in enumerate(bad):
        _wheel(wheels, name, bad[i + 1 : i + 2] or ["ctxtop-no-such-package>=1.0"])
    cases.append(Case("pip-install-missing", [*pip, bad[0]], root, 1, True))

    csrc = root / "csrc"
    csrc.mkdir()
    body = "\n".join(f"    total += undefined_var_{i};" for i in range(25))
    (csrc / "broken.c").write_text(
        "#include <stdio.h>\n\nint unused_fn(int x) { int y; return x; }\n\n"
        f'int main(void) {{\n    int total = 0;\n{body}\n    printf("%d\\n", total);\n    return 0\n}}\n'
    )
    if shutil.which("gcc"):
        cases.append(
            Case(
                "gcc-errors", ["gcc", "-Wall", "-Wextra", "-c", "broken.c", "-o", "/dev/null"], csrc, 1, True
            )
        )

    tree = root / "tree"
    for d in range(30):
        sub = tree / f"pkg_{d:02d}" / "src"
        sub.mkdir(parents=True)
        for f in range(40):
            (sub / f"module_{f:03d}.py").write_text("")
    cases.append(Case("ls-R", ["ls", "-R", "tree"], root, 0, False))

    script = root / "progress.py"
    script.write_text(
        "import sys\n"
        "for task in range(8):\n"
        "    for pct in range(0, 101, 2):\n"
        "        bar = '#' * (pct // 4)\n"
        "        sys.stdout.write(f'\\rtask {task}: [{bar:<25}] {pct:3d}%')\n"
        "        sys.stdout.flush()\n"
        "    sys.stdout.write('\\n')\n"
        "print('warning: task 5 was slow')\n"
        "print('all tasks done')\n"
    )
    cases.append(Case("progress-bar", [py, str(script)], root, 0, False))
    return cases


def clean_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "CTXTOP_"))}
    env.update(extra or {})
    return env


def run_raw(case: Case) -> subprocess.CompletedProcess[bytes]:
    """The case run directly, stderr merged into stdout like ``ctxtop run`` does."""
    return subprocess.run(
        case.argv, cwd=case.cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=clean_env()
    )


def run_filtered(case: Case, env: dict[str, str]) -> subprocess.CompletedProcess[bytes]:
    argv = [sys.executable, "-m", "ctxtop", "run", "--", *case.argv]
    return subprocess.run(argv, cwd=case.cwd, capture_output=True, env=clean_env(env))


def raw_path_of(filtered: str) -> Path | None:
    """The saved raw output named by the pointer line, if any."""
    lines = filtered.rstrip("\n").splitlines()
    m = re.search(r"full output: (\S+?)(?:; bytes \d|\]$)", lines[-1]) if lines else None
    return Path(m.group(1)) if m else None


def must_keep_lines(raw: str) -> list[str]:
    return [line for line in raw.splitlines() if line.strip() and MUST_KEEP.search(line)]
