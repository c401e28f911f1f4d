"""Regenerate ``tests/fixtures/claude``: real Claude Code transcripts written by our own end-to-end harness.

    .venv/bin/python -m tests.support.make_fixtures [--out tests/fixtures/claude]

Each scenario runs the pinned Claude Code CLI (``npm ci --prefix tests/e2e``) headless against the local fake
Messages API (``tests/support/fake_api.py``, 127.0.0.1, dummy key), in a scratch HOME and project, and keeps
only what Claude Code wrote under ``<config dir>/projects``. Next to it, ``scenarios.json`` records, per
scenario, the session id, the project dir, the cwd and what the fake API reported for every answer it gave
(the bill), so tests can check ctxtop against the API instead of against ctxtop. Session ids, paths and
timestamps change on every run: tests read them from ``scenarios.json`` (``tests/support/fixtures.py``).

The three scenarios mirror the ones ``../shared/corpus/claude`` was made with:

- ``noisy``: a session with noisy Bash output (a ~140 KB build log and a ~55 KB progress-bar log, both over
  Claude Code's 30,000-char limit and so persisted under ``<session>/tool-results/``, ``seq 1 5000`` inline,
  a real failing pytest run and a failing integration dump), text and a tool call in one response (several
  transcript lines repeating one usage), a task, a fix, a green re-run.
- ``refactor``: a refactoring session that auto-compacts mid-task (``CLAUDE_AUTOCOMPACT_PCT_OVERRIDE=60``,
  window 200K) and then gets a second prompt with ``--continue``.
- ``long``: a session on claude-opus-4-8 behind a custom base URL, so Claude Code never compacts proactively:
  the context grows past 200K to ~920K and it compacts only after the API answers "prompt is too long".
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.support.claude_cli import ClaudeCLI
from tests.support.fake_api import (
    ApiError,
    FakeAPI,
    GrowingUsage,
    Reply,
    bash,
    edit,
    read,
    task_create,
    text,
    write,
)

REPO = Path(__file__).resolve().parents[2]
DEFAULT_OUT = REPO / "tests" / "fixtures" / "claude"


def _git_init(project: Path) -> None:
    env_args = ["-c", "user.name=Fixture", "-c", "user.email=fixture@example.invalid"]
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=project, check=True)
    subprocess.run(["git", "add", "-A"], cwd=project, check=True)
    subprocess.run(["git", *env_args, "commit", "-q", "-m", "Initial import"], cwd=project, check=True)


def _files(project: Path, files: dict[str, str]) -> None:
    for rel, body in files.items():
        path = project / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(body)


# -- noisy ------------------------------------------------------------------------------------------------

_BUILD = """import sys
for i in range(2400):
    print(f"[{i:04d}/2400] CC build/obj/module_{i:04d}.o -O2 -Wall -Iinclude src/module_{i:04d}.c")
    if i % 400 == 7:
        print(f"src/module_{i:04d}.c:12:5: warning: unused variable 'tmp' [-Wunused-variable]")
