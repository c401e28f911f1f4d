"""Merge ctxtop's env values, hooks and statusLine into a Claude Code settings.json, and take them out again.

What ctxtop owns in a settings file:

- ``env.CLAUDE_AUTOCOMPACT_PCT_OVERRIDE`` and ``env.CLAUDE_CODE_AUTO_COMPACT_WINDOW`` (only the ones it set);
- hook handlers whose command runs ``ctxtop hook <event>``, each in a matcher group of its own;
- a ``statusLine`` whose command runs ``ctxtop statusline``.

Everything else is kept as it is. What ctxtop needs to undo its change (the env values and statusLine it
replaced, the containers it created, the file as it was) lives in a sidecar in the data dir
(``claude-settings/<hash of the file's real path>/state.json``, next to the one-time backup
``settings.json.ctxtop-backup``), never in settings.json: Claude Code rejects settings files with fields it
does not know.

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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ctxtop.adapters import paths
from ctxtop.adapters.atomic import write_atomic
from ctxtop.core.compaction import PCT_ENV, WINDOW_ENV

HOOK_TIMEOUT_S = 5
BACKUP_NAME = "settings.json.ctxtop-backup"
# event, matcher, ctxtop hook sub-command. Matcher None = the group has no matcher (all triggers).
COMPACTION_HOOKS = (("PreCompact", None, "pre-compact"), ("SessionStart", "compact", "session-start"))
FILTER_HOOKS = {
    "post": ("PostToolUse", "Bash", "post-tool-use"),
    "wrap": ("PreToolUse", "Bash", "pre-tool-use"),
}
_OURS = re.compile(r"(?:^|[\s/'\"])ctxtop['\"]?\s+(?:hook\s+([a-z-]+)|(statusline))\b")


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
    return paths.claude_config_dirs()[0] / "settings.json"


def python_command() -> str:
    """The interpreter running ctxtop, quoted for a shell: hooks then work without ctxtop on PATH."""
    return shlex.quote(sys.executable or "python3")


def hook_command(sub: str) -> str:
    return f"{python_command()} -m ctxtop hook {sub}"


def statusline_entry() -> dict[str, Any]:
    return {"type": "command", "command": f"{python_command()} -m ctxtop statusline"}


def ctxtop_command(command: Any) -> str | None:
    """``"hook:<event>"`` or ``"statusline"`` when ``command`` runs ctxtop, else None."""
    if not isinstance(command, str):
        return None
    match = _OURS.search(command)
    if not match:
        return None
    return f"hook:{match.group(1)}" if match.group(1) else "statusline"


@dataclass
class Desired:
    """What an install should leave in the file (on top of what ctxtop installed before)."""

    env: dict[str, str] = field(default_factory=dict)
    hooks: list[tuple[str, str | None, str]] = field(default_factory=list)
    statusline: bool = False
    filter_mode: str | None = None
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
        data = json.loads(text)
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


def _load_state(target: Path) -> dict[str, Any] | None:
    try:
        state = json.loads((state_dir(target) / "state.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return state if isinstance(state, dict) else None


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
    return json.dumps(data, indent=indent, ensure_ascii=False) + ("\n" if newline else "")


def _has_ours(data: dict[str, Any]) -> bool:
    if ctxtop_command((data.get("statusLine") or {}).get("command")):
        return True
    for groups in (data.get("hooks") or {}).values():
        for group in groups:
            if isinstance(group, dict) and isinstance(group.get("hooks"), list):
                if any(isinstance(h, dict) and ctxtop_command(h.get("command")) for h in group["hooks"]):
                    return True
    return False


def strip_ctxtop(data: dict[str, Any], state: dict[str, Any] | None) -> tuple[dict[str, Any], list[str]]:
    """``data`` without ctxtop's entries, previous values restored from ``state`` (pure)."""
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
                kept = [h for h in handlers if not (isinstance(h, dict) and ctxtop_command(h.get("command")))]
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
    status = data.get("statusLine")
    if isinstance(status, dict) and ctxtop_command(status.get("command")):
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
    state: dict[str, Any] = {"created": created, "env": env_records}
    if desired.statusline:
        had = "statusLine" in data
        state["statusLine"] = {"had": had, "previous": data.get("statusLine")}
        data["statusLine"] = statusline_entry()
    return data, state


