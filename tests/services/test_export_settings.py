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


def test_metrics_on_the_wire_equal_the_reports(tmp_path: Path, claude_fixtures: Path) -> None:
    """Phoenix takes no metrics, so the gauges are checked as they leave: an OTLP/HTTP endpoint on 127.0.0.1
    that decodes what it receives with the OpenTelemetry protobuf definitions (opentelemetry-proto)."""
    import json
    import os
    import subprocess
    import sys
    import threading
    from decimal import Decimal
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest

    received: list[ExportMetricsServiceRequest] = []

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.path == "/v1/metrics":
                received.append(ExportMetricsServiceRequest.FromString(body))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    env["CLAUDE_CONFIG_DIR"] = str(claude_fixtures)
    try:
        run = [sys.executable, "-m", "ctxtop"]
        done = subprocess.run([*run, "export", "otlp", "--endpoint", f"http://127.0.0.1:{server.server_port}"],
                              env=env, capture_output=True, text=True, timeout=120)  # fmt: skip
        report = subprocess.run(
            [*run, "report", "sessions", "--json"], env=env, capture_output=True, text=True
        )
        daily = subprocess.run([*run, "report", "daily", "--json"], env=env, capture_output=True, text=True)
    finally:
        server.shutdown()
    assert done.returncode == 0, done.stderr
    assert "metric points" in done.stderr
    gauges: dict[tuple[str, str, str], float] = {}
    resource = {}
    for request in received:
        for rm in request.resource_metrics:
            resource = {a.key: a.value.string_value for a in rm.resource.attributes}
            for sm in rm.scope_metrics:
                for metric in sm.metrics:
                    for p in metric.gauge.data_points:
                        attrs = {a.key: a.value.string_value for a in p.attributes}
                        who = attrs.get("session.id") or attrs.get("ctxtop.day", "")
                        value = p.as_int if p.WhichOneof("value") == "as_int" else p.as_double
                        gauges[(metric.name, who, attrs.get("gen_ai.token.type", ""))] = value
                        if metric.name.endswith(".cost"):
                            gauges[(metric.name + ".exact", who, "")] = Decimal(attrs["ctxtop.cost.usd"])  # type: ignore[assignment]
    assert resource["service.name"] == "ctxtop"
    for s in json.loads(report.stdout):
        for t, n in s["tokens"].items():
            assert gauges[("ctxtop.session.tokens", s["session_id"], t)] == n
        assert gauges[("ctxtop.session.cost.exact", s["session_id"], "")] == Decimal(s["cost_usd"])
        assert abs(gauges[("ctxtop.session.reread_ratio", s["session_id"], "")] - s["reread_ratio"]) < 1e-6
    for d in json.loads(daily.stdout):
        day = d.get("date") or d.get("day")
        assert gauges[("ctxtop.day.cost.exact", day, "")] == Decimal(d["cost_usd"])
        for t, n in d["tokens"].items():
            assert gauges[("ctxtop.day.tokens", day, t)] == n
        assert 0 < gauges[("ctxtop.day.reread_ratio", day, "")] < 1