print("build finished: 2400 objects, 6 warnings")
"""
_PROGRESS = """import sys
for shard in range(12):
    for pct in range(0, 101, 2):
        bar = "#" * (pct // 4)
        sys.stdout.write(f"\\rshard {shard:02d} [{bar:<25}] {pct:3d}% downloading test data...")
    sys.stdout.write(f"\\rshard {shard:02d} done" + " " * 60 + "\\n")
print("12 shards fetched")
"""
_FAKE_PYTEST = """import sys
print("============================= test session starts ==============================")
print("platform linux -- Python 3.11.7, pytest-8.3.2, pluggy-1.5.0")
print("rootdir: /srv/app")
print("collected 640 items")
for i in range(640):
    print(f"tests/integration/test_shard_{i // 40:02d}.py::test_case_{i:03d} PASSED" + " " * 4)
print("=================================== FAILURES ===================================")
print("____________________________ test_mean_of_readings ____________________________")
print("    assert calc.mean([2, 4, 6]) == 4")
print("E   assert 6.0 == 4")
print("FAILED tests/integration/test_shard_15.py::test_mean_of_readings - assert 6.0 == 4")
print("======================== 1 failed, 639 passed in 12.31s ========================")
sys.exit(1)
"""
_CALC = '''"""Tiny calculator module used by the fixture scenario."""


def add(a, b):
    return a + b


def mean(values):
    return sum(values) / (len(values) - 1)
'''
_TEST_CALC = """import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
import calc


def test_add():
    assert calc.add(2, 3) == 5


def test_mean():
    assert calc.mean([2, 4, 6]) == 4


def test_mean_single():
    assert calc.mean([7]) == 7
"""


def noisy(claude: ClaudeCLI, api: FakeAPI) -> list[str]:
    _files(
        claude.project,
        {
            "src/calc.py": _CALC,
            "tests/test_calc.py": _TEST_CALC,
            "tools/build.py": _BUILD,
            "tools/progress.py": _PROGRESS,
            "tools/fake_pytest.py": _FAKE_PYTEST,
        },
    )
    _git_init(claude.project)
    calc = str(claude.project / "src" / "calc.py")
    api.script(
        [
            Reply("I'll start by looking at the project layout.", [("Bash", {
                "command": "ls -la && git log --oneline | head -5", "description": "List files and commits"})]),
            task_create("Fix failing calc tests",
                        "Run build and tests, locate the bug in src/calc.py, fix it, re-run tests."),
            Reply("Running the build first.", [("Bash", {
                "command": "python3 tools/build.py", "description": "Run the noisy build script"})]),
            bash("seq 1 5000", "Print 5000 sequence numbers"),
            bash("python3 tools/progress.py", "Fetch test data shards"),
            Reply("Now the unit tests.", [("Bash", {
                "command": "python3 -m pytest tests -p no:cacheprovider", "description": "Run unit tests"})]),
            bash("python3 tools/fake_pytest.py", "Run integration test suite"),
            Reply("The mean() results are off. Let me read the module.", [("Read", {"file_path": calc})]),
            Reply("mean() divides by len(values) - 1; it should divide by len(values).", [("Edit", {
                "file_path": calc, "old_string": "return sum(values) / (len(values) - 1)",
                "new_string": "return sum(values) / len(values)"})]),
            bash("python3 -m pytest -q tests -p no:cacheprovider", "Re-run unit tests"),
            bash("git diff --stat && git status --short", "Show the change"),
            text("Fixed: `mean()` in src/calc.py divided by `len(values) - 1`; it now divides by "
                 "`len(values)`. The unit tests pass."),
        ],
        usage=GrowingUsage(start=21_000, step=1_700),
    )  # fmt: skip
    run = claude.run(
        "CI is red and the logs are huge. Please run the build and the test suites, find out why the tests "
        "fail, fix src/calc.py, and confirm the tests pass.",
        timeout=120,
    )
    return [run.session_id]


# -- refactor ---------------------------------------------------------------------------------------------

_MODELS = "def make_record(sku, qty):\n    return {'sku': sku, 'qty': qty}\n"
_STORAGE = "import json\n\n\ndef save(records, path):\n    json.dump(records, open(path, 'w'))\n"


def refactor(claude: ClaudeCLI, api: FakeAPI) -> list[str]:
    _files(
        claude.project,
        {
            "src/inventory/__init__.py": "",
            "src/inventory/models.py": _MODELS,
            "src/inventory/storage.py": _STORAGE,
            "tests/test_inventory.py": "def test_nothing():\n    assert True\n",
        },
    )
    _git_init(claude.project)
    claude.env_extra.update(CLAUDE_AUTOCOMPACT_PCT_OVERRIDE="60", CLAUDE_CODE_AUTO_COMPACT_WINDOW="200000")
    models = str(claude.project / "src" / "inventory" / "models.py")
    storage = str(claude.project / "src" / "inventory" / "storage.py")
    # 20K + 10K per call: past 108,000 (60% of 200K - 20K) at the 10th call, so it compacts mid-task.
    usage = GrowingUsage(start=20_000, step=10_000, after_compact=26_000)
    api.script(
        [
            task_create("Refactor inventory records to dataclasses"),
            read(models),
            edit(models, "def make_record(sku, qty):\n    return {'sku': sku, 'qty': qty}\n",
                 "from dataclasses import dataclass\n\n\n@dataclass\nclass Record:\n    sku: str\n    qty: int\n"),
            bash("python3 -m pytest -q tests -p no:cacheprovider", "Run the tests"),
            read(storage),
            edit(storage, "json.dump(records, open(path, 'w'))",
                 "json.dump([vars(r) for r in records], open(path, 'w'))"),
            *(bash(f"python3 -c 'import ast,sys; ast.parse(open(sys.argv[1]).read())' {p}", "Check syntax")
              for p in (models, storage, models, storage)),
            bash("python3 -m pytest -q tests -p no:cacheprovider", "Run the tests"),
            bash("git diff --stat", "Show the change"),
            bash("python3 -m pytest -q tests -p no:cacheprovider", "Run the tests again"),
            text("Refactor done: records are dataclasses and storage serialises them."),
        ],
        usage=usage,
    )  # fmt: skip
    first = claude.run(
        "Refactor the inventory package so records are dataclasses instead of dicts. Go through every module "
        "in src/inventory, keep the tests green, and run the tests after each change.",
        timeout=120,
    )
    changelog = str(claude.project / "CHANGELOG.md")
    api.script(
        [write(changelog, "# Changelog\n\n- Inventory records are dataclasses.\n"), text("Added the entry.")],
        usage=usage,
    )
    second = claude.run("Thanks. Add a CHANGELOG entry for this work.", "--continue", timeout=120)
    assert second.session_id == first.session_id, (first.session_id, second.session_id)
    return [first.session_id]


# -- long -------------------------------------------------------------------------------------------------


def long(claude: ClaudeCLI, api: FakeAPI) -> list[str]:
    _files(claude.project, {"README.md": "Numbered steps.\n"})
    # 20K + 100K a call: 920K at the 10th call; the 11th would be 1.02M > 1M: "prompt is too long".
    usage = GrowingUsage(start=20_000, step=100_000, after_compact=22_000, limit=1_000_000)
    api.script(
        [*(bash(f"echo step {i}", f"Step {i}") for i in range(13)), text("All steps done.")], usage=usage
    )
    run = claude.run("Walk through the numbered steps one by one with echo.", timeout=120)
    return [run.session_id]


SCENARIOS: dict[str, Callable[[ClaudeCLI, FakeAPI], list[str]]] = {
    "noisy": noisy,
    "refactor": refactor,
    "long": long,
}
PROJECTS = {"noisy": "calc-service", "refactor": "inventory", "long": "numbered-steps"}


def _usage_json(api: FakeAPI) -> list[dict[str, Any]]:
    return [
        {"kind": r.kind, "message_id": r.message_id, "request_id": r.request_id, **r.usage.to_json()}
        for r in api.messages
        if r.usage is not None
    ]


def generate(out: Path) -> dict[str, Any]:
    manifest: dict[str, Any] = {"claude_code": None, "scenarios": {}}
    staging = Path(tempfile.mkdtemp(prefix="ctxtop-fixtures-"))
    try:
        for name, scenario in SCENARIOS.items():
            root = staging / name
            with FakeAPI() as api:
                claude = ClaudeCLI(root, api, project=PROJECTS[name])
                sessions = scenario(claude, api)
                records = claude.records(sessions[0])
                manifest["claude_code"] = next((r["version"] for r in records if r.get("version")), None)
                encoded = next(p.parent.name for p in claude.transcripts() if p.stem == sessions[0])
                manifest["scenarios"][name] = {
                    "session_id": sessions[0],
                    "project_dir": encoded,
                    "cwd": str(claude.project),
                    "model": claude.model,
                    "api_answers": _usage_json(api),
                    "api_errors": [r.reply.message for r in api.messages if isinstance(r.reply, ApiError)],
                }
                dest = staging / "out" / "projects"
                shutil.copytree(claude.projects_dir, dest, dirs_exist_ok=True)
        if out.exists():
            shutil.rmtree(out)
        shutil.copytree(staging / "out", out)
        (out / "scenarios.json").write_text(json.dumps(manifest, indent=1) + "\n")
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return manifest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    manifest = generate(args.out)
    for name, s in manifest["scenarios"].items():
        print(
            f"{name}: {s['session_id']} ({len(s['api_answers'])} answers) in {args.out / 'projects' / s['project_dir']}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
