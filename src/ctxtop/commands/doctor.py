"""``ctxtop doctor``: prints what ``ctxtop.services.doctor.collect`` found (or its JSON)."""

from __future__ import annotations

import argparse
import json
import sys

from ctxtop.adapters import paths
from ctxtop.adapters.config import BY_KEY, Config
from ctxtop.commands._common import open_monitor
from ctxtop.services.doctor import collect


def _theme_problems(config: Config) -> list[str]:
    """An unknown ``[ui] theme``, checked against the themes the TUI would load (only when one is set)."""
    if config.raw("ui.theme") is None:
        return []
    from textual.theme import BUILTIN_THEMES  # doctor only; the TUI checks the same names at start

    from ctxtop.ui.themes import bundled_theme_dir, load_themes

    themes, _problems = load_themes([bundled_theme_dir(), paths.config_dir() / "themes"])
    names = set(BUILTIN_THEMES) | {t.name for t in themes}
    problem = config.choice_problem("ui.theme", names, str(BY_KEY["ui.theme"].default))
    return [problem] if problem else []


def run(args: argparse.Namespace) -> int:
    monitor = open_monitor(args, problems=False)  # listed in the report
    try:
        report = collect(monitor, _theme_problems(monitor.config))
    finally:
        monitor.close()
    if args.json:
        json.dump(report, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    out = sys.stdout.write
    for source in report["sources"]:
        out(f"{source['title']}:\n")
        for d in report[source["key"]]:
            state = f"{d[source['count_key']]} {source['count_noun']}" if d["exists"] else "missing"
            out(f"  {d['dir']}: {state}\n")
    ix = report["index"]
    out(f"Index: {ix['path']} ({ix['bytes'] / 1e6:.1f} MB): {ix['files']} files, {ix['lines']:,} lines, "
        f"{ix['sessions']} sessions\n")  # fmt: skip
    if ix["archived_requests"]:
        out(f"Archived (transcripts deleted, totals kept): {ix['archived_sessions']} sessions, "
            f"{ix['archived_requests']:,} requests, {ix['vanished_files']} files gone\n")  # fmt: skip
    if report["config_exists"]:
        out(f"Config: {report['config_file']} (threshold {report['threshold_pct']:g}%)\n")
    else:
        out(f"Config: no config file (defaults; threshold {report['threshold_pct']:g}%); "
            f"ctxtop reads {report['config_file']}\n")  # fmt: skip
    for problem in report["config_problems"]:
        out(f"  problem: {problem}\n")
    if report["malformed"]:
        out("Malformed lines (skipped):\n")
        for m in report["malformed"]:
            out(f"  {m['malformed_lines']:>6}  {m['path']}\n")
    else:
        out("Malformed lines: none\n")
    for u in report["unreadable"]:
        out(f"Unreadable: {u['path']}: {u['error']}\n")
    if report["pending_partial_lines"]:
        out(
            f"Files with a half-written last line (waiting for its newline): {len(report['pending_partial_lines'])}\n"
        )
    for layer in report["settings_files"]:
        out(f"Settings: {layer['path']}{' — ' + layer['error'] if layer['error'] else ''}\n")
    for h in report["installed"]:
        entries = ", ".join(h["ctxtop_entries"]) or "none"
        out(f"ctxtop entries in {h['path']}: {entries}\n")
    for b in report["budgets"]:
        out(f"Budget: {b['level']} ({b['unit']}): {b['text']}\n")
    failed = report["hook_fail_opens_24h"]
    if failed:
        kinds = sorted({f"{e.get('event')} {e.get('outcome')}" for e in failed})
        out(f"Hooks that let through without deciding in the last 24 h: {len(failed)} ({', '.join(kinds)}; "
            f"{report['data_dir']}/hooks.log)\n")  # fmt: skip
    fr = report["filter_rules"]
    out(f"Filter rules: {fr['count']}\n")
    for problem in fr["problems"]:
        out(f"  problem: {problem}\n")
    cc = report["claude_code"]
    out(f"Claude Code version: {cc['version'] or 'none seen'}"
        f"{' (verified)' if cc['verified'] else ''}\n")  # fmt: skip
    if cc["warning"]:
        out(f"  warning: {cc['warning']}\n")
    out("Context window and compaction (as each tool will apply them):\n")
    for c in report["compaction"]:
        at = f"{c['compact_at_tokens']:,}" if c["compact_at_tokens"] else "never (proactively)"
        window = f"{c['window']:,}" if c["window"] else "unknown"
        full = f"{c['context_window']:,}" if c["context_window"] else "unknown"
        if not c["threshold_applies"]:  # a tool that compacts by itself (Codex): only its window
            out(f"  {c['model']}: context window {full} ({c['context_window_source']}) — {c['why']}\n")
            continue
        out(f"  {c['model']}: context window {full} ({c['context_window_source']}); compaction window "
            f"{window} ({c['window_source']}); compacts at {at} — {c['why']}\n")  # fmt: skip
        for sw in c.get("switches", []):
            state = ("on" if sw["value"] else "off") if sw["applies"] else "not in this version"
            where = "" if sw["source"] == "default" else f", {sw['source']}"
            out(f"    {sw['setting']}: {state}{where} — {sw['effect']}\n")
    for why in report["estimated_costs"]:
        out(f"Estimated cost: {why}\n")
    if report["unpriced_models"]:
        out(f"Models without prices (cost shown as unknown): {', '.join(report['unpriced_models'])}\n")
    return 0
