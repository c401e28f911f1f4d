"""``ctxtop export otlp`` against a real OTLP receiver: Arize Phoenix on 127.0.0.1 (see tests/support/phoenix.py).

What Phoenix stored is read back through its own REST API and compared with ctxtop's own reports: one span
per request of every session, the token totals and the exact cost of each session. Fault tests stop Phoenix
in the middle of an export, and point the export at a receiver that answers 500 and one that never answers.
The team test runs Phoenix on PostgreSQL with two ctxtop instances of different users.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.support.fixtures import TOKEN_KEYS
from tests.support.phoenix import Phoenix, Postgres, ensure_phoenix

pytestmark = pytest.mark.timeout(600)


@pytest.fixture(scope="module")
def phoenix(tmp_path_factory: pytest.TempPathFactory):
    server = Phoenix(ensure_phoenix(), tmp_path_factory.mktemp("phoenix"))
    server.start()
    yield server
    server.stop()


def _world(root: Path, claude: Path, *, project: str, user: str, extra: str = "") -> dict[str, str]:
    """An environment of one ctxtop instance: its own config ([export] labels), index and sources."""
    (root / "cfg").mkdir(parents=True, exist_ok=True)
    (root / "cfg" / "config.toml").write_text(
        f'[export]\nproject = "{project}"\nuser = "{user}"\n{extra}', encoding="utf-8"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    env.update(
        CTXTOP_CONFIG_DIR=str(root / "cfg"), CTXTOP_DATA_DIR=str(root / "data"),
        CTXTOP_API_LOG_DIR=str(root / "api"), CLAUDE_CONFIG_DIR=str(claude),
    )  # fmt: skip
    return env


def _ctxtop(env: dict[str, str], *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ctxtop", *args], env=env, capture_output=True, text=True, timeout=timeout
    )


def _expected(env: dict[str, str]) -> tuple[dict[str, int], dict[str, dict]]:
    """Requests per session (``history export``) and the sessions report (``report sessions --json``)."""
    history = _ctxtop(env, "history", "export")
    assert history.returncode == 0, history.stderr
    requests = Counter(
        r["session_id"] for r in map(json.loads, history.stdout.splitlines()) if r["record"] == "request"
    )
    report = _ctxtop(env, "report", "sessions", "--json")
    assert report.returncode == 0, report.stderr
    return dict(requests), {s["session_id"]: s for s in json.loads(report.stdout)}


def _received(spans: list[dict], by: str = "session.id") -> tuple[Counter, dict[str, dict[str, int]], dict]:
    """Span count, token totals and exact cost per ``by`` attribute, from what Phoenix returned."""
    count: Counter = Counter()
    tokens: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(TOKEN_KEYS, 0))
    cost: dict[str, Decimal] = defaultdict(Decimal)
    for span in spans:
        a = span["attributes"]
        key = a[by]
        count[key] += 1
        for t in TOKEN_KEYS:
            tokens[key][t] += a[f"ctxtop.tokens.{t}"]
        # The GenAI convention's input counts the cached tokens too.
        assert (
            a["gen_ai.usage.input_tokens"]
            == a["ctxtop.tokens.input"]
            + a["ctxtop.tokens.cache_read"]
            + a["ctxtop.tokens.cache_write_5m"]
            + a["ctxtop.tokens.cache_write_1h"]
        )
        assert a["llm.token_count.prompt"] == a["gen_ai.usage.input_tokens"]
        if "ctxtop.cost.usd" in a:
            cost[key] += Decimal(a["ctxtop.cost.usd"])
    return count, tokens, cost


def _check_against_report(env: dict[str, str], spans: list[dict]) -> None:
    requests, report = _expected(env)
    count, tokens, cost = _received(spans)
    assert dict(count) == requests
    for sid, row in report.items():
        assert tokens[sid] == row["tokens"], sid
        if row["cost_usd"] is not None:
            assert cost[sid] == Decimal(row["cost_usd"]), sid


def test_export_equals_the_reports(phoenix: Phoenix, tmp_path: Path, claude_fixtures: Path) -> None:
    env = _world(tmp_path, claude_fixtures, project="fixtures", user="alice")
    first = _ctxtop(env, "export", "otlp", "--endpoint", phoenix.url)
    assert first.returncode == 0, first.stderr
    requests, _ = _expected(env)
    total = sum(requests.values())
    assert f"exported {total} of {total} pending requests" in first.stderr
    # Phoenix ingests traces only: said once, not an error.
    assert "no OTLP metrics endpoint" in first.stderr
    spans = phoenix.wait_for_spans("fixtures", total)
    _check_against_report(env, spans)
    a = spans[0]["attributes"]
    assert a["gen_ai.provider.name"] == "anthropic" and spans[0]["span_kind"] == "LLM"
    assert a["user.id"] == "alice" and a["gen_ai.conversation.id"] == a["session.id"]
    assert a["ctxtop.project.path"].startswith("/")  # paths leave as they are unless redacted
    assert "output.value" not in a or "content" not in a["output.value"]
    # One trace per session.
    traces = defaultdict(set)
    for span in spans:
        traces[span["attributes"]["session.id"]].add(span["context"]["trace_id"])
    assert all(len(t) == 1 for t in traces.values()) and len({min(t) for t in traces.values()}) == len(traces)

    again = _ctxtop(env, "export", "otlp", "--endpoint", phoenix.url)
    assert again.returncode == 0 and "exported 0 of 0 pending requests" in again.stderr
    # A fresh index (the export's memory lost) resends with the same span ids: Phoenix keeps one copy.
    shutil.rmtree(tmp_path / "data")
    lost = _ctxtop(env, "export", "otlp", "--endpoint", phoenix.url)
    assert lost.returncode == 0 and f"exported {total} of {total}" in lost.stderr
    time.sleep(2)
    assert len(phoenix.spans("fixtures")) == total


def test_export_the_public_corpus(phoenix: Phoenix, tmp_path: Path, public_corpus: Path) -> None:
    env = _world(tmp_path, public_corpus, project="corpus", user="corpus", extra='redact_paths = "on"\n')
    done = _ctxtop(env, "export", "otlp", "--endpoint", phoenix.url)
    assert done.returncode == 0, done.stderr
    requests, _ = _expected(env)
    spans = phoenix.wait_for_spans("corpus", sum(requests.values()))
    _check_against_report(env, spans)
    paths = {s["attributes"].get("ctxtop.project.path") for s in spans}
    assert paths and all(p.startswith("sha256:") for p in paths)


def test_receiver_stopped_mid_export_then_restarted(
    phoenix: Phoenix, tmp_path: Path, claude_fixtures: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Phoenix goes away after the first batch: the export stops, bounded, with what it sent recorded; after
    Phoenix is back a new run sends exactly the rest."""
    from ctxtop.services import export_otlp
    from ctxtop.services.monitor import Monitor

    env = _world(tmp_path, claude_fixtures, project="restart", user="alice")
    requests, _ = _expected(env)
    total = sum(requests.values())
    for name in ("CTXTOP_CONFIG_DIR", "CTXTOP_DATA_DIR", "CLAUDE_CONFIG_DIR"):
        monkeypatch.setenv(name, env[name])
    monitor = Monitor.open()
    monitor.refresh()
    settings = export_otlp.resolve(monitor.config, {}, endpoint=phoenix.url)
    settings.batch_size, settings.attempts, settings.backoff, settings.timeout = 5, 2, 0.2, 3.0

    stopped: list[float] = []

    def stop_after_first(report: export_otlp.ExportReport) -> None:
        if report.batches == 1:
            phoenix.wait_for_spans("restart", 5)  # accepted and stored, then the receiver goes away
            phoenix.stop()
            stopped.append(time.monotonic())

    exporter = export_otlp.OtlpExport(monitor, settings, on_batch=stop_after_first)
    report = exporter.run_once()
    exporter.close()
    # Bounded: two calls of at most 3 s each and a 0.2 s pause, once the receiver is gone.
    assert time.monotonic() - stopped[0] < 15
    assert report.sent == 5 and report.error is not None and report.calls == 1 + 2
    monitor.index.close()
    phoenix.start()
    rest = _ctxtop(env, "export", "otlp", "--endpoint", phoenix.url)
    assert rest.returncode == 0, rest.stderr
    assert f"exported {total - 5} of {total - 5} pending requests" in rest.stderr
    spans = phoenix.wait_for_spans("restart", total)
    _check_against_report(env, spans)


