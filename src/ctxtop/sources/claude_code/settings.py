"""Merge ctxtop's env values, hooks and statusLine into a Claude Code settings.json, and take them out again.

What ctxtop owns in a settings file is exactly what it wrote there, as recorded in its sidecar when it wrote
it: ``env.CLAUDE_AUTOCOMPACT_PCT_OVERRIDE`` / ``env.CLAUDE_CODE_AUTO_COMPACT_WINDOW`` (only the values it
set), the hook groups it appended (each handler runs ``<python> -m ctxtop hook <event>``) and the
``statusLine`` it set. A user's own entry is never taken for ctxtop's because it mentions ctxtop
(``git-prompt.sh; ctxtop statusline`` is the user's). Only when there is no record (the sidecar was lost, or
was written by ctxtop 0.1) are entries recognised by their exact shape: a handler that is nothing but
``{"type": "command", "command": "<python> -m ctxtop hook <sub>", "timeout": N}`` under the event that sub
belongs to, a statusLine that is nothing but ``<python> -m ctxtop statusline``.

Everything else is kept as it is, numbers included (:mod:`ctxtop.adapters.settings_json`). What ctxtop needs
to undo its change (the records above, the env values and statusLine it replaced, the containers it created,
the file as it was) lives in a sidecar in the data dir (``claude-settings/<hash of the file's real path>/
state.json``, next to the one-time backup ``settings.json.ctxtop-backup``), never in settings.json: Claude
Code rejects settings files with fields it does not know.

The sidecar and settings.json cannot be replaced in one step, so a write goes through a journal: the sidecar
first records both the state before and the state after with the hash of each settings content, then
settings.json is replaced, then the sidecar is reduced to the new state. Whatever the moment of a kill, the
next run reads the settings file's hash and picks the state that belongs to it.

Uninstall restores the file byte for byte when it was not changed since ctxtop wrote it; otherwise it takes
ctxtop's entries out and keeps everyone else's changes (the result is then JSON-equal to the original plus
those changes, and byte-identical when the original used the layout ctxtop writes: ``JSON.stringify(x,
null, indent)`` plus a newline, which is also how Claude Code writes it).
"""

from __future__ import annotations

import copy
import difflib
import hashlib
import json
import os
import re
import shlex
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeGuard

from ctxtop.adapters import paths, settings_json
from ctxtop.adapters.atomic import clean_stale_temps, write_atomic
from ctxtop.core.compaction import PCT_ENV, WINDOW_ENV
from ctxtop.sources.claude_code import layout

HOOK_TIMEOUT_S = 5
BACKUP_NAME = "settings.json.ctxtop-backup"
STATE_FORMAT = 2
"""Sidecars from format 2 on record the exact entries ctxtop wrote (0.1's did not)."""
# event, matcher, ctxtop hook sub-command. Matcher None = the group has no matcher (all triggers).
COMPACTION_HOOKS = (("PreCompact", None, "pre-compact"), ("SessionStart", "compact", "session-start"))
FILTER_HOOKS = {
    "post": ("PostToolUse", "Bash", "post-tool-use"),
    "wrap": ("PreToolUse", "Bash", "pre-tool-use"),
}
BUDGET_HOOKS = (("UserPromptSubmit", None, "user-prompt-submit"),)
_EVENT_OF_SUB = {sub: event for event, _m, sub in (*COMPACTION_HOOKS, *FILTER_HOOKS.values(), *BUDGET_HOOKS)}
# The whole command ctxtop writes (any interpreter path, as shlex.quote spells it), and nothing more.
_INTERPRETER = r"(?:'[^']*'|[^\s'\"`$;&|<>()\\]+)"
_OUR_HOOK = re.compile(rf"{_INTERPRETER} -m ctxtop hook ([a-z-]+)")
_OUR_STATUSLINE = re.compile(rf"{_INTERPRETER} -m ctxtop statusline")


class SettingsError(Exception):
    """A settings file ctxtop refuses to touch; the message says why and what to do."""


