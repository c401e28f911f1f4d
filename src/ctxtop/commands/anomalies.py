"""``ctxtop report anomalies [--json] [--since DATE] [--until DATE] [--project SUBSTR]``.

Without ``--since``, the last seven days. Thresholds from ``[anomalies]`` in the config.
"""

from __future__ import annotations

import argparse
import json
import time

from ctxtop.commands._common import open_monitor, parse_day
from ctxtop.services.anomalies import scan

DEFAULT_DAYS = 7


def run(args: argparse.Namespace) -> int:
    monitor = open_monitor(args)
    since = parse_day(args.since)
    if since is None:
        today = time.localtime()
        since = time.mktime(
            (today.tm_year, today.tm_mon, today.tm_mday - (DEFAULT_DAYS - 1), 0, 0, 0, 0, 0, -1)
        )
    until = parse_day(args.until, end=True)
    try:
        found = scan(monitor.index, monitor.config.anomaly_rules, since, until, args.project)
    finally:
        monitor.index.close()
    if args.json:
        print(json.dumps([a.as_dict() for a in found], indent=2))
        return 0
    if not found:
        print(f"No anomalies since {time.strftime('%Y-%m-%d', time.localtime(since))}.")
        return 0
    for a in found:
        print(f"{a.kind:<15} {a.reason}")
    return 0