class _Receiver(BaseHTTPRequestHandler):
    """A receiver that fails: answers 500 (``mode = "500"``) or reads the request and never answers."""

    mode = "500"
    calls: list[float] = []
    headers_seen: list[dict[str, str]] = []
    release = threading.Event()

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        type(self).calls.append(time.monotonic())
        type(self).headers_seen.append({k.lower(): v for k, v in self.headers.items()})
        if self.mode == "hang":
            type(self).release.wait(30)
            return
        body = b"internal error"
        self.send_response(500)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.mark.parametrize("mode", ["500", "hang"])
def test_failing_receiver_bounded_retries_clear_message(
    mode: str, tmp_path: Path, claude_fixtures: Path
) -> None:
    handler = type(
        "Handler", (_Receiver,), {"mode": mode, "calls": [], "headers_seen": [], "release": threading.Event()}
    )
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env = _world(tmp_path, claude_fixtures, project="failing", user="alice")
    try:
        started = time.monotonic()
        done = _ctxtop(
            env, "export", "otlp", "--endpoint", f"http://127.0.0.1:{server.server_port}",
            "--attempts", "3", "--timeout", "1", "--headers", "x-team-key=k1", "authorization=Bearer t0",
        )  # fmt: skip
        elapsed = time.monotonic() - started
    finally:
        handler.release.set()
        server.shutdown()
    assert done.returncode == 1
    assert "did not accept a batch after 3 attempts" in done.stderr
    assert "requests left for the next run" in done.stderr
    if mode == "500":
        assert "code: 500" in done.stderr and "Internal Server Error" in done.stderr
        assert len(handler.calls) == 3  # 500 is not retried by the SDK: three calls, one per attempt
    else:
        assert "timeout" in done.stderr.lower() or "timed out" in done.stderr.lower()
        assert 3 <= len(handler.calls) <= 9
    # 3 calls of at most ~1 s (the SDK's own retries inside that), pauses of 1 + 2 s, start-up.
    assert elapsed < 20
    assert "Traceback" not in done.stderr
    assert handler.headers_seen[0]["x-team-key"] == "k1"
    assert handler.headers_seen[0]["authorization"] == "Bearer t0"
    assert handler.headers_seen[0]["content-type"] == "application/x-protobuf"
    assert "Bearer t0" not in done.stderr  # a header's value (an API key) is never printed
    # Nothing was recorded as sent.
    again = _ctxtop(
        env, "export", "otlp", "--endpoint", "http://127.0.0.1:9", "--attempts", "1", "--timeout", "1"
    )
    requests, _ = _expected(env)
    total = sum(requests.values())
    assert f"exported 0 of {total} pending requests" in again.stderr


