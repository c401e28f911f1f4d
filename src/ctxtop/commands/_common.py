"""Helpers shared by the command handlers: opening the monitor, progress on stderr, date options."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from datetime import datetime

from ctxtop.adapters.index import IndexUnavailable
from ctxtop.services.monitor import Monitor


def open_monitor(args: argparse.Namespace, *, quiet: bool = False, problems: bool = True) -> Monitor:
    """The monitor, refreshed; config problems go to stderr once (``problems=False``: the caller lists them)."""
    try:
        monitor = Monitor.open(
            getattr(args, "claude_dir", None),
            getattr(args, "api_logs", None),
            getattr(args, "cache_dir", None),
            codex_dirs=getattr(args, "codex_dir", None),
        )
        for problem in [*(monitor.config.problems if problems else ()), *monitor.notices]:
            print(f"ctxtop: {problem}", file=sys.stderr)
        progress = None if quiet or not sys.stderr.isatty() else _progress()
        monitor.refresh(progress=progress)
    except IndexUnavailable as exc:
        raise SystemExit(f"ctxtop: {exc}") from None
    if progress is not None:
        sys.stderr.write("\r\033[K")
    # A damaged index was set aside and rebuilt: say so, once, on stderr.
    for notice in monitor.index.notices:
        print(f"ctxtop: {notice}", file=sys.stderr)
    return monitor


def _progress() -> Callable[[int, int, int, int], None]:
    started = time.monotonic()
    last = [0.0]

    def show(files: int, total: int, done: int, total_bytes: int) -> None:
        now = time.monotonic()
        if now - last[0] < 0.1 and files != total:
            return
        last[0] = now
        rate = done / max(now - started, 1e-6) / 1e6
        sys.stderr.write(
            f"\rctxtop: indexing {files}/{total} files, {done / 1e6:.1f}/{total_bytes / 1e6:.1f} MB, {rate:.1f} MB/s"
        )
        sys.stderr.flush()

    return show


def parse_day(value: str | None, *, end: bool = False) -> float | None:
    """A local date (YYYY-MM-DD or YYYYMMDD) as an epoch; ``end`` gives the start of the next day."""
    if not value:
        return None
    text = value.strip()
    for fmt in ("%Y-%m-%d", "%Y%m%d"):
        try:
            day = datetime.strptime(text, fmt)
            break
        except ValueError:
            continue
    else:
        raise SystemExit(f"ctxtop: invalid date {value!r}: use YYYY-MM-DD")
    if end:
        # The next local midnight, not +24 h: days of a daylight-saving change last 23 or 25 hours.
        day = datetime.fromordinal(day.toordinal() + 1)
    return time.mktime(day.timetuple())


def day_key(value: str | None) -> str | None:
    if not value:
        return None
    ts = parse_day(value)
    return time.strftime("%Y-%m-%d", time.localtime(ts)) if ts is not None else None
