"""Export usage to an OpenTelemetry receiver over OTLP/HTTP (protobuf), exactly once, never blocking.

The OpenTelemetry SDK builds the spans and metric points and its OTLP exporter encodes and sends them (no
hand-built protobuf). What a span says is ``core.telemetry``; what was sent is ``adapters.export_log``.

- Incremental and idempotent: requests not yet acknowledged by this receiver are sent in batches; a batch is
  recorded in the index only once the receiver accepted it, so a run that stops halfway (receiver gone,
  ctxtop killed) leaves the rest for the next run, and nothing is sent twice.
- Bounded: every call has a timeout and the SDK retries transient answers (429, 502-504, a refused
  connection) within it; on top of that a batch is tried ``attempts`` times with a doubling pause. A
  receiver that answers 500 or hangs costs at most attempts x (timeout + pause), then the export stops with
  the receiver's answer in the message.
- Never blocking: the export runs in its own process (``ctxtop export otlp``) or thread with its own index
  connection; the TUI, the hooks and the status line never wait for it.
"""

from __future__ import annotations

import getpass
import logging
import os
import re
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from ctxtop import __version__
from ctxtop.adapters import export_log
from ctxtop.adapters.config import Config
from ctxtop.core import metrics, telemetry
from ctxtop.core.metrics import SessionStats
from ctxtop.core.pricing import SYNTHETIC
from ctxtop.core.usage import ZERO, Tokens
from ctxtop.services.monitor import Monitor

DEFAULT_ENDPOINT = "http://localhost:4318"
SETTLE_SECONDS = 5.0
"""``--watch`` sends a request this long after its response was written: Claude Code writes a response in
several copies as it streams, and only the last one carries the final ``output_tokens``."""

_SDK_LOGGERS = (
    "opentelemetry.exporter.otlp.proto.http.trace_exporter",
    "opentelemetry.exporter.otlp.proto.http.metric_exporter",
    "opentelemetry.exporter.otlp.common.http",
)


def _refused(message: str) -> bool:
    """A 4xx answer other than 408/429: the request itself was refused, and sending it again cannot help."""
    match = re.search(r"code: (\d{3})", message)
    return match is not None and 400 <= int(match.group(1)) < 500 and match.group(1) not in ("408", "429")


class OtelMissing(RuntimeError):
    """The ``otel`` extra is not installed."""


@dataclass(slots=True)
class ExportSettings:
    traces_endpoint: str
    metrics_endpoint: str
    headers: dict[str, str] = field(default_factory=dict)
    user: str = ""
    team: str = ""
    project: str = ""
    host: str = ""
    redact_paths: bool = False
    include_content: bool = False
    metrics: bool = True
    timeout: float = 10.0
    """Seconds for one export call, the SDK's own retries included."""
    attempts: int = 3
    """Calls per batch before the export gives up (``--watch``: then waits and starts over)."""
    backoff: float = 1.0
    """Pause after the first failed call; doubled after each further one, at most ``max_backoff``."""
    max_backoff: float = 30.0
    batch_size: int = 256

    @property
    def target(self) -> str:
        """The receiver as the index remembers it (what was sent to one receiver is not sent to another)."""
        return self.traces_endpoint


def parse_headers(text: str) -> dict[str, str]:
    """``k=v,k2=v2`` (the ``OTEL_EXPORTER_OTLP_HEADERS`` format; values may be percent-encoded)."""
    from urllib.parse import unquote

    out: dict[str, str] = {}
    for item in text.split(","):
        if not item.strip():
            continue
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise ValueError(f"bad header {item.strip()!r}: expected NAME=VALUE")
        out[name.strip().lower()] = unquote(value.strip())
    return out


def _signal_url(base: str, signal: str) -> str:
    return base.rstrip("/") + f"/v1/{signal}"