def settings_path(scope: str, explicit: str | None = None, cwd: Path | None = None) -> Path:
    """The settings.json for ``scope`` (user, project, local), or ``explicit`` when given."""
    if explicit:
        return Path(explicit).expanduser()
    base = cwd or Path.cwd()
    if scope == "project":
        return base / ".claude" / "settings.json"
    if scope == "local":
        return base / ".claude" / "settings.local.json"
    return layout.claude_config_dirs()[0] / "settings.json"


def python_command() -> str:
    """The interpreter running ctxtop, quoted for a shell: hooks then work without ctxtop on PATH."""
    return shlex.quote(sys.executable or "python3")


def hook_command(sub: str) -> str:
    return f"{python_command()} -m ctxtop hook {sub}"


def statusline_entry(previous: Any = None) -> dict[str, Any]:
    """ctxtop's statusLine; a command the user already had keeps running first (``--then``), its output kept."""
    command = f"{python_command()} -m ctxtop statusline"
    # (``previous`` is never ctxtop's own: the baseline it is computed on has ctxtop's entries removed.)
    if (
        isinstance(previous, dict)
        and isinstance(previous.get("command"), str)
        and previous["command"].strip()
    ):
        kept = {k: v for k, v in previous.items() if k not in ("type", "command")}
        return {**kept, "type": "command", "command": f"{command} --then {shlex.quote(previous['command'])}"}
    return {"type": "command", "command": command}


def ctxtop_command(command: Any) -> str | None:
    """``"hook:<sub>"`` or ``"statusline"`` when ``command`` is exactly a command ctxtop writes, else None."""
    if not isinstance(command, str):
        return None
    match = _OUR_HOOK.fullmatch(command)
    if match and match.group(1) in _EVENT_OF_SUB:
        return f"hook:{match.group(1)}"
    return "statusline" if _OUR_STATUSLINE.fullmatch(command) else None


def _shaped_like_ours(event: str, handler: Any) -> str | None:
    """The sub-command when ``handler`` is exactly the entry ctxtop writes for ``event`` (no record needed)."""
    if not isinstance(handler, dict) or not set(handler) <= {"type", "command", "timeout"}:
        return None
    if handler.get("type") != "command":
        return None
    kind = ctxtop_command(handler.get("command"))
    sub = kind[5:] if kind and kind.startswith("hook:") else None
    return sub if sub and _EVENT_OF_SUB[sub] == event else None


def _statusline_shaped_like_ours(status: Any) -> bool:
    return (
        isinstance(status, dict)
        and set(status) <= {"type", "command", "padding"}
        and status.get("type") == "command"
        and ctxtop_command(status.get("command")) == "statusline"
    )


def _recorded(state: dict[str, Any] | None) -> TypeGuard[dict[str, Any]]:
    return state is not None and bool(state) and state.get("format", 1) >= STATE_FORMAT


def _hook_matcher(state: dict[str, Any] | None) -> Callable[[str, Any, Any], str | None]:
    """A function (event, group, handler) -> ctxtop's sub-command when that handler is ctxtop's, else None."""
    if not _recorded(state):
        return lambda event, group, handler: _shaped_like_ours(event, handler)
    written: dict[tuple[Any, str, str], str] = {}
    for record in state.get("hooks") or []:
        group = record.get("group") if isinstance(record, dict) else None
        if not isinstance(group, dict):
            continue
        for handler in group.get("hooks") or []:
            key = (record.get("event"), _canonical(group.get("matcher")), _canonical(handler))
            written[key] = record.get("sub") or ""

    def ours(event: str, group: Any, handler: Any) -> str | None:
        matcher = group.get("matcher") if isinstance(group, dict) else None
        return written.get((event, _canonical(matcher), _canonical(handler)))

    return ours


def _canonical(value: Any) -> str:
    return settings_json.dumps(value, indent=None)


