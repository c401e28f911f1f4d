"""The layer contracts in pyproject.toml ([tool.importlinter]) hold: checked statically by import-linter."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_import_contracts_are_kept() -> None:
    exe = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert exe, "import-linter is a test extra: pip install -e '.[test]'"
    out = subprocess.run([exe, "--no-cache"], cwd=REPO, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
    assert "0 broken" in out.stdout


# Names of Claude Code's own layout (config dirs, their folders, its settings files, its variable): only
# sources/claude_code may spell them. User-facing text (help, docstrings) may mention them; code may not.
CLAUDE_LAYOUT = {".claude", ".claude.json", "projects", "subagents", "tool-results", "sessions",
                 "settings.local.json", "CLAUDE_CONFIG_DIR"}  # fmt: skip


def _layout_names(tree: ast.AST) -> list[tuple[int, str]]:
    """String constants of ``tree`` naming a piece of Claude Code's layout: used in a path (``/``, a
    ``join``, a glob) or, for the unambiguous ones, anywhere."""
    found = []
    unambiguous = {".claude", ".claude.json", "settings.local.json", "CLAUDE_CONFIG_DIR", "tool-results"}
    for node in ast.walk(tree):
        operands: list[ast.expr] = []
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
            operands = [node.left, node.right]
        elif isinstance(node, ast.Call):
            operands = list(node.args)
        for op in operands:
            if isinstance(op, ast.Constant) and isinstance(op.value, str):
                head = op.value.split("/")[0].split("*")[0]
                if op.value in CLAUDE_LAYOUT or head in CLAUDE_LAYOUT:
                    found.append((op.lineno, op.value))
        if isinstance(node, ast.Constant) and node.value in unambiguous:
            found.append((node.lineno, node.value))
    return found


def test_only_the_claude_code_source_knows_its_layout() -> None:
    src = REPO / "src" / "ctxtop"
    own = src / "sources" / "claude_code"
    offenders = []
    for path in sorted(src.rglob("*.py")):
        if own in path.parents:
            continue
        for line, name in _layout_names(ast.parse(path.read_text(encoding="utf-8"))):
            offenders.append(f"{path.relative_to(src)}:{line}: {name!r}")
    assert not offenders, "Claude Code's layout outside sources/claude_code:\n" + "\n".join(offenders)


def test_the_layout_check_finds_a_layout_name() -> None:
    code = (
        'p = home / ".claude" / "projects"\nq = os.path.join(d, "subagents")\nr = d.glob("sessions/*.json")\n'
    )
    assert {n for _, n in _layout_names(ast.parse(code))} == {
        ".claude",
        "projects",
        "subagents",
        "sessions/*.json",
    }
    assert not _layout_names(ast.parse('"""Reads ~/.claude/projects."""\nkind = "projects"\n'))


# Keys of Claude Code's transcript JSON: core takes typed facts from the source (issue 9), never the JSON.
TRANSCRIPT_KEYS = {"isSidechain", "compact_boundary", "compactMetadata", "toolUseResult", "isCompactSummary",
                   "isMeta", "tool_result", "tool_use", "tool_use_id", "gitBranch", "sessionId", "requestId"}  # fmt: skip


def _strings(tree: ast.AST) -> list[tuple[int, str]]:
    """String constants of ``tree`` that are not docstrings."""
    docs = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)
    }  # fmt: skip
    return [(n.lineno, n.value) for n in ast.walk(tree)
            if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docs]  # fmt: skip


def test_core_reads_no_transcript_json() -> None:
    core = REPO / "src" / "ctxtop" / "core"
    offenders = [
        f"{path.relative_to(core)}:{line}: {text!r}"
        for path in sorted(core.rglob("*.py"))
        for line, text in _strings(ast.parse(path.read_text(encoding="utf-8")))
        if text in TRANSCRIPT_KEYS
    ]
    assert not offenders, "Claude Code's transcript JSON read in core:\n" + "\n".join(offenders)
