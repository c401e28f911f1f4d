"""``ctxtop claude install`` / ``uninstall``: configure Claude Code to compact at ctxtop's threshold."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from ctxtop.adapters import claude_settings as cs
from ctxtop.adapters import settings_json
from ctxtop.adapters.config import Config
from ctxtop.core import compaction as cmp

# Below this many tokens a compaction point is under what a Claude Code session starts with (system prompt
# and tools: 18K-26K tokens in real transcripts), so Claude Code would compact after every turn.
SMALL_POINT = 30_000


def _err(message: str) -> int:
    print(f"ctxtop: {message}", file=sys.stderr)
    return 1


def default_threshold(config: Config | None = None) -> float:
    """The threshold ctxtop's config sets (``[compaction] threshold``, validated by the one config reader)."""
    return (config or Config.load()).threshold


def _layers(
    target: Path, replacement: dict[str, Any], explicit: bool
) -> tuple[list[dict[str, Any]], list[str]]:
    """Settings files Claude Code reads, lowest precedence first, with ``target``'s content replaced.

    With ``--settings FILE`` only that file counts, so the outcome does not depend on the caller's cwd.
    """
    candidates = [target] if explicit else [cs.settings_path(scope) for scope in ("user", "project", "local")]
    layers: list[dict[str, Any]] = []
    labels: list[str] = []
    for path in candidates:
        if os.path.realpath(path) == str(target):
            layers.append(replacement)
        else:
            try:
                layers.append(cs.load(path).data)
            except cs.SettingsError:
                continue  # Claude Code ignores an invalid file too.
        labels.append(_home(path))
    return layers, labels


def _home(path: Path) -> str:
    home = str(Path.home())
    text = str(path)
    return "~" + text[len(home) :] if text.startswith(home + os.sep) else text


def _model(layers: list[dict[str, Any]]) -> str | None:
    env = cmp.effective_env(os.environ, layers)
    if env.get("ANTHROPIC_MODEL"):
        return env["ANTHROPIC_MODEL"]
    for layer in reversed(layers):
        if isinstance(layer.get("model"), str):
            return layer["model"]
    return None


def _compaction(target: Path, content: dict[str, Any], explicit: bool) -> cmp.CompactionInfo:
    layers, labels = _layers(target, content, explicit)
    model = _model(layers)
    return cmp.effective_compaction(
        os.environ, layers, model, cmp.claude_default_window(model), settings_sources=labels
    )


def describe(info: cmp.CompactionInfo) -> str:
    """One sentence: where Claude Code compacts now."""
    if not info.enabled:
        return f"Claude Code does not compact automatically ({info.reason})."
    if info.compact_at is None or info.window is None:
        return f"Claude Code does not compact proactively: {info.reason}."
    share = 100 * info.compact_at / info.window
    return (
        f"Claude Code compacts at {info.compact_at:,} tokens = {share:.1f}% of its {info.window:,}-token "
        f"window (window: {info.window_source})."
    )


def _after_data(change: cs.Change) -> dict[str, Any]:
    text = (change.after or "").lstrip("\ufeff")  # a file saved with a UTF-8 BOM keeps it
    if not text.strip():
        return {}
    return settings_json.loads(text)


def _apply(change: cs.Change, path: Path) -> str | None:
    """Write the change; a clear message instead of a traceback when the file cannot be written."""
    target = Path(os.path.realpath(path))
    if change.changed and target.exists() and not os.access(target, os.W_OK):
        return f"{target} is read-only; nothing changed (make it writable, or use --settings FILE)"
    try:
        cs.apply(change)
    except OSError as exc:
        return f"could not write {target}: {exc.strerror or exc}; nothing changed"
    return None


def _remember_threshold(config: Config, threshold: float) -> str | None:
    """ctxtop's own threshold follows the one Claude Code was just configured with; a note when it cannot."""
    if config.raw("compaction.threshold") == threshold:
        return None  # already what the file says: nothing to write
    try:
        config.set("compaction.threshold", threshold)
        path = config.save(["compaction.threshold"])
    except (ValueError, OSError) as exc:
        return f"ctxtop's own threshold was not updated to {threshold:g}%: {exc}"
    return f"ctxtop's threshold is now {threshold:g}% too ({path})"