def statusline_is_ours(data: dict[str, Any], state: dict[str, Any] | None) -> bool:
    status = data.get("statusLine")
    if not _recorded(state):
        return _statusline_shaped_like_ours(status)
    record = (state or {}).get("statusLine") or {}
    return "written" in record and status == record["written"]


def owned_hooks(data: dict[str, Any], state: dict[str, Any] | None) -> list[tuple[str, str | None, str]]:
    """(event, matcher, sub-command) of every hook handler of ctxtop's in ``data``."""
    ours = _hook_matcher(state)
    found = []
    for event, groups in (data.get("hooks") or {}).items():
        for group in groups if isinstance(groups, list) else []:
            handlers = group.get("hooks") if isinstance(group, dict) else None
            for handler in handlers if isinstance(handlers, list) else []:
                sub = ours(event, group, handler)
                if sub is not None:
                    found.append((event, group.get("matcher"), sub))
    return found


@dataclass
class Desired:
    """What an install should leave in the file (on top of what ctxtop installed before)."""

    env: dict[str, str] = field(default_factory=dict)
    hooks: list[tuple[str, str | None, str]] = field(default_factory=list)
    statusline: bool = False
    filter_mode: str | None = None
    budgets: bool = False
    """The UserPromptSubmit hook that enforces ``[budgets]`` hard limits (``--enforce-budgets``)."""
    drop_env: set[str] = field(default_factory=set)
    """Env keys whose earlier ctxtop value is removed rather than kept (an override no longer needed)."""


@dataclass
class Loaded:
    path: Path
    target: Path
    """The real path (symlinks resolved): what is read, written and keyed."""
    raw: bytes | None
    data: dict[str, Any]


@dataclass
class Change:
    path: Path
    target: Path
    before: str | None
    after: str | None
    """New content; None deletes the file (it did not exist before ctxtop created it)."""
    state: dict[str, Any] | None
    """Sidecar to store; None removes it."""
    notes: list[str] = field(default_factory=list)
    """Things the user should know (kept values, replaced statusLine...)."""
    prior: dict[str, Any] | None = None
    """The sidecar state that goes with ``before`` (the journal keeps it until ``after`` is in place)."""

    @property
    def changed(self) -> bool:
        return self.before != self.after

    def diff(self) -> str:
        old = (self.before or "").splitlines(keepends=True)
        new = (self.after or "").splitlines(keepends=True)
        label = str(self.path)
        lines = difflib.unified_diff(old, new, f"{label} (now)", f"{label} (after)")
        return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


def state_dir(target: Path) -> Path:
    digest = hashlib.sha256(str(target).encode("utf-8")).hexdigest()[:16]
    return paths.data_dir() / "claude-settings" / digest


def backup_path(target: Path) -> Path:
    return state_dir(target) / BACKUP_NAME


def load(path: Path) -> Loaded:
    """Read and parse a settings file; a missing file is an empty object. Invalid JSON raises."""
    target = Path(os.path.realpath(path))
    try:
        raw = target.read_bytes()
    except FileNotFoundError:
        return Loaded(path, target, None, {})
    except OSError as exc:
        raise SettingsError(f"cannot read {path}: {exc.strerror or exc}") from exc
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SettingsError(f"{path} is not UTF-8 text; ctxtop left it untouched") from exc
    if not text.strip():
        return Loaded(path, target, raw, {})
    try:
        data = settings_json.loads(text)
    except json.JSONDecodeError as exc:
        raise SettingsError(
            f"{path} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}); "
            "ctxtop left it untouched. Fix it (Claude Code ignores an invalid settings file too) and retry."
        ) from exc
    if not isinstance(data, dict):
        raise SettingsError(
            f"{path} holds a JSON {type(data).__name__}, not an object; ctxtop left it untouched"
        )
    for key, kind in (("env", dict), ("hooks", dict), ("statusLine", dict)):
        if key in data and not isinstance(data[key], kind):
            raise SettingsError(f'"{key}" in {path} is not an object; ctxtop left the file untouched')
    for event, groups in (data.get("hooks") or {}).items():
        if not isinstance(groups, list):
            raise SettingsError(f'"hooks.{event}" in {path} is not a list; ctxtop left the file untouched')
    return Loaded(path, target, raw, data)