def resolve(
    config: Config,
    env: Mapping[str, str] | None = None,
    *,
    endpoint: str | None = None,
    headers: list[str] | None = None,
    include_content: bool | None = None,
    redact_paths: bool | None = None,
) -> ExportSettings:
    """Settings from the command line, else the standard ``OTEL_EXPORTER_OTLP_*`` variables, else ``[export]``."""
    env = os.environ if env is None else env
    base = (
        endpoint
        or env.get("OTEL_EXPORTER_OTLP_ENDPOINT")
        or config.get("export.endpoint")
        or DEFAULT_ENDPOINT
    )
    if endpoint:
        traces, metrics_url = _signal_url(base, "traces"), _signal_url(base, "metrics")
    else:
        # The per-signal variables are full URLs and win over the base, as the SDK reads them.
        traces = env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or _signal_url(base, "traces")
        metrics_url = env.get("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT") or _signal_url(base, "metrics")
    merged: dict[str, str] = {}
    for text in (config.get("export.headers") or "", env.get("OTEL_EXPORTER_OTLP_HEADERS", "")):
        merged.update(parse_headers(text))
    for item in headers or ():
        merged.update(parse_headers(item))
    return ExportSettings(
        traces_endpoint=traces,
        metrics_endpoint=metrics_url,
        headers=merged,
        user=config.get("export.user") or _login(),
        team=config.get("export.team") or "",
        project=config.get("export.project") or "",
        host=socket.gethostname(),
        redact_paths=bool(redact_paths) or config.get("export.redact_paths") == "on",
        include_content=bool(include_content) or config.get("export.include_content") == "on",
        metrics=config.get("export.metrics") != "off",
        timeout=float(config.get("export.timeout") or 10.0),
    )


def _login() -> str:
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no login name (a container without a passwd entry)
        return str(os.getuid())


@dataclass(slots=True)
class ExportReport:
    pending: int = 0
    sent: int = 0
    batches: int = 0
    calls: int = 0
    sessions: set[str] = field(default_factory=set)
    error: str | None = None
    """Why the export stopped before sending everything (the receiver's answer), None when it did not."""
    metrics_points: int = 0
    metrics_note: str | None = None
    seconds: float = 0.0