def install(args: argparse.Namespace) -> int:
    path = cs.settings_path(args.scope, args.settings)
    try:
        loaded = cs.load(path)
    except cs.SettingsError as exc:
        return _err(str(exc))
    explicit = bool(args.settings)
    desired = cs.Desired(statusline=bool(args.statusline), filter_mode=args.filter)
    desired.budgets = bool(getattr(args, "enforce_budgets", False))
    lines: list[str] = []
    config = Config.load()
    if desired.budgets and not any(b.hard is not None for b in config.budgets):
        lines.append("no hard limit is set in [budgets] yet: the budget hook lets every prompt through until "
                     "one is (e.g. session_usd_hard, daily_usd_hard; README: Budgets)")  # fmt: skip
    if args.filter == "wrap":
        lines.append(
            "the wrap hook rewrites commands only in bypassPermissions sessions with no deny or ask rule in any "
            "settings file or on claude's command line; elsewhere they run as written, unfiltered "
            "(README: Filter noisy command output)"
        )
    if not args.no_compaction:
        if args.threshold is not None:
            threshold = args.threshold
            problem = cmp.threshold_problem(threshold)
            if problem:
                return _err(f"--threshold {threshold:g}: {problem}")
        else:
            threshold = config.threshold
            for message in config.problems_in("compaction"):
                print(f"ctxtop: {message}", file=sys.stderr)
        if (
            args.window is not None
            and not cmp.MIN_CONFIGURED_WINDOW <= args.window <= cmp.MAX_CONFIGURED_WINDOW
        ):
            return _err(
                f"--window must be between {cmp.MIN_CONFIGURED_WINDOW} and {cmp.MAX_CONFIGURED_WINDOW}"
            )
        base, state, _notes = cs.baseline(loaded)
        info = _compaction(loaded.target, base, explicit)
        earlier = cs.owned_env(loaded.data, state).get(cmp.WINDOW_ENV)
        if args.window is not None:
            desired.env[cmp.WINDOW_ENV] = str(args.window)
        elif earlier is not None:
            desired.env[cmp.WINDOW_ENV] = earlier  # set by an earlier install (perhaps with --window)
        elif info.window_source.startswith(("env ", "settings ")) and info.window is not None:
            lines.append(f"window {info.window:,} is already configured ({info.window_source}); kept it")
        else:
            # Without an explicit window Claude Code may never compact proactively (custom base URLs).
            desired.env[cmp.WINDOW_ENV] = str(info.window or cmp.DEFAULT_WINDOW)
        # The window Claude Code will really use: one above the model's own is capped to it.
        with_window = {**base, "env": {**(base.get("env") or {}), **desired.env}}
        window = _compaction(loaded.target, with_window, explicit).window or cmp.DEFAULT_WINDOW
        if cmp.WINDOW_ENV in desired.env and cmp.parse_window(desired.env[cmp.WINDOW_ENV]) != window:
            lines.append(f"Claude Code caps the window at the model's {window:,} tokens")
        pct = cmp.override_for_threshold(threshold, window)
        if pct is None:
            # An override set by an earlier install with a lower threshold would keep compacting there.
            desired.drop_env.add(cmp.PCT_ENV)
            lines.append(
                f"{threshold:g}% of {window:,} is at or past Claude Code's own point "
                f"({cmp.default_compact_point(window):,}); no {cmp.PCT_ENV} needed"
            )
        else:
            desired.env[cmp.PCT_ENV] = pct
            point = cmp.threshold_tokens(threshold, window)
            if point < SMALL_POINT:
                lines.append(
                    f"{threshold:g}% of {window:,} is {point:,} tokens, less than a session starts with "
                    "(system prompt and tools): Claude Code may compact after every turn"
                )
        desired.hooks = list(cs.COMPACTION_HOOKS)
    change = cs.plan_install(loaded, desired)
    after = _compaction(loaded.target, _after_data(change), explicit)
    if args.dry_run:
        sys.stdout.write(change.diff() or f"no change to {path}\n")
        print(f"dry run: nothing written. Afterwards: {describe(after)}", file=sys.stderr)
        return 0
    problem = _apply(change, path)  # also settles what an interrupted earlier run left
    if problem:
        return _err(problem)
    if not change.changed:
        print(f"ctxtop: {path} already has these settings; nothing changed.")
    else:
        print(
            f"ctxtop: updated {path}" + (f" (-> {loaded.target})" if loaded.target != path.absolute() else "")
        )
        if loaded.raw is not None:
            print(f"  backup of the original: {cs.backup_path(loaded.target)}")
    # The settings screen passes the TUI's own threshold (remember=False): nothing to remember then.
    if not args.no_compaction and args.threshold is not None and getattr(args, "remember", True):
        remembered = _remember_threshold(config, threshold)
        if remembered:
            lines.append(remembered)
    data = _after_data(change)
    env = {k: v for k, v in (data.get("env") or {}).items() if k in (cmp.PCT_ENV, cmp.WINDOW_ENV)}
    if env:
        print("  env: " + ", ".join(f"{k}={v}" for k, v in env.items()))
    hooks = [
        event + (f"[{matcher}]" if matcher else "")
        for event, matcher, _ in cs.owned_hooks(data, change.state)
    ]
    if hooks:
        print("  hooks: " + ", ".join(hooks))
    if cs.statusline_is_ours(data, change.state):
        print("  statusLine: ctxtop statusline")
    for line in [*lines, *change.notes]:
        print(f"  note: {line}")
    print(describe(after) + " New Claude Code sessions pick this up.")
    return 0


def uninstall(args: argparse.Namespace) -> int:
    path = cs.settings_path(args.scope, args.settings)
    try:
        loaded = cs.load(path)
    except cs.SettingsError as exc:
        return _err(str(exc))
    change = cs.plan_uninstall(loaded)
    after = _compaction(loaded.target, _after_data(change), bool(args.settings))
    if args.dry_run:
        sys.stdout.write(change.diff() or f"no change to {path}\n")
        print(f"dry run: nothing written. Afterwards: {describe(after)}", file=sys.stderr)
        return 0
    problem = _apply(change, path)  # also settles what an interrupted earlier run left
    if problem:
        return _err(problem)
    if not change.changed:
        print(f"ctxtop: nothing of ctxtop's in {path}; nothing changed.")
    elif change.after is None:
        print(f"ctxtop: removed {path} (ctxtop had created it).")
    else:
        print(f"ctxtop: removed ctxtop's entries from {path}.")
    for line in change.notes:
        print(f"  note: {line}")
    print(describe(after))
    return 0