def _text(loaded: Loaded) -> str | None:
    return loaded.raw.decode("utf-8") if loaded.raw is not None else None


def _read_sidecar(target: Path) -> dict[str, Any] | None:
    try:
        state = settings_json.loads((state_dir(target) / "state.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return state if isinstance(state, dict) else None


def _settle(sidecar: dict[str, Any] | None, loaded: Loaded) -> dict[str, Any] | None:
    """The state that goes with the settings file as it is now, from a sidecar that may hold a journal."""
    journal = (sidecar or {}).get("journal")
    if not isinstance(journal, dict):
        return sidecar
    before, after = journal.get("before"), journal.get("after")
    sha = _sha(_text(loaded))
    if sha == journal.get("after_sha256"):
        return after
    if sha == journal.get("before_sha256"):
        return before
    # Edited by hand since the interrupted write: the state whose entries are in the file.
    return after if isinstance(after, dict) and _has_ours(loaded.data, after) else before


def current_state(loaded: Loaded) -> dict[str, Any] | None:
    """ctxtop's records for the file as it is now (None: ctxtop has none)."""
    return _settle(_read_sidecar(loaded.target), loaded)


def _sha(text: str | None) -> str | None:
    return None if text is None else hashlib.sha256(text.encode("utf-8")).hexdigest()


def _layout(raw: bytes | None) -> tuple[str | int, bool]:
    """Indent and trailing newline of the existing file, so a rewrite changes only what it must."""
    if not raw:
        return 2, True
    text = raw.decode("utf-8", "replace")
    match = re.search(r'^([ \t]+)["}\]]', text, re.MULTILINE)
    indent: str | int = 2
    if match:
        ws = match.group(1)
        indent = len(ws) if set(ws) == {" "} else ws
    return indent, text.endswith("\n")


def dumps(data: dict[str, Any], raw: bytes | None = None) -> str:
    indent, newline = _layout(raw)
    return settings_json.dumps(data, indent=indent) + ("\n" if newline else "")


def _has_ours(data: dict[str, Any], state: dict[str, Any] | None) -> bool:
    return statusline_is_ours(data, state) or bool(owned_hooks(data, state))


def strip_ctxtop(data: dict[str, Any], state: dict[str, Any] | None) -> tuple[dict[str, Any], list[str]]:
    """``data`` without ctxtop's entries, previous values restored from ``state`` (pure)."""
    status_ours = statusline_is_ours(data, state)
    ours = _hook_matcher(state)
    data = copy.deepcopy(data)
    notes: list[str] = []
    created = set(state.get("created", [])) if state else set()
    env = data.get("env")
    records = state.get("env", {}) if state else {}
    if isinstance(env, dict):
        for key in (PCT_ENV, WINDOW_ENV):
            record = records.get(key)
            if key not in env:
                continue
            if record is None:
                if state is None:
                    notes.append(f"left env {key}={env[key]!r}: no record of its previous value")
                continue
            if env[key] != record.get("set"):
                notes.append(f"left env {key}={env[key]!r}: changed since ctxtop set it")
            elif record.get("had"):
                env[key] = record.get("previous")
            else:
                del env[key]
        if not env and "env" in created:
            del data["env"]
    hooks = data.get("hooks")
    if isinstance(hooks, dict):
        emptied = False
        for event in list(hooks):
            groups = hooks[event]
            if not isinstance(groups, list):
                continue
            kept_groups = []
            removed = False
            for group in groups:
                handlers = group.get("hooks") if isinstance(group, dict) else None
                if not isinstance(handlers, list):
                    kept_groups.append(group)
                    continue
                kept = [h for h in handlers if ours(event, group, h) is None]
                if len(kept) == len(handlers):
                    kept_groups.append(group)
                    continue
                removed = True
                if kept:
                    kept_groups.append({**group, "hooks": kept})
            hooks[event] = kept_groups
            if removed and not kept_groups and (f"hooks.{event}" in created or state is None):
                del hooks[event]
                emptied = True
        # Without a record, a container that only ctxtop's entries filled was ctxtop's.
        if not hooks and ("hooks" in created or (state is None and emptied)):
            del data["hooks"]
    if status_ours:
        record = (state or {}).get("statusLine") or {}
        if record.get("had"):
            data["statusLine"] = record.get("previous")
        else:
            del data["statusLine"]
    return data, notes


def add_ctxtop(base: dict[str, Any], desired: Desired) -> tuple[dict[str, Any], dict[str, Any]]:
    """``base`` (free of ctxtop entries) with ``desired`` added, and the records that undo it (pure)."""
    data = copy.deepcopy(base)
    created: list[str] = []
    env_records: dict[str, Any] = {}
    written: list[dict[str, Any]] = []
    if desired.env:
        if "env" not in data:
            data["env"] = {}
            created.append("env")
        for key, value in desired.env.items():
            had = key in data["env"]
            env_records[key] = {"set": value, "had": had, "previous": data["env"].get(key)}
            data["env"][key] = value
    if desired.hooks:
        if "hooks" not in data:
            data["hooks"] = {}
            created.append("hooks")
        for event, matcher, sub in desired.hooks:
            if event not in data["hooks"]:
                data["hooks"][event] = []
                created.append(f"hooks.{event}")
            group: dict[str, Any] = {} if matcher is None else {"matcher": matcher}
            group["hooks"] = [{"type": "command", "command": hook_command(sub), "timeout": HOOK_TIMEOUT_S}]
            data["hooks"][event].append(group)
            written.append({"event": event, "sub": sub, "group": copy.deepcopy(group)})
    state: dict[str, Any] = {"format": STATE_FORMAT, "created": created, "env": env_records, "hooks": written}
    if desired.statusline:
        had = "statusLine" in data
        entry = statusline_entry(data.get("statusLine"))
        state["statusLine"] = {"had": had, "previous": data.get("statusLine"), "written": entry}
        data["statusLine"] = copy.deepcopy(entry)
    return data, state


def installed_features(data: dict[str, Any], state: dict[str, Any] | None = None) -> Desired:
    """What ctxtop installed in ``data`` before (install is additive: a re-install keeps it)."""
    found = Desired()
    subs = {sub for _event, _matcher, sub in owned_hooks(data, state)}
    found.hooks = [h for h in COMPACTION_HOOKS if h[2] in subs]
    for mode, hook in FILTER_HOOKS.items():
        if hook[2] in subs:
            found.filter_mode = mode
    found.budgets = any(hook[2] in subs for hook in BUDGET_HOOKS)
    found.statusline = statusline_is_ours(data, state)
    return found


def baseline(loaded: Loaded) -> tuple[dict[str, Any], dict[str, Any] | None, list[str]]:
    """The file's content without ctxtop's entries, the sidecar state, and notes about kept values."""
    state = current_state(loaded)
    data, notes = strip_ctxtop(loaded.data, state)
    return data, state, notes


def owned_env(data: dict[str, Any], state: dict[str, Any] | None) -> dict[str, str]:
    """The env values ctxtop set that are still in place."""
    env = data.get("env") or {}
    records = (state or {}).get("env") or {}
    return {k: r["set"] for k, r in records.items() if k in env and env[k] == r.get("set")}


def plan_install(loaded: Loaded, desired: Desired) -> Change:
    """The change an install makes; nothing is written."""
    base, state, notes = baseline(loaded)
    before = _text(loaded)
    previous = installed_features(loaded.data, state)
    merged = Desired(dict(desired.env), [], desired.statusline or previous.statusline, desired.filter_mode)
    # Env values set before and not set now stay as they are (compaction can be re-installed on its own).
    for key, value in owned_env(loaded.data, state).items():
        if key not in desired.drop_env:
            merged.env.setdefault(key, value)
    hooks = list(desired.hooks) or previous.hooks
    filter_mode = desired.filter_mode or previous.filter_mode
    if filter_mode:
        hooks.append(FILTER_HOOKS[filter_mode])
    if desired.budgets or previous.budgets:
        hooks.extend(BUDGET_HOOKS)
    merged.hooks = list(dict.fromkeys(hooks))
    data, records = add_ctxtop(base, merged)
    if merged.statusline and records["statusLine"]["had"]:
        theirs = settings_json.dumps(records["statusLine"]["previous"], indent=None)
        if "--then" in str(data["statusLine"].get("command")):
            notes.append(f"kept your statusLine {theirs}: it runs first, ctxtop's segment follows its output "
                         "(uninstall restores it as it was)")  # fmt: skip
        else:
            notes.append(f"replaced the statusLine {theirs} (uninstall restores it)")
    after = dumps(data, loaded.raw)
    if state and _sha(before) == state.get("written_sha256"):
        original, known = state.get("original"), bool(state.get("original_known"))
    elif not _has_ours(loaded.data, state) and not owned_env(loaded.data, state):
        original, known = before, True  # nothing of ctxtop's in it: this is the user's own file
    else:
        original, known = None, False
    new_state = {
        "settings_path": str(loaded.target),
        "original_known": known,
        "original": original,
        "written_sha256": _sha(after),
        **records,
    }
    if after == before:
        return Change(loaded.path, loaded.target, before, after, state, notes, prior=state)
    return Change(loaded.path, loaded.target, before, after, new_state, notes, prior=state)


def plan_uninstall(loaded: Loaded) -> Change:
    """The change an uninstall makes; nothing is written."""
    base, state, notes = baseline(loaded)
    before = _text(loaded)
    if state and state.get("original_known") and _sha(before) == state.get("written_sha256"):
        return Change(loaded.path, loaded.target, before, state.get("original"), None, notes, prior=state)
    after = before if base == loaded.data else dumps(base, loaded.raw)
    return Change(loaded.path, loaded.target, before, after, None, notes, prior=state)


def _write_state(sidecar: Path, state: dict[str, Any]) -> None:
    write_atomic(sidecar, settings_json.dumps(state, indent=2) + "\n", mode=0o600)


def apply(change: Change) -> None:
    """Write the change so that a kill at any point leaves a settings file and a state that belong together.

    Order: stale temp files of ctxtop's own go; the backup (first time only); the sidecar as a journal
    (state before and after, with the hash of each content); settings.json; the sidecar as the new state
    (or none). Each step is atomic. Also settles a journal an earlier, interrupted run left, when nothing
    needs writing.
    """
    folder = state_dir(change.target)
    sidecar = folder / "state.json"
    for path in (change.target, sidecar, folder / BACKUP_NAME):
        clean_stale_temps(path)
    if change.state is not None or (change.changed and change.prior is not None):
        paths.ensure_private_dir(paths.data_dir())
        paths.ensure_private_dir(folder.parent)
        paths.ensure_private_dir(folder)
    if change.changed:
        backup = folder / BACKUP_NAME
        if change.state is not None and change.before is not None and not backup.exists():
            write_atomic(backup, change.before, mode=0o600)
        if change.state is not None or change.prior is not None:
            journal = {
                "before_sha256": _sha(change.before),
                "after_sha256": _sha(change.after),
                "before": change.prior,
                "after": change.state,
            }
            _write_state(sidecar, {"format": STATE_FORMAT, "journal": journal})
        if change.after is None:
            try:
                os.unlink(change.target)
            except FileNotFoundError:
                pass
        else:
            write_atomic(change.target, change.after)
    if change.state is None:
        try:
            sidecar.unlink()
        except FileNotFoundError:
            pass
    elif not change.changed and _read_sidecar(change.target) == change.state:
        pass  # already settled: nothing to write
    else:
        _write_state(sidecar, change.state)
