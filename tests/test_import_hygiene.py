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


def _all_modules(package: str) -> list[str]:
    """Every module under ``package``, found on disk so a new module is covered without editing this test."""
    import importlib.util
    import pkgutil

    spec = importlib.util.find_spec(package)
    assert spec is not None and spec.submodule_search_locations
    return [package] + [
        info.name for info in pkgutil.walk_packages(spec.submodule_search_locations, prefix=package + ".")
    ]


def test_every_core_module_is_pure() -> None:
    mods = _modules_after("import " + ", ".join(_all_modules("ctxtop.core")))
    for heavy in ("textual", "watchdog", "anthropic", "sqlite3", "platformdirs"):
        assert heavy not in mods, heavy


def test_adapters_never_import_textual() -> None:
    mods = _modules_after("import " + ", ".join(_all_modules("ctxtop.adapters")))
    assert "textual" not in mods
    assert "anthropic" not in mods


def test_services_run_headless() -> None:
    # Every service module: an exporter or the MCP server imports them without a terminal UI or a CLI parser.
    mods = _modules_after("import " + ", ".join(_all_modules("ctxtop.services")))
    for heavy in ("textual", "argparse", "ctxtop.ui", "ctxtop.commands", "ctxtop.cli"):
        assert heavy not in mods, heavy


# The SDK wrapper imports anthropic by design (ctxtop.api.monitor loads it only when asked to wrap a client).
SDK_WRAPPER = "ctxtop.sources.anthropic_api.wrapper"


def test_sources_never_import_textual() -> None:
    # Every module of every source package, found on disk (a new source is covered without editing this);
    # none but the SDK wrapper pulls in the SDK: the index reads API logs without it.
    mods = _modules_after(
        "import " + ", ".join(m for m in _all_modules("ctxtop.sources") if m != SDK_WRAPPER)
    )
    for heavy in ("textual", "anthropic", "watchdog"):
        assert heavy not in mods, heavy
    assert "textual" not in _modules_after(f"import {SDK_WRAPPER}")


def test_package_and_cli_import_nothing_heavy() -> None:
    mods = _modules_after("import ctxtop, ctxtop.cli")
    for heavy in ("textual", "watchdog", "anthropic", "genai_prices", "tiktoken"):
        assert heavy not in mods, heavy


def test_linux_dirs_agree_with_platformdirs(monkeypatch) -> None:
    import sys

    import platformdirs
    import pytest

    from ctxtop.adapters import paths

    if not sys.platform.startswith("linux"):
        pytest.skip("the platformdirs-free fast path is Linux only")
    for name in (
        "CTXTOP_CONFIG_DIR",
        "CTXTOP_CACHE_DIR",
        "CTXTOP_DATA_DIR",
        "CTXTOP_API_LOG_DIR",
        "CTXTOP_LOG_DIR",
    ):
        monkeypatch.delenv(name, raising=False)
    for xdg in ({}, {"XDG_CONFIG_HOME": "/x/c", "XDG_CACHE_HOME": "/x/k", "XDG_DATA_HOME": "/x/d",
                     "XDG_STATE_HOME": "/x/s"}, {"XDG_CONFIG_HOME": "  "}):  # fmt: skip
        for var in ("XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME"):
            monkeypatch.delenv(var, raising=False)
        for var, value in xdg.items():
            monkeypatch.setenv(var, value)
        assert str(paths.config_dir()) == platformdirs.user_config_dir("ctxtop", appauthor=False)
        assert str(paths.cache_dir()) == platformdirs.user_cache_dir("ctxtop", appauthor=False)
        assert str(paths.data_dir()) == platformdirs.user_data_dir("ctxtop", appauthor=False)
        assert str(paths.api_log_dir()) == str(
            __import__("pathlib").Path(platformdirs.user_log_dir("ctxtop", appauthor=False)) / "api"
        )


def test_statusline_path_imports_neither_platformdirs_nor_argparse() -> None:
    mods = _modules_after(
        "import os; os.environ.pop('CTXTOP_CONFIG_DIR', None)\n"
        "import ctxtop.cli, ctxtop.commands.statusline\n"
        "from ctxtop.commands import statusline\n"
        "import ctxtop.adapters.index, ctxtop.sources.claude_code.env, ctxtop.adapters.config\n"
        "import ctxtop.services.monitor\n"
        "from ctxtop.adapters import paths; paths.config_file(); paths.cache_dir()"
    )
    for heavy in ("platformdirs", "argparse", "fractions", "textual", "anthropic", "genai_prices"):
        assert heavy not in mods, heavy


def test_ui_holds_only_textual_code() -> None:
    # Issue 9: 712 lines of ui/ imported no Textual (alerts, compact, format, export, the engine), so a
    # headless consumer had to import the UI package to reach them. Every ui module now imports Textual.
    import ast
    from pathlib import Path

    import ctxtop.ui

    root = Path(ctxtop.ui.__file__).parent
    headless = []
    for path in sorted(root.rglob("*.py")):
        if path.name == "__init__.py":
            continue
        names = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                names.add(node.module.split(".")[0])
            elif isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
        if "textual" not in names:
            headless.append(str(path.relative_to(root)))
    assert headless == [], f"move these to core/ or services/: {headless}"
