"""Install ctxtop into Claude Code as plan -> apply: what will change, per file and key, before anything is written.

``plan_install`` / ``plan_uninstall`` decide everything (window, compaction override, hooks, statusline, the
threshold ctxtop remembers) and write nothing; ``apply`` writes exactly that plan. ``ctxtop claude install``
prints a plan (``--dry-run``) or applies it; the TUI's settings screen shows the same plan object and applies
it on confirmation, so the two can never disagree.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ctxtop.adapters import settings_json
from ctxtop.adapters.config import Config
from ctxtop.core import compaction as cmp
from ctxtop.sources.claude_code import settings as cs

SMALL_POINT = 30_000
"""Below this many tokens a compaction point is under what a Claude Code session starts with (system prompt
and tools: 18K-26K tokens in real transcripts), so Claude Code would compact after every turn."""

THRESHOLD_KEY = "compaction.threshold"


class InstallRefused(Exception):
    """Why nothing was (or will be) written, in one sentence for the user."""


@dataclass(frozen=True)
class InstallOptions:
    """What the user asked for (``ctxtop claude install`` flags, or the settings screen's choices)."""

    scope: str = "user"
    settings: str | None = None
    """An explicit settings file: then only that file counts, whatever the cwd."""
    statusline: bool = False
    filter_mode: str | None = None
    compaction: bool = True
    threshold: float | None = None
    """None: the threshold ctxtop's config sets."""
    window: int | None = None
    remember: bool = True
    """Write an explicit ``threshold`` to ctxtop's config too, so ctxtop alerts where Claude Code compacts."""
    budgets: bool = False
    """The UserPromptSubmit hook that enforces ``[budgets]`` hard limits (``--enforce-budgets``)."""


@dataclass(frozen=True)
class KeyChange:
    """One key of one file, before and after (None: absent)."""

    file: str
    key: str
    before: Any
    after: Any


@dataclass
class Plan:
    """Everything an install or uninstall will do; nothing is written until ``apply``."""

    action: str
    """"install" or "uninstall"."""
    path: Path
    """The settings file named (a symlink is written through: ``change.target``)."""
    change: cs.Change
    after: cmp.CompactionInfo
    """Where Claude Code will compact once the plan is applied."""
    notes: list[str] = field(default_factory=list)
    """ctxtop's decisions the user should know about (a kept window, a cap, an override not needed...)."""
    problems: list[str] = field(default_factory=list)
    """Config problems that shaped the plan (an invalid threshold fell back to the default)."""
    config: Config | None = None
    remember: float | None = None
    """A threshold to write to ctxtop's config on apply (None: nothing to write there)."""

    @property
    def changed(self) -> bool:
        """True when applying writes anything (settings.json or ctxtop's config)."""
        return self.change.changed or self.remember is not None

    @property
    def target(self) -> Path:
        return self.change.target

    def diff(self) -> str:
        """The unified diff of the settings file (empty when it stays as it is)."""
        return self.change.diff()

    def after_data(self) -> dict[str, Any]:
        return _after_data(self.change)

    def keys(self) -> list[KeyChange]:
        """Per file and key, what changes: env variables and hook events one by one, other keys whole."""
        before = _data(self.change.before)
        after = self.after_data()
        label = str(self.path)
        out: list[KeyChange] = []
        for key in dict.fromkeys([*before, *after]):
            old, new = before.get(key), after.get(key)
            if old == new:
                continue
            if key in ("env", "hooks") and isinstance(old or {}, dict) and isinstance(new or {}, dict):
                old, new = old or {}, new or {}
                out.extend(
                    KeyChange(label, f"{key}.{sub}", old.get(sub), new.get(sub))
                    for sub in dict.fromkeys([*old, *new])
                    if old.get(sub) != new.get(sub)
                )
            else:
                out.append(KeyChange(label, key, old, new))
        if self.remember is not None and self.config is not None:
            out.append(
                KeyChange(str(self.config.path), THRESHOLD_KEY, self.config.raw(THRESHOLD_KEY), self.remember)
            )
        return out

    def summary(self) -> list[str]:
        """ctxtop's entries in the file afterwards: its env values, hooks and statusline."""
        data = self.after_data()
        lines = []
        env = {k: v for k, v in (data.get("env") or {}).items() if k in (cmp.PCT_ENV, cmp.WINDOW_ENV)}
        if env:
            lines.append("env: " + ", ".join(f"{k}={v}" for k, v in env.items()))
        hooks = [
            event + (f"[{matcher}]" if matcher else "")
            for event, matcher, _ in cs.owned_hooks(data, self.change.state)
        ]
        if hooks:
            lines.append("hooks: " + ", ".join(hooks))
        if cs.statusline_is_ours(data, self.change.state):
            lines.append("statusLine: ctxtop statusline")
        return lines

    def outcome(self) -> str:
        """One sentence: where Claude Code compacts afterwards."""
        return describe(self.after)


def describe(info: cmp.CompactionInfo) -> str:
    """One sentence: where Claude Code compacts."""
    if not info.enabled:
        return f"Claude Code does not compact automatically ({info.reason})."
    if info.compact_at is None or info.window is None:
        return f"Claude Code does not compact proactively: {info.reason}."
    share = 100 * info.compact_at / info.window
    return (
        f"Claude Code compacts at {info.compact_at:,} tokens = {share:.1f}% of its {info.window:,}-token "
        f"window (window: {info.window_source})."
    )


def plan_install(options: InstallOptions, config: Config | None = None) -> Plan:
    """The install ``options`` ask for, decided and not written. Raises ``InstallRefused``."""
    path = cs.settings_path(options.scope, options.settings)
    loaded = _load(path)
    explicit = bool(options.settings)
    config = config or Config.load()
    desired = cs.Desired(
        statusline=options.statusline, filter_mode=options.filter_mode, budgets=options.budgets
    )
    notes: list[str] = []
    problems: list[str] = []
    remember = None
    if options.budgets and not any(b.hard is not None for b in config.budgets):
        notes.append("no hard limit is set in [budgets] yet: the budget hook lets every prompt through until "
                     "one is (e.g. session_usd_hard, daily_usd_hard; README: Budgets)")  # fmt: skip
    if options.filter_mode == "wrap":
        notes.append(
            "the wrap hook rewrites commands only in bypassPermissions sessions with no deny or ask rule in any "
            "settings file or on claude's command line; elsewhere they run as written, unfiltered "
            "(README: Filter noisy command output)"
        )
    if options.compaction:
        if options.threshold is not None:
            threshold = options.threshold
            problem = cmp.threshold_problem(threshold)
            if problem:
                raise InstallRefused(f"--threshold {threshold:g}: {problem}")
            if options.remember and config.raw(THRESHOLD_KEY) != threshold:
                remember = threshold
        else:
            threshold = config.threshold
            problems.extend(config.problems_in("compaction"))
        if (
            options.window is not None
            and not cmp.MIN_CONFIGURED_WINDOW <= options.window <= cmp.MAX_CONFIGURED_WINDOW
        ):
            raise InstallRefused(
                f"--window must be between {cmp.MIN_CONFIGURED_WINDOW} and {cmp.MAX_CONFIGURED_WINDOW}"
            )
        _decide_compaction(loaded, explicit, threshold, options.window, desired, notes)
    change = cs.plan_install(loaded, desired)
    after = _compaction(loaded.target, _after_data(change), explicit)
    return Plan("install", path, change, after, notes, problems, config, remember)


def _decide_compaction(
    loaded: cs.Loaded,
    explicit: bool,
    threshold: float,
    window_option: int | None,
    desired: cs.Desired,
    notes: list[str],
) -> None:
    """The window and override that make Claude Code compact at ``threshold``, into ``desired``."""
    base, state, _notes = cs.baseline(loaded)
    info = _compaction(loaded.target, base, explicit)
    earlier = cs.owned_env(loaded.data, state).get(cmp.WINDOW_ENV)
    if window_option is not None:
        desired.env[cmp.WINDOW_ENV] = str(window_option)
    elif earlier is not None:
        desired.env[cmp.WINDOW_ENV] = earlier  # set by an earlier install (perhaps with --window)
    elif info.window_source.startswith(("env ", "settings ")) and info.window is not None:
        notes.append(f"window {info.window:,} is already configured ({info.window_source}); kept it")
    else:
        # Without an explicit window Claude Code may never compact proactively (custom base URLs).
        desired.env[cmp.WINDOW_ENV] = str(info.window or cmp.DEFAULT_WINDOW)
    # The window Claude Code will really use: one above the model's own is capped to it.
    with_window = {**base, "env": {**(base.get("env") or {}), **desired.env}}
    window = _compaction(loaded.target, with_window, explicit).window or cmp.DEFAULT_WINDOW
    if cmp.WINDOW_ENV in desired.env and cmp.parse_window(desired.env[cmp.WINDOW_ENV]) != window:
        notes.append(f"Claude Code caps the window at the model's {window:,} tokens")
    pct = cmp.override_for_threshold(threshold, window)
    if pct is None:
        # An override set by an earlier install with a lower threshold would keep compacting there.
        desired.drop_env.add(cmp.PCT_ENV)
        notes.append(
            f"{threshold:g}% of {window:,} is at or past Claude Code's own point "
            f"({cmp.default_compact_point(window):,}); no {cmp.PCT_ENV} needed"
        )
    else:
        desired.env[cmp.PCT_ENV] = pct
        point = cmp.threshold_tokens(threshold, window)
        if point < SMALL_POINT:
            notes.append(
                f"{threshold:g}% of {window:,} is {point:,} tokens, less than a session starts with "
                "(system prompt and tools): Claude Code may compact after every turn"
            )
    desired.hooks = list(cs.COMPACTION_HOOKS)


def plan_uninstall(scope: str = "user", settings: str | None = None) -> Plan:
    """Taking ctxtop's entries out of a settings file, decided and not written. Raises ``InstallRefused``."""
    path = cs.settings_path(scope, settings)
    loaded = _load(path)
    change = cs.plan_uninstall(loaded)
    after = _compaction(loaded.target, _after_data(change), bool(settings))
    return Plan("uninstall", path, change, after, list(change.notes))


def apply(plan: Plan) -> list[str]:
    """Write ``plan``; notes about what else happened. Raises ``InstallRefused`` when nothing was written.

    A settings file edited since the plan was made is refused: the user confirmed a diff against the
    content they saw, not against someone else's later edit.
    """
    change = plan.change
    target = Path(os.path.realpath(plan.path))
    if change.changed:
        try:
            now = target.read_bytes().decode("utf-8")
        except FileNotFoundError:
            now = None
        except (OSError, UnicodeDecodeError) as exc:
            raise InstallRefused(f"could not read {target}: {exc}; nothing changed") from None
        if now != change.before:
            raise InstallRefused(f"{target} changed since this plan was made; nothing changed (plan again)")
        if target.exists() and not os.access(target, os.W_OK):
            raise InstallRefused(
                f"{target} is read-only; nothing changed (make it writable, or use --settings FILE)"
            )
    try:
        cs.apply(change)  # also settles what an interrupted earlier run left
    except OSError as exc:
        raise InstallRefused(f"could not write {target}: {exc.strerror or exc}; nothing changed") from None
    notes = []
    if plan.remember is not None and plan.config is not None:
        notes.append(_remember_threshold(plan.config, plan.remember))
    return notes


def _remember_threshold(config: Config, threshold: float) -> str:
    """ctxtop's own threshold follows the one Claude Code was just configured with; a note when it cannot."""
    try:
        config.set(THRESHOLD_KEY, threshold)
        path = config.save([THRESHOLD_KEY])
    except (ValueError, OSError) as exc:
        return f"ctxtop's own threshold was not updated to {threshold:g}%: {exc}"
    return f"ctxtop's threshold is now {threshold:g}% too ({path})"


def _load(path: Path) -> cs.Loaded:
    try:
        return cs.load(path)
    except cs.SettingsError as exc:
        raise InstallRefused(str(exc)) from None


def _data(text: str | None) -> dict[str, Any]:
    text = (text or "").lstrip("\ufeff")  # a file saved with a UTF-8 BOM keeps it
    if not text.strip():
        return {}
    data = settings_json.loads(text)
    return data if isinstance(data, dict) else {}


def _after_data(change: cs.Change) -> dict[str, Any]:
    return _data(change.after)


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