def installed_features(data: dict[str, Any]) -> Desired:
    """What ctxtop installed in ``data`` before (install is additive: a re-install keeps it)."""
    found = Desired()
    subs: set[str] = set()
    for groups in (data.get("hooks") or {}).values():
        for group in groups:
            for handler in (group.get("hooks") or []) if isinstance(group, dict) else []:
                kind = ctxtop_command(handler.get("command")) if isinstance(handler, dict) else None
                if kind and kind.startswith("hook:"):
                    subs.add(kind[5:])
    found.hooks = [h for h in COMPACTION_HOOKS if h[2] in subs]
    for mode, hook in FILTER_HOOKS.items():
        if hook[2] in subs:
            found.filter_mode = mode
    found.statusline = ctxtop_command((data.get("statusLine") or {}).get("command")) == "statusline"
    return found


def baseline(loaded: Loaded) -> tuple[dict[str, Any], dict[str, Any] | None, list[str]]:
    """The file's content without ctxtop's entries, the sidecar state, and notes about kept values."""
    state = _load_state(loaded.target)
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
    before = loaded.raw.decode("utf-8") if loaded.raw is not None else None
    previous = installed_features(loaded.data)
    merged = Desired(dict(desired.env), [], desired.statusline or previous.statusline, desired.filter_mode)
    # Env values set before and not set now stay as they are (compaction can be re-installed on its own).
    for key, value in owned_env(loaded.data, state).items():
        if key not in desired.drop_env:
            merged.env.setdefault(key, value)
    hooks = list(desired.hooks) or previous.hooks
    filter_mode = desired.filter_mode or previous.filter_mode
    if filter_mode:
        hooks.append(FILTER_HOOKS[filter_mode])
    merged.hooks = list(dict.fromkeys(hooks))
    data, records = add_ctxtop(base, merged)
    if merged.statusline and records["statusLine"]["had"]:
        notes.append(
            f"replaced the statusLine {json.dumps(records['statusLine']['previous'])} (uninstall restores it)"
        )
    after = dumps(data, loaded.raw)
    if state and _sha(before) == state.get("written_sha256"):
        original, known = state.get("original"), bool(state.get("original_known"))
    elif not _has_ours(loaded.data) and not owned_env(loaded.data, state):
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
        return Change(loaded.path, loaded.target, before, after, state, notes)
    return Change(loaded.path, loaded.target, before, after, new_state, notes)


def plan_uninstall(loaded: Loaded) -> Change:
    """The change an uninstall makes; nothing is written."""
    base, state, notes = baseline(loaded)
    before = loaded.raw.decode("utf-8") if loaded.raw is not None else None
    if state and state.get("original_known") and _sha(before) == state.get("written_sha256"):
        return Change(loaded.path, loaded.target, before, state.get("original"), None, notes)
    if base == loaded.data:
        return Change(loaded.path, loaded.target, before, before, None, notes)
    return Change(loaded.path, loaded.target, before, dumps(base, loaded.raw), None, notes)


def apply(change: Change) -> None:
    """Write the change: backup (first time only), sidecar, then the file; each step atomic."""
    sidecar = state_dir(change.target) / "state.json"
    if change.state is not None:
        paths.ensure_private_dir(sidecar.parent)
        backup = backup_path(change.target)
        if change.before is not None and not backup.exists():
            write_atomic(backup, change.before, mode=0o600)
        write_atomic(sidecar, json.dumps(change.state, indent=2, ensure_ascii=False) + "\n", mode=0o600)
    if change.changed:
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
