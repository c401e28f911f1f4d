"""Where the export's endpoint, headers and labels come from: command line, OTEL_* variables, [export]."""

from __future__ import annotations

from pathlib import Path

import pytest

from ctxtop.adapters.config import Config
from ctxtop.services import export_otlp


def _config(tmp_path: Path, text: str) -> Config:
    path = tmp_path / "config.toml"
    path.write_text(text)
    config = Config.load(path)
    assert config.problems == []
    return config


def test_precedence(tmp_path: Path) -> None:
    config = _config(
        tmp_path,
        '[export]\nendpoint = "http://from-config:4318"\nheaders = "a=1,b=2"\nuser = "alice"\nteam = "core"\n',
    )
    s = export_otlp.resolve(config, {})
    assert s.traces_endpoint == "http://from-config:4318/v1/traces"
    assert s.metrics_endpoint == "http://from-config:4318/v1/metrics"
    assert s.headers == {"a": "1", "b": "2"} and s.user == "alice" and s.team == "core"
    env = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": "http://from-env:4318/",
        "OTEL_EXPORTER_OTLP_HEADERS": "b=3,c=a%20b",
    }
    s = export_otlp.resolve(config, env)
    assert s.traces_endpoint == "http://from-env:4318/v1/traces"
    assert s.headers == {"a": "1", "b": "3", "c": "a b"}
    s = export_otlp.resolve(
        config, {**env, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://traces:1/custom"}, headers=["c=4"]
    )
    assert s.traces_endpoint == "http://traces:1/custom" and s.headers["c"] == "4"
    s = export_otlp.resolve(config, env, endpoint="http://cli:9")
    assert s.traces_endpoint == "http://cli:9/v1/traces" and s.metrics_endpoint == "http://cli:9/v1/metrics"


def test_defaults_and_privacy(tmp_path: Path) -> None:
    s = export_otlp.resolve(_config(tmp_path, ""), {})
    assert s.traces_endpoint == "http://localhost:4318/v1/traces"
    assert not s.include_content and not s.redact_paths and s.metrics and s.user
    s = export_otlp.resolve(_config(tmp_path, '[export]\nredact_paths = "on"\nmetrics = "off"\n'), {})
    assert s.redact_paths and not s.metrics


def test_bad_header_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="expected NAME=VALUE"):
        export_otlp.resolve(_config(tmp_path, ""), {}, headers=["no-equals-sign"])


def test_bad_config_value_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[export]\nredact_paths = "yes"\n')
    config = Config.load(path)
    assert any("redact_paths" in p for p in config.problems)


def test_without_the_otel_extra_the_command_says_which_to_install(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    # The SDK made unimportable, as in an install without ctxtop[otel].
    code = (
        "import sys; sys.modules['opentelemetry.exporter.otlp.proto.http.trace_exporter'] = None; "
        "from ctxtop.cli import main; raise SystemExit(main(['export', 'otlp', '--endpoint', 'http://127.0.0.1:9']))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=dict(os.environ), timeout=60
    )
    assert done.returncode == 2
    assert "pip install 'ctxtop[otel]'" in done.stderr and "Traceback" not in done.stderr
