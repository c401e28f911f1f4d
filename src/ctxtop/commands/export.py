"""``ctxtop export otlp``: send usage to an OpenTelemetry receiver (see ``services.export_otlp``)."""

from __future__ import annotations

import argparse
import signal
import sys
import time

from ctxtop.commands._common import open_monitor, parse_day


def _say(text: str) -> None:
    print(f"ctxtop: {text}", file=sys.stderr, flush=True)


def _summary(report, target: str) -> str:  # type: ignore[no-untyped-def]
    text = (
        f"exported {report.sent:,} of {report.pending:,} pending requests "
        f"({len(report.sessions):,} sessions) to {target}"
    )
    if report.metrics_points:
        text += f"; {report.metrics_points:,} metric points"
    return text


def otlp(args: argparse.Namespace) -> int:
    from ctxtop.services import export_otlp

    monitor = open_monitor(args)
    try:
        settings = export_otlp.resolve(
            monitor.config, endpoint=args.endpoint, headers=args.headers,
            include_content=args.include_content, redact_paths=args.redact_paths,
        )  # fmt: skip
    except ValueError as exc:
        _say(str(exc))
        return 2
    if args.timeout is not None:
        settings.timeout = args.timeout
    settings.attempts = args.attempts
    try:
        exporter = export_otlp.OtlpExport(monitor, settings)
    except export_otlp.OtelMissing as exc:
        _say(str(exc))
        return 2
    since = parse_day(args.since)
    try:
        if not args.watch:
            report = exporter.run_once(since)
            _say(_summary(report, settings.target))
            if report.metrics_note:
                _say(report.metrics_note)
            if report.error is not None:
                _say(
                    f"the receiver did not accept a batch after {settings.attempts} attempts: {report.error}; "
                    f"{report.pending - report.sent:,} requests left for the next run"
                )
                return 1
            return 0
        # SIGTERM ends the watch like Ctrl-C: the batch in flight is finished or left for the next run.
        signal.signal(signal.SIGTERM, lambda *_: exporter.stop.set())
        _say(f"watching; exporting to {settings.target} (Ctrl-C stops)")

        def on_report(report) -> None:  # type: ignore[no-untyped-def]
            if not (report.sent or report.error or report.metrics_note):
                return
            stamp = time.strftime("%H:%M:%S")
            if report.error is not None:
                _say(f"{stamp} receiver unavailable ({report.error}); retrying")
            elif report.sent:
                _say(f"{stamp} {_summary(report, settings.target)}")
            if report.metrics_note:
                _say(f"{stamp} {report.metrics_note}")

        def factory(config):  # type: ignore[no-untyped-def]
            # The live engine's own monitor (its own index connection, on its thread), same sources.
            from ctxtop.services.monitor import Monitor

            return Monitor.open(args.claude_dir, args.api_logs, args.cache_dir, config)

        try:
            failed = exporter.watch(factory, since, on_report=on_report)
        except KeyboardInterrupt:
            exporter.stop.set()
            return 0
        if failed:
            _say(f"the live engine stopped: {failed}")
            return 1
        return 0
    finally:
        exporter.close()
