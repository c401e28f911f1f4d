"""``ctxtop doctor``: where ctxtop looks, what it found, index state, malformed lines, compaction settings."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from ctxtop.adapters import paths
from ctxtop.adapters.claude_env import settings_layers
from ctxtop.adapters.config import BY_KEY, Config
from ctxtop.commands._common import open_monitor


def collect(args: argparse.Namespace) -> dict[str, Any]:
    monitor = open_monitor(args, problems=False)  # listed in the report
    index = monitor.index
    files = index.files()
    gone = [f for f in index.files(with_gone=True) if f.gone]
    sessions = monitor.index.sessions()
    deleted_sessions, archived_requests = index.archived()
    claude = []
    for d in monitor.sources.claude_dirs:
        n = sum(1 for f in files if f.path.startswith(str(d) + os.sep))
        claude.append({"dir": str(d), "exists": d.is_dir(), "transcripts": n})
    api = [
        {
            "dir": str(d),
            "exists": d.is_dir(),
            "logs": sum(1 for f in files if f.path.startswith(str(d) + os.sep)),
        }
        for d in monitor.sources.api_log_dirs
    ]
    # Compaction as Claude Code will apply it, per model seen and per settings layer found.
    from ctxtop.adapters import observations
    from ctxtop.core.window import VERIFIED, facts_for

    observed = observations.load_all()
    compaction = []
    seen: set[tuple[str, str, str]] = set()
    for s in sessions:
        model = s.context_model or (s.models[0] if s.models else None)
        if model is None:
            continue
        # The same call as the report's and the statusline's: one view of the session everywhere.
        info = monitor.compaction(s, observed.get(s.session_id, {}))
        key = (model, f"{info.context_window_source}|{info.window_source}", str(info.compact_at))
        if key in seen:
            continue
        seen.add(key)
        compaction.append(
            {
                "model": model,
                "example_project": s.cwd,
                "claude_code_version": s.version,
                "context_window": info.context_window,
                "context_window_source": info.context_window_source,
                "window": info.window,
                "window_source": info.window_source,
                "compact_at_tokens": info.compact_at,
                "enabled": info.enabled,
                "pct_override": info.pct_override,
                "why": info.reason,
            }
        )
    layers = []
    for d in monitor.sources.claude_dirs:
        for layer in settings_layers(d, None):
            layers.append({"path": layer.path, "error": layer.error})
    from ctxtop.adapters import filter_rules

    filters = filter_rules.load()
    hooks = []
    for layer_info in layers:
        path = layer_info["path"]
        try:
            text = open(path, encoding="utf-8").read()
        except OSError:
            continue
        installed = [e for e in ("pre-compact", "session-start", "post-tool-use", "pre-tool-use",
                                 "user-prompt-submit", "statusline")
                     if f"ctxtop hook {e}" in text or (e == "statusline" and "ctxtop statusline" in text)]  # fmt: skip
        hooks.append({"path": path, "ctxtop_entries": installed})
    size = index.path.stat().st_size if index.path.exists() else 0
    # The Claude Code version in use: the newest one that wrote a session (or reported to the statusline).
    newest = max(sessions, key=lambda x: x.last_ts or 0, default=None)
    version = newest.version if newest is not None else None
    latest_obs = max(observed.values(), key=lambda o: o.get("observed_at") or 0, default=None)
    if latest_obs and isinstance(latest_obs.get("version"), str):
        version = latest_obs["version"]
    facts, verified = facts_for(version)
    claude_code = {
        "version": version,
        "verified": verified,
        "verified_versions": list(VERIFIED),
        "warning": None
        if verified or version is None
        else f"ctxtop's window and compaction rule are not verified for Claude Code {version} (verified: "
        f"{', '.join(VERIFIED)}); " + (f"using {facts.version}'s" if facts else "using the generic rule"),
    }
    return {
        "claude_config_dirs": claude,
        "api_log_dirs": api,
        "config_file": str(monitor.config.path),
        "config_exists": monitor.config.exists,
        "config_problems": [*monitor.config.problems, *_theme_problems(monitor.config)],
        "threshold_pct": monitor.config.threshold,
        "index": {
            "path": str(index.path),
            "bytes": size,
            "files": len(files),
            "sessions": len(sessions),
            "lines": sum(f.lines for f in files),
            "vanished_files": len(gone),
            "archived_sessions": deleted_sessions,
            "archived_requests": archived_requests,
        },
        "malformed": [{"path": f.path, "malformed_lines": f.malformed} for f in files if f.malformed],
        "unreadable": [{"path": f.path, "error": f.last_error} for f in files if f.last_error]
        + [{"path": path, "error": why} for path, why in sorted(index.skipped.items())],
        "pending_partial_lines": [f.path for f in files if f.size > f.offset],
        "settings_files": layers,
        "claude_code": claude_code,
        "compaction": compaction,
        "data_dir": str(paths.data_dir()),
        "unpriced_models": sorted({m for s in sessions for m in s.unknown_models}),
        "estimated_costs": sorted({why for s in sessions for why in s.estimated}),
        # [filter] values are the config's problems, listed there once.
        "filter_rules": {
            "count": len(filters.rules.rules),
            "problems": [e for e in filters.errors if e not in monitor.config.problems],
        },  # fmt: skip
        "installed": hooks,
        **_budgets(monitor.config),
    }


def _budgets(config: Config) -> dict[str, Any]:
    """The budgets set, and the hook runs of the last day that let a prompt or an output through undecided."""
    import time

    from ctxtop.commands.hook import fail_opens
    from ctxtop.core.budgets import fmt_amount

    budgets = [
        {"level": b.level, "unit": b.unit, "budget": None if b.amount is None else str(b.amount),
         "hard": None if b.hard is None else str(b.hard),
         "text": ", ".join(f"{what} {fmt_amount(v, b.unit)}" for what, v in (("budget", b.amount), ("hard", b.hard))
                           if v is not None)}
        for b in config.budgets
    ]  # fmt: skip
    return {"budgets": budgets, "hook_fail_opens_24h": fail_opens(time.time() - 86400)}


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
    report = collect(args)
    if args.json:
        json.dump(report, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    out = sys.stdout.write
    out("Claude Code config dirs:\n")
    for d in report["claude_config_dirs"]:
        state = f"{d['transcripts']} transcript files" if d["exists"] else "missing"
        out(f"  {d['dir']}: {state}\n")
    out("API session logs:\n")
    for d in report["api_log_dirs"]:
        out(f"  {d['dir']}: {d['logs'] if d['exists'] else 'missing'}{' files' if d['exists'] else ''}\n")
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
    out("Context window and compaction (as Claude Code will apply them):\n")
    for c in report["compaction"]:
        at = f"{c['compact_at_tokens']:,}" if c["compact_at_tokens"] else "never (proactively)"
        window = f"{c['window']:,}" if c["window"] else "unknown"
        full = f"{c['context_window']:,}" if c["context_window"] else "unknown"
        out(f"  {c['model']}: context window {full} ({c['context_window_source']}); compaction window "
            f"{window} ({c['window_source']}); compacts at {at} — {c['why']}\n")  # fmt: skip
    for why in report["estimated_costs"]:
        out(f"Estimated cost: {why}\n")
    if report["unpriced_models"]:
        out(f"Models without prices (cost shown as unknown): {', '.join(report['unpriced_models'])}\n")
    return 0
