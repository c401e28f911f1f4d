"""``ctxtop report limits [--json]``: prints the plan limits ``ctxtop.services.limits.collect`` finds."""

from __future__ import annotations

import argparse
import json
import sys

from ctxtop.commands._common import open_monitor
from ctxtop.services.limits import collect


def run(args: argparse.Namespace) -> int:
    monitor = open_monitor(args, quiet=True)
    try:
        report = collect(monitor)
    finally:
        monitor.close()
    if args.json:
        sys.stdout.write(json.dumps(report, indent=2) + "\n")
        return 0
    out = sys.stdout.write
    if report["official"]:
        for w in report["official"]:
            label = "5-hour" if w["window"] == "five_hour" else "weekly"
            resets = (
                f", resets in {_hm(w['resets_in_minutes'])}" if w["resets_in_minutes"] is not None else ""
            )
            out(f"{label} limit: {w['used_pct']:.0f}% used{resets} (official, reported by Claude Code)\n")
    else:
        out(
            "Plan limits: none reported by Claude Code yet (install its statusline: ctxtop claude install --statusline)\n"
        )
    est = report["estimated"]
    if est:
        line = (f"Current 5-hour block (estimated): {est['tokens']:,} tokens, ${float(est['cost_usd']):.2f}, "
                f"ends in {_hm(est['resets_in_minutes'])}")  # fmt: skip
        if est["burn_usd_per_hour"]:
            line += f"; burn ${float(est['burn_usd_per_hour']):.2f}/h"
        if est["projected_cost_usd"]:
            line += f"; at this pace: ${float(est['projected_cost_usd']):.2f} by the block's end"
        if est["full_at"]:
            line += f", 100% at {est['full_at'][11:16]} UTC"
        out(line + "\n")
    elif not report["official"]:
        out("No usage in the current 5-hour block.\n")
    for alert in report["alerts"]:
        out(f"▲ {alert}\n")
    return 0


def _hm(minutes: int | None) -> str:
    if minutes is None:
        return "?"
    return f"{minutes // 60}h{minutes % 60:02d}m"
