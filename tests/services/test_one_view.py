"""One view of a session: only ``services.monitor`` builds a ``SessionView`` or calls ``for_session``.

The statusline and doctor used to rebuild it themselves (their own index, their own ``for_session``
arguments) and drifted from the report; ``tests/ui/test_same_figures.py`` compares the figures, this keeps
the copies from coming back in any front end.
"""

from __future__ import annotations

import ast
from pathlib import Path

import ctxtop

SRC = Path(ctxtop.__file__).parent
BUILDERS = {"SessionView", "for_session", "compaction_for"}


def test_only_the_monitor_builds_a_session_view() -> None:
    found = []
    for folder in ("commands", "ui", "services"):
        for path in sorted((SRC / folder).rglob("*.py")):
            if path == SRC / "services" / "monitor.py":
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Call):
                    name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
                    if name in BUILDERS:
                        found.append(f"{path.relative_to(SRC)}:{node.lineno} {name}")
    assert found == [], found