def _lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


def test_watch_exports_as_a_session_grows(phoenix: Phoenix, tmp_path: Path, claude_fixtures: Path) -> None:
    source = next((claude_fixtures / "projects").glob("*/*.jsonl"))
    claude = tmp_path / "claude"
    target = claude / "projects" / source.parent.name / source.name
    target.parent.mkdir(parents=True)
    lines = _lines(source)
    half = len(lines) // 2
    target.write_bytes(b"".join(lines[:half]))
    env = _world(tmp_path, claude, project="watch", user="alice")
    proc = subprocess.Popen(
        [sys.executable, "-m", "ctxtop", "export", "otlp", "--watch", "--endpoint", phoenix.url],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    first_seen = full_seen = -1
    try:
        first, _ = _expected(env)
        first_seen = len(phoenix.wait_for_spans("watch", sum(first.values()), timeout=150))
        if first_seen == sum(first.values()):
            with open(target, "ab") as fh:
                fh.write(b"".join(lines[half:]))
            full, _ = _expected(env)
            spans = phoenix.wait_for_spans("watch", sum(full.values()), timeout=150)
            full_seen = len(spans)
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    assert first_seen == sum(first.values()) > 0, err
    assert full_seen == sum(full.values()) > first_seen, err
    _check_against_report(env, spans)
    assert proc.returncode == 0, err
    assert "watching" in err


def test_team_on_postgres_per_user_totals(tmp_path: Path, claude_fixtures: Path) -> None:
    """Two ctxtop instances of two users, different histories, one Phoenix on PostgreSQL: each user's totals
    in the receiver equal that instance's own report."""
    exe = ensure_phoenix()
    pg = Postgres()
    pg.start()
    server = Phoenix(exe, tmp_path / "phoenix-pg", database_url=pg.url)
    try:
        server.start()
        projects = sorted((claude_fixtures / "projects").iterdir())
        worlds = {}
        for user, mine in (("alice", projects[:1]), ("bob", projects[1:])):
            claude = tmp_path / user / "claude"
            for folder in mine:
                shutil.copytree(folder, claude / "projects" / folder.name)
            worlds[user] = _world(tmp_path / user, claude, project="team", user=user, extra='team = "core"\n')
            done = _ctxtop(worlds[user], "export", "otlp", "--endpoint", server.url)
            assert done.returncode == 0, done.stderr
        expected = {user: _expected(env) for user, env in worlds.items()}
        total = sum(sum(requests.values()) for requests, _ in expected.values())
        spans = server.wait_for_spans("team", total)
        count, tokens, cost = _received(spans, by="user.id")
        for user, (requests, report) in expected.items():
            assert count[user] == sum(requests.values())
            for t in TOKEN_KEYS:
                assert tokens[user][t] == sum(s["tokens"][t] for s in report.values()), (user, t)
            assert cost[user] == sum(Decimal(s["cost_usd"]) for s in report.values() if s["cost_usd"])
    finally:
        server.stop()
        pg.stop()


async def test_the_tui_exports_in_the_background(
    phoenix: Phoenix, tmp_path: Path, claude_fixtures: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``[export] tui = "on"``: the TUI's own export thread sends what its engine indexed; the screen loads
    as without it."""
    from ctxtop.adapters.config import Config
    from ctxtop.services.monitor import Monitor
    from ctxtop.ui.app import CtxtopApp

    env = _world(
        tmp_path,
        claude_fixtures,
        project="tui",
        user="alice",
        extra=f'tui = "on"\nendpoint = "{phoenix.url}"\n',
    )
    for name in ("CTXTOP_CONFIG_DIR", "CTXTOP_DATA_DIR", "CTXTOP_API_LOG_DIR", "CLAUDE_CONFIG_DIR"):
        monkeypatch.setenv(name, env[name])

    def factory(config: Config) -> Monitor:
        return Monitor.open([str(claude_fixtures)], env["CTXTOP_API_LOG_DIR"], None, config)

    app = CtxtopApp(factory, config_dir=tmp_path / "cfg", watch=False, theme="ctxtop-dark",
                    claude_dirs=[str(claude_fixtures)])  # fmt: skip
    requests, _ = _expected(env)
    total = sum(requests.values())
    async with app.run_test(size=(120, 36)) as pilot:
        deadline = time.monotonic() + 120
        while len(app.views) < len(requests) and time.monotonic() < deadline:
            await pilot.pause(0.1)
        assert app.exporter is not None
        spans: list[dict] = []
        while time.monotonic() < deadline:
            spans = phoenix.spans("tui")
            if len(spans) >= total:
                break
            await pilot.pause(0.3)
    _check_against_report(env, phoenix.wait_for_spans("tui", total))


def test_content_only_when_asked(phoenix: Phoenix, tmp_path: Path, claude_fixtures: Path) -> None:
    """--include-content adds each response's text, as the transcript has it; without it none leaves."""
    env = _world(tmp_path, claude_fixtures, project="content", user="alice")
    done = _ctxtop(env, "export", "otlp", "--endpoint", phoenix.url, "--include-content", "--redact-paths")
    assert done.returncode == 0, done.stderr
    requests, _ = _expected(env)
    spans = phoenix.wait_for_spans("content", sum(requests.values()))
    # What the transcripts say, read without ctxtop: message id -> its text blocks.
    texts: dict[str, list[str]] = defaultdict(list)
    for path in (claude_fixtures / "projects").rglob("*.jsonl"):
        for line in path.read_text(encoding="utf-8").splitlines():
            message = json.loads(line).get("message")
            if isinstance(message, dict) and isinstance(message.get("content"), list):
                for block in message["content"]:
                    if (
                        isinstance(block, dict)
                        and block.get("type") == "text"
                        and block["text"] not in texts[message.get("id")]
                    ):
                        texts[message.get("id")].append(block["text"])
    with_text = 0
    for span in spans:
        a = span["attributes"]
        expected = texts.get(a["gen_ai.response.id"])
        if expected:
            with_text += 1
            assert a["output.value"] == "\n".join(expected)
            assert json.loads(a["gen_ai.output.messages"])[0]["parts"][0]["content"] == "\n".join(expected)
        assert a["ctxtop.project.path"].startswith("sha256:")
    assert with_text > 0


async def test_a_hanging_receiver_does_not_slow_the_tui(
    tmp_path: Path, claude_fixtures: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``[export] tui = "on"`` against a receiver that never answers: the dashboard loads as without it, and a
    notification says the receiver is unavailable."""
    from ctxtop.adapters.config import Config
    from ctxtop.services.monitor import Monitor
    from ctxtop.ui.app import CtxtopApp

    handler = type(
        "Handler",
        (_Receiver,),
        {"mode": "hang", "calls": [], "headers_seen": [], "release": threading.Event()},
    )
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}"
    env = _world(
        tmp_path,
        claude_fixtures,
        project="hang",
        user="alice",
        extra=f'tui = "on"\nendpoint = "{url}"\ntimeout = 1\n',
    )
    for name in ("CTXTOP_CONFIG_DIR", "CTXTOP_DATA_DIR", "CTXTOP_API_LOG_DIR", "CLAUDE_CONFIG_DIR"):
        monkeypatch.setenv(name, env[name])

    def factory(config: Config) -> Monitor:
        return Monitor.open([str(claude_fixtures)], env["CTXTOP_API_LOG_DIR"], None, config)

    app = CtxtopApp(factory, config_dir=tmp_path / "cfg", watch=False, theme="ctxtop-dark",
                    claude_dirs=[str(claude_fixtures)])  # fmt: skip
    try:
        async with app.run_test(size=(120, 36)) as pilot:
            started = time.monotonic()
            while len(app.views) < 3 and time.monotonic() - started < 60:
                await pilot.pause(0.05)
            assert len(app.views) == 3
            # The export is still in its first hanging calls: the screen did not wait for them.
            assert not any("unavailable" in str(n.message) for n in app._notifications)
            while time.monotonic() - started < 60:
                if any("unavailable" in str(n.message) for n in app._notifications):
                    break
                await pilot.pause(0.2)
            assert any("unavailable" in str(n.message) for n in app._notifications)
            assert len(handler.calls) >= 3
    finally:
        handler.release.set()
        server.shutdown()
