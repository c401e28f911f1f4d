"""Layering: core imports neither Textual nor watchdog; the hot paths (hooks, statusline) stay light."""

from __future__ import annotations

import subprocess
import sys


def _modules_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport sys\nprint('\\n'.join(sys.modules))"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return set(out.stdout.split())


def test_core_is_pure() -> None:
    mods = _modules_after(
        "import ctxtop.core.usage, ctxtop.core.records, ctxtop.core.metrics, ctxtop.core.pricing, "
        "ctxtop.core.report, ctxtop.core.compaction"
    )
    for heavy in ("textual", "watchdog", "anthropic", "sqlite3"):
        assert heavy not in mods, heavy


def test_adapters_never_import_textual() -> None:
    mods = _modules_after("import ctxtop.adapters.index, ctxtop.adapters.monitor, ctxtop.adapters.config")
    assert "textual" not in mods
    assert "anthropic" not in mods


def test_package_and_cli_import_nothing_heavy() -> None:
    mods = _modules_after("import ctxtop, ctxtop.cli")
    for heavy in ("textual", "watchdog", "anthropic", "genai_prices", "tiktoken"):
        assert heavy not in mods, heavy
