"""Doctor: where ctxtop looks, what it found, index state, malformed lines, compaction settings, installs.

``collect`` gathers it from a refreshed Monitor; ``ctxtop doctor`` prints it (or its JSON), and any other
front end (the MCP server) can serve the same dict.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ctxtop.adapters import paths
from ctxtop.services.monitor import Monitor
from ctxtop.sources.claude_code import settings as cs
from ctxtop.sources.claude_code.env import compaction_switches, settings_layers
from ctxtop.sources.claude_code.source import ClaudeCode


def collect(monitor: Monitor, more_config_problems: list[str] | None = None) -> dict[str, Any]:
    """Everything ``ctxtop doctor`` reports, as one JSON-able dict (``--json`` prints it as it is).

    ``more_config_problems``: what only a front end can check (an unknown ``[ui] theme``: the TUI's themes).
    """
    index = monitor.index
    files = index.files()
    gone = [f for f in index.files(with_gone=True) if f.gone]
    sessions = monitor.index.sessions()
    deleted_sessions, archived_requests = index.archived()
    # Every source in effect: its directories, and how many of its files the index holds under each.
    locations: dict[str, list[dict[str, Any]]] = {}
    for source in monitor.sources.sources:
        locations[source.doctor_key] = [
            {
                "dir": str(d),
                "exists": d.is_dir(),
                source.count_key: sum(1 for f in files if f.path.startswith(str(d) + os.sep)),
            }
            for d in source.locations()
        ]
    # Compaction as Claude Code will apply it, per model seen and per settings layer found.
    from ctxtop.core.window import VERIFIED, facts_for
    from ctxtop.sources.claude_code import observations

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
                "source": s.source,
                "threshold_applies": info.threshold_applies,
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
                # Settings that change how or when Claude Code compacts, not the point above.
                "switches": compaction_switches(monitor.config_dir_for(s), s.cwd, s.version)
                if s.source == ClaudeCode.name
                else [],
            }
        )
    layers: list[dict[str, Any]] = []
    claude = monitor.sources.of(ClaudeCode)
    for d in claude.config_dirs if claude is not None else ():
        for layer in settings_layers(d, None):
            layers.append({"path": layer.path, "error": layer.error})
    from ctxtop.adapters import filter_rules

    filters = filter_rules.load()
    hooks = [
        {"path": layer["path"], "ctxtop_entries": entries}
        for layer in layers
        if (entries := installed_entries(layer["path"])) is not None
    ]
    size = index.path.stat().st_size if index.path.exists() else 0
    # The Claude Code version in use: the newest one that wrote a session (or reported to the statusline).
    newest = max(
        (x for x in sessions if x.source == ClaudeCode.name), key=lambda x: x.last_ts or 0, default=None
    )
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
        "sources": [
            {"key": s.doctor_key, "title": s.title, "count_key": s.count_key, "count_noun": s.count_noun}
            for s in monitor.sources.sources
        ],
        **locations,
        "config_file": str(monitor.config.path),
        "config_exists": monitor.config.exists,
        "config_problems": [*monitor.config.problems, *(more_config_problems or [])],
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


def _budgets(config: Any) -> dict[str, Any]:
    """The budgets set, and the hook runs of the last day that let a prompt or an output through undecided."""
    import time

    from ctxtop.adapters import hook_log
    from ctxtop.core.budgets import fmt_amount

    budgets = [
        {"level": b.level, "unit": b.unit, "budget": None if b.amount is None else str(b.amount),
         "hard": None if b.hard is None else str(b.hard),
         "text": ", ".join(f"{what} {fmt_amount(v, b.unit)}" for what, v in (("budget", b.amount), ("hard", b.hard))
                           if v is not None)}
        for b in config.budgets
    ]  # fmt: skip
    return {"budgets": budgets, "hook_fail_opens_24h": hook_log.since(time.time() - 86400)}


ENTRY_ORDER = [
    sub for _event, _matcher, sub in (*cs.COMPACTION_HOOKS, *cs.FILTER_HOOKS.values(), *cs.BUDGET_HOOKS)
]


def installed_entries(path: str) -> list[str] | None:
    """ctxtop's hooks (by sub-command) and statusline in one settings file, by the rules install and uninstall
    use (the sidecar's records, else only the exact entries ctxtop writes); None for a missing or bad file."""
    try:
        loaded = cs.load(Path(path))
    except cs.SettingsError:
        return None
    if loaded.raw is None:
        return None
    state = cs.current_state(loaded)
    subs = {sub for _event, _matcher, sub in cs.owned_hooks(loaded.data, state)}
    entries = [sub for sub in ENTRY_ORDER if sub in subs]
    if cs.statusline_is_ours(loaded.data, state):
        entries.append("statusline")
    return entries