class _LastError(logging.Handler):
    """Keeps the SDK exporter's last error line: the receiver's status and body, for the user's message."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.message: str | None = None

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.message = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad log record must not break the export
            self.message = str(record.msg)


def _import_sdk():  # type: ignore[no-untyped-def]
    try:
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    except ImportError as exc:
        raise OtelMissing("the OpenTelemetry SDK is not installed: pip install 'ctxtop[otel]'") from exc
    return OTLPSpanExporter, OTLPMetricExporter


class OtlpExport:
    """One receiver's export of the requests in the monitor's scope. Not thread-safe: one caller at a time."""

    def __init__(
        self,
        monitor: Monitor,
        settings: ExportSettings,
        *,
        sleep: Callable[[float], object] | None = None,
        on_batch: Callable[[ExportReport], None] | None = None,
    ) -> None:
        span_cls, metric_cls = _import_sdk()
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.util.instrumentation import InstrumentationScope

        self.monitor = monitor
        self.settings = settings
        self.stop = threading.Event()
        self._sleep = sleep or self.stop.wait
        self.on_batch = on_batch
        self.resource = Resource.create(
            telemetry.resource_attributes(
                version=__version__, host=settings.host, user=settings.user, team=settings.team,
                project=settings.project,
            )
        )  # fmt: skip
        self.scope = InstrumentationScope("ctxtop", __version__)
        self._spans = span_cls(
            endpoint=settings.traces_endpoint, headers=settings.headers, timeout=settings.timeout
        )
        self._metrics = metric_cls(
            endpoint=settings.metrics_endpoint, headers=settings.headers, timeout=settings.timeout
        )
        self._errors = _LastError()
        for name in _SDK_LOGGERS:
            logger = logging.getLogger(name)
            logger.addHandler(self._errors)
            logger.propagate = False  # the SDK's tracebacks are not the user's message; ours is
        self.metrics_supported = True

    def close(self) -> None:
        for name in _SDK_LOGGERS:
            logging.getLogger(name).removeHandler(self._errors)
        self._spans.shutdown()
        self._metrics.shutdown()

    # ------------------------------------------------------------------ spans

    def _facts(self, session_id: str) -> tuple[dict[str, telemetry.RequestFacts], SessionStats | None]:
        """Every request of a session with its figures, from the same computation as the session's stats."""
        index = self.monitor.index
        keys, reqs = index.keyed_requests(session_id)
        per: list[tuple[int, int]] = []
        metrics.compute(session_id, reqs, index.compactions(session_id), index.prices, per_request=per)
        cached = index.sessions(ids=[session_id])
        stats = cached[0] if cached else None
        window = None
        if stats is not None:
            try:
                window = self.monitor.view(stats).window
            except Exception:  # noqa: BLE001 - a window we cannot resolve leaves the fill out, not the span
                window = None
        prices = index.prices
        out: dict[str, telemetry.RequestFacts] = {}
        for key, req, (reread, context) in zip(keys, reqs, per, strict=True):
            out[key] = telemetry.RequestFacts(
                key=key, session_id=session_id, chain=req.chain, ts=req.ts, model=req.model, billed=req.billed,
                web_search=req.web_search, web_fetch=req.web_fetch, service_tier=req.service_tier,
                speed=req.speed, compaction_call=req.is_compaction_call, cost=metrics.request_cost(prices, req),
                reread_tokens=reread, context_after=context, window=window,
                long_context_from=prices.long_context_from(req.model, req.ts, req.tokens.prompt),
                source=stats.source if stats else "claude", project=stats.cwd if stats else None,
                git_branch=stats.git_branch if stats else None,
            )  # fmt: skip
        return out, stats

    def _span(self, facts: telemetry.RequestFacts, content: str | None):  # type: ignore[no-untyped-def]
        from opentelemetry.sdk.trace import ReadableSpan
        from opentelemetry.trace import SpanContext, SpanKind, TraceFlags

        attrs = telemetry.span_attributes(
            facts, user=self.settings.user, redact_paths=self.settings.redact_paths
        )
        if content is not None:
            import json

            attrs["output.value"] = content
            attrs["gen_ai.output.messages"] = json.dumps(
                [{"role": "assistant", "parts": [{"type": "text", "content": content}]}]
            )
        context = SpanContext(
            telemetry.trace_id(facts.session_id, self.settings.project),
            telemetry.span_id(facts.key, self.settings.project), is_remote=False,
            trace_flags=TraceFlags(TraceFlags.SAMPLED),
        )  # fmt: skip
        at = int(facts.ts * 1e9)
        # Transcripts record when a response was written, not when its request left: start = end.
        return ReadableSpan(
            name=telemetry.span_name(facts), context=context, resource=self.resource, attributes=attrs,
            kind=SpanKind.CLIENT, start_time=at, end_time=at, instrumentation_scope=self.scope,
        )  # fmt: skip

    def _send(self, call: Callable[[], bool], report: ExportReport) -> bool:
        """One batch: up to ``attempts`` calls, a doubling pause between them. False: gave up (report.error)."""
        delay = self.settings.backoff
        for attempt in range(1, self.settings.attempts + 1):
            self._errors.message = None
            report.calls += 1
            if call():
                report.error = None
                return True
            report.error = self._errors.message or "the receiver did not accept the batch"
            if attempt == self.settings.attempts or self.stop.is_set() or _refused(report.error):
                break
            self._sleep(delay)
            if self.stop.is_set():
                break
            delay = min(delay * 2, self.settings.max_backoff)
        return False

    def run_once(self, since: float | None = None, settled_before: float | None = None) -> ExportReport:
        """Send every request not yet acknowledged (from ``since``), then the metrics of what changed."""
        from opentelemetry.sdk.trace.export import SpanExportResult

        started = time.monotonic()
        index = self.monitor.index
        target = self.settings.target
        todo = export_log.pending(index, target, since, settled_before)
        report = ExportReport(pending=len(todo))
        facts: dict[str, telemetry.RequestFacts] = {}
        done: set[str] = set()
        for start in range(0, len(todo), self.settings.batch_size):
            batch = todo[start : start + self.settings.batch_size]
            spans = []
            included = []
            for row in batch:
                if row.session_id not in done:
                    facts.update(self._facts(row.session_id)[0])
                    done.add(row.session_id)
                f = facts.get(row.key)
                if f is None:  # moved to another session since the query (a fork indexed meanwhile): next run
                    continue
                text = export_log.response_text(index, row.key) if self.settings.include_content else None
                spans.append(self._span(f, text))
                included.append(row)
            batch = included
            if not batch:
                continue
            # _send calls it at once, before the loop moves on: spans is this batch's.
            if not self._send(lambda: self._spans.export(spans) == SpanExportResult.SUCCESS, report):  # noqa: B023
                break
            export_log.mark_sent(index, target, [(row.key, row.total) for row in batch])
            report.sent += len(batch)
            report.batches += 1
            report.sessions.update(row.session_id for row in batch)
            if self.on_batch is not None:
                self.on_batch(report)
            if self.stop.is_set():
                break
        if report.sessions and self.settings.metrics and report.error is None:
            self._send_metrics(report)
        report.seconds = time.monotonic() - started
        return report

    # ------------------------------------------------------------------ metrics

    def _send_metrics(self, report: ExportReport) -> None:
        """Gauges of the sessions just exported and of the days they touched (their latest totals)."""
        from opentelemetry.sdk.metrics.export import (
            Gauge,
            Metric,
            MetricExportResult,
            MetricsData,
            NumberDataPoint,
            ResourceMetrics,
            ScopeMetrics,
        )

        if not self.metrics_supported:
            return
        index = self.monitor.index
        sessions = index.sessions(ids=sorted(report.sessions))
        points: list[telemetry.Point] = []
        days: set[str] = set()
        for s in sessions:
            points += telemetry.session_points(
                s.session_id, s.source, s.tokens, s.cost_usd, s.reread_ratio, s.requests
            )
            days.update(b.day for b in s.buckets.values())
        if days:
            first = time.mktime(datetime.strptime(min(days), "%Y-%m-%d").timetuple())
            totals: dict[str, tuple[Tokens, Decimal, int]] = {}
            prompt: dict[str, int] = {}
            reread: dict[str, int] = {}
            for s in index.sessions(since=first):
                if not any(b.day in days for b in s.buckets.values()):
                    continue
                for b in s.buckets.values():
                    if b.day in days:
                        tokens, cost, n = totals.get(b.day, (ZERO, Decimal(0), 0))
                        totals[b.day] = (tokens + b.tokens, cost + b.cost, n + b.requests)
                # The day's re-read ratio from the same per-request re-reads as the session's (and the spans').
                _, reqs = index.keyed_requests(s.session_id)
                per: list[tuple[int, int]] = []
                metrics.compute(
                    s.session_id, reqs, index.compactions(s.session_id), index.prices, per_request=per
                )
                for req, (rr, _) in zip(reqs, per, strict=True):
                    day = metrics.local_day(req.ts)
                    if day in days and req.model != SYNTHETIC:
                        prompt[day] = prompt.get(day, 0) + req.tokens.prompt
                        reread[day] = reread.get(day, 0) + rr
            for day, (tokens, cost, n) in sorted(totals.items()):
                ratio = reread.get(day, 0) / prompt[day] if prompt.get(day) else 0.0
                points += telemetry.day_points(day, tokens, cost, n, ratio)
        now = time.time_ns()
        by_name: dict[str, list[telemetry.Point]] = {}
        for p in points:
            by_name.setdefault(p.name, []).append(p)
        data = MetricsData([
            ResourceMetrics(self.resource, [ScopeMetrics(self.scope, [
                Metric(name, None, group[0].unit, Gauge([
                    NumberDataPoint(p.attributes, now, now, p.value) for p in group
                ]))
                for name, group in by_name.items()
            ], "")], "")
        ])  # fmt: skip
        ok = self._send(lambda: self._metrics.export(data) == MetricExportResult.SUCCESS, report)
        if ok:
            report.metrics_points = len(points)
            return
        # An LLM trace server (Phoenix) has no metrics endpoint: say so once, keep exporting spans.
        if report.error and re.search(r"code: 40[45]\b", report.error):
            self.metrics_supported = False
            report.metrics_note = (
                f"the receiver has no OTLP metrics endpoint ({self.settings.metrics_endpoint}): spans only"
            )
        else:
            report.metrics_note = f"metrics not sent: {report.error}"
        report.error = None

    # ------------------------------------------------------------------ following the live engine

    def follow(
        self,
        wake: threading.Event,
        since: float | None = None,
        *,
        settle: float = SETTLE_SECONDS,
        on_report: Callable[[ExportReport], None] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """Export whatever is pending and settled each time ``wake`` is set (the live engine updated the
        index) or a settle period passed, until ``stop`` is set. A receiver that is down is retried with a
        doubling pause (at most ``max_backoff``); what accumulates meanwhile goes out in the next batches."""
        pause = self.settings.backoff
        while not self.stop.is_set():
            wake.clear()
            report = self.run_once(since, settled_before=clock() - settle)
            if on_report is not None:
                on_report(report)
            if report.error is not None:
                self.stop.wait(pause)
                pause = min(pause * 2, self.settings.max_backoff)
                continue
            pause = self.settings.backoff
            # The next update of the index, or when a response written meanwhile has settled.
            wake.wait(settle if settle > 0 else 1.0)

    def watch(
        self,
        factory: Callable[[Config], Monitor],
        since: float | None = None,
        *,
        settle: float = SETTLE_SECONDS,
        on_report: Callable[[ExportReport], None] | None = None,
        poll_interval: float = 2.0,
    ) -> str | None:
        """``--watch``: a headless live engine (``services.live``) tails and indexes the transcripts on its
        own thread and connection; each ``SessionsUpdated`` it posts wakes the export. Returns the engine's
        failure, if it failed."""
        from ctxtop.services import events as ev
        from ctxtop.services.live import Engine

        wake = threading.Event()
        failed: list[str] = []

        def post(event: object) -> None:
            if isinstance(event, ev.SessionsUpdated):
                wake.set()
            elif isinstance(event, ev.EngineFailed):
                failed.append(event.error)
                self.stop.set()

        engine = Engine(factory, self.monitor.config, post, poll_interval=poll_interval)
        thread = threading.Thread(target=engine.run, name="ctxtop-live", daemon=True)
        thread.start()
        try:
            self.follow(wake, since, settle=settle, on_report=on_report)
        finally:
            engine.stop()
            thread.join(timeout=10)
        return failed[0] if failed else None


class BackgroundExport:
    """The TUI's export (``[export] tui = "on"``): a daemon thread with its own index connection, woken after
    each update of the TUI's live engine, so it reads what the engine indexed (no second tailer) and the engine
    never waits for the receiver. ``notify(text, is_problem)`` reports a receiver going away and coming back."""

    def __init__(
        self,
        factory: Callable[[], Monitor],
        notify: Callable[[str, bool], None],
        *,
        settle: float = SETTLE_SECONDS,
    ) -> None:
        self.factory = factory
        self.notify = notify
        self.settle = settle
        self._wake = threading.Event()
        self._stopped = threading.Event()
        self._exporter: OtlpExport | None = None
        self._thread = threading.Thread(target=self._run, name="ctxtop-otlp-export", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stopped.set()
        if self._exporter is not None:
            self._exporter.stop.set()
        self._wake.set()

    def _run(self) -> None:
        try:
            monitor = self.factory()
            self._exporter = exporter = OtlpExport(monitor, resolve(monitor.config))
        except (OtelMissing, ValueError) as exc:
            self.notify(f"OTLP export off: {exc}", True)
            return
        if self._stopped.is_set():
            exporter.stop.set()
        target = exporter.settings.target
        failing = [False]

        def on_report(report: ExportReport) -> None:
            if report.error is not None and not failing[0]:
                self.notify(f"OTLP export: {target} unavailable ({report.error}); retrying", True)
            elif report.error is None and failing[0]:
                self.notify(f"OTLP export: {target} is back; sent {report.sent:,} requests", False)
            failing[0] = report.error is not None

        try:
            exporter.follow(self._wake, settle=self.settle, on_report=on_report)
        finally:
            exporter.close()
            monitor.index.close()
