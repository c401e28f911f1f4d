"""What a plain ``pip install ctxtop`` pulls, and what the optional pieces say when they are missing."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_the_anthropic_sdk_is_an_extra_not_a_dependency() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert not any(d.startswith(("anthropic", "pydantic")) for d in project["dependencies"])
    extras = project["optional-dependencies"]
    assert any(d.startswith("anthropic") for d in extras["api"])
    assert any(d.startswith("anthropic") for d in extras["test"])  # the SDK tests need it


def test_monitor_without_the_sdk_says_which_extra_to_install() -> None:
    # sys.modules["anthropic"] = None makes `import anthropic` fail as if it were not installed.
    script = (
        "import sys; sys.modules['anthropic'] = None\n"
        "from ctxtop.api import monitor\n"
        "try:\n    monitor(object())\nexcept ModuleNotFoundError as e:\n    print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "pip install 'ctxtop[api]'" in out.stdout


def test_the_mcp_sdk_is_an_extra_and_ctxtop_mcp_says_so_without_it() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert not any(d.startswith("mcp") for d in project["dependencies"])
    assert any(d.startswith("mcp") for d in project["optional-dependencies"]["mcp"])
    script = "import sys; sys.modules['mcp'] = None\nfrom ctxtop.cli import main\nsys.exit(main(['mcp']))\n"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert out.returncode == 1 and "pip install 'ctxtop[mcp]'" in out.stderr, out.stderr


def test_the_opentelemetry_sdk_is_an_extra_and_phoenix_is_in_no_extra() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert not any(d.startswith("opentelemetry") for d in project["dependencies"])
    extras = project["optional-dependencies"]
    for extra in ("otel", "test"):
        names = {d.split(">")[0].split("=")[0].split("<")[0] for d in extras[extra]}
        assert {"opentelemetry-sdk", "opentelemetry-exporter-otlp-proto-http"} <= names, extra
    # Phoenix pins anthropic<2: it lives in its own venv (tests/phoenix-requirements.txt), never beside ours.
    assert not any("phoenix" in d for deps in extras.values() for d in deps)
