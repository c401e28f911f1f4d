"""Register ctxtop's MCP server (``ctxtop mcp``) in Claude Code's MCP config, and take it out again.

Where Claude Code keeps MCP servers, as ``claude mcp add --scope S`` writes them (checked with the real CLI,
2.1.197 and 2.1.332): ``user`` in ``mcpServers`` of ``~/.claude.json`` (``$CLAUDE_CONFIG_DIR/.claude.json``
when that is set), ``local`` in ``projects.<project dir>.mcpServers`` of the same file, ``project`` in
``mcpServers`` of ``<project>/.mcp.json``. Each server is ``{"type": "stdio", "command", "args", "env"}``.

ctxtop owns exactly the ``ctxtop`` entry it recorded writing (the sidecar in its data dir, written as a journal
around the file by ``claude_settings.apply``), or, when the record is lost, an entry that is exactly the one
ctxtop writes (``<python> -m ctxtop mcp``). A ``ctxtop`` server someone else wrote is never replaced or
removed. Every other key is kept, numbers as they were written; the file's layout is kept; writes are atomic
and keep the file's mode (0600 for a file ctxtop creates); invalid JSON is refused, untouched.
"""

from __future__ import annotations

import copy
import json
import os
import sys
from pathlib import Path
from typing import Any

from ctxtop.sources.claude_code import layout
from ctxtop.sources.claude_code import settings as cs

SERVER = "ctxtop"
"""The server's name: Claude Code offers its tools as ``mcp__ctxtop__<tool>``."""
FORMAT = 1
ARGS = ["-m", "ctxtop", "mcp"]


def config_path(scope: str, cwd: Path | None = None) -> Path:
    """The file Claude Code reads the ``scope``'s MCP servers from."""
    if scope == "project":
        return (cwd or Path.cwd()) / ".mcp.json"
    if os.environ.get("CLAUDE_CONFIG_DIR", "").strip():
        return layout.claude_config_dirs()[0] / ".claude.json"
    return Path.home() / ".claude.json"


def container_keys(scope: str, cwd: Path | None = None) -> list[str]:
    """The keys leading to the ``mcpServers`` object in that file."""
    if scope == "local":
        return ["projects", str((cwd or Path.cwd()).absolute()), "mcpServers"]
    return ["mcpServers"]


def entry() -> dict[str, Any]:
    """The server entry ctxtop writes: this interpreter, so it works without ctxtop on PATH."""
    return {"type": "stdio", "command": sys.executable or "python3", "args": list(ARGS), "env": {}}


def shaped_like_ours(value: Any) -> bool:
    """Exactly an entry ctxtop writes (any interpreter): what counts as ctxtop's when no record is left."""
    if not isinstance(value, dict) or not set(value) <= {"type", "command", "args", "env"}:
        return False
    return (
        value.get("type", "stdio") == "stdio"
        and isinstance(value.get("command"), str)
        and value.get("args") == ARGS
        and value.get("env", {}) == {}
    )


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def _state(loaded: cs.Loaded) -> dict[str, Any] | None:
    """ctxtop's record for the file as it is now (a journal an interrupted write left is settled)."""
    sidecar = cs.current_state(loaded)
    return sidecar if isinstance(sidecar, dict) and sidecar.get("kind") == "mcp" else None


def _walk(data: dict[str, Any], keys: list[str]) -> Any:
    node: Any = data
    for key in keys:
        if not isinstance(node, dict):
            return None
        node = node.get(key)
    return node


def ours(data: dict[str, Any], keys: list[str], state: dict[str, Any] | None) -> bool:
    """Whether the ``ctxtop`` server in the file is the one ctxtop wrote."""
    servers = _walk(data, keys)
    current = servers.get(SERVER) if isinstance(servers, dict) else None
    if current is None:
        return False
    recorded = (state or {}).get("entry")
    if recorded is not None:
        return _canonical(current) == _canonical(recorded)
    return shaped_like_ours(current)


def recorded(scope: str, cwd: Path | None = None) -> bool:
    """Whether ctxtop keeps a record for the scope's MCP config file (it wrote there at some point)."""
    target = Path(os.path.realpath(config_path(scope, cwd)))
    return (cs.state_dir(target) / "state.json").exists()


class McpConfigError(cs.SettingsError):
    """The file cannot take ctxtop's server; the message says why and what to do."""


def load(scope: str, cwd: Path | None = None) -> cs.Loaded:
    path = config_path(scope, cwd)
    loaded = cs.load(path)
    keys = container_keys(scope, cwd)
    node: Any = loaded.data
    for n, key in enumerate(keys):
        node = node.get(key) if isinstance(node, dict) else None
        if node is not None and not isinstance(node, dict):
            where = ".".join(keys[: n + 1])
            raise McpConfigError(f'"{where}" in {path} is not an object; ctxtop left the file untouched')
    return loaded


def plan_install(loaded: cs.Loaded, scope: str, cwd: Path | None = None) -> cs.Change:
    """The change that puts ctxtop's server in place; nothing is written. Raises for a foreign ``ctxtop``."""
    keys = container_keys(scope, cwd)
    state = _state(loaded)
    servers = _walk(loaded.data, keys)
    if isinstance(servers, dict) and SERVER in servers and not ours(loaded.data, keys, state):
        raise McpConfigError(
            f'{loaded.path} already has an MCP server named "{SERVER}" that ctxtop did not write; '
            "ctxtop left it untouched (remove or rename it, then run install again)"
        )
    data = copy.deepcopy(loaded.data)
    node = data
    created = list((state or {}).get("created") or [])
    for n, key in enumerate(keys):
        if not isinstance(node.get(key), dict):
            node[key] = {}
            created.append(keys[: n + 1])
        node = node[key]
    node[SERVER] = entry()
    before = None if loaded.raw is None else loaded.raw.decode("utf-8")
    after = cs.dumps(data, loaded.raw)
    if before is not None and data == loaded.data:
        after = before  # already in place, to the byte
    new_state = {
        "kind": "mcp",
        "format": FORMAT,
        "settings_path": str(loaded.target),
        "scope": scope,
        "keys": keys,
        "entry": entry(),
        "created": [c for i, c in enumerate(created) if c not in created[:i]],
        "created_file": bool((state or {}).get("created_file")) or loaded.raw is None,
    }
    return cs.Change(loaded.path, loaded.target, before, after, new_state, [], prior=state)


def plan_uninstall(loaded: cs.Loaded, scope: str, cwd: Path | None = None) -> cs.Change:
    """The change that takes ctxtop's server out (only it); nothing is written."""
    keys = container_keys(scope, cwd)
    state = _state(loaded)
    before = None if loaded.raw is None else loaded.raw.decode("utf-8")
    notes: list[str] = []
    servers = _walk(loaded.data, keys)
    if not isinstance(servers, dict) or SERVER not in servers:
        return cs.Change(loaded.path, loaded.target, before, before, None, notes, prior=state)
    if not ours(loaded.data, keys, state):
        notes.append(
            f'the MCP server "{SERVER}" in {loaded.path} is not the one ctxtop wrote (edited since, or '
            "someone else's); left it in place"
        )
        return cs.Change(loaded.path, loaded.target, before, before, state, notes, prior=state)
    data = copy.deepcopy(loaded.data)
    del _walk(data, keys)[SERVER]
    # Containers ctxtop created go too, once empty (deepest first).
    for created in sorted((state or {}).get("created") or [], key=len, reverse=True):
        parent = _walk(data, created[:-1]) if len(created) > 1 else data
        if isinstance(parent, dict) and parent.get(created[-1]) == {}:
            del parent[created[-1]]
    if (state or {}).get("created_file") and data == {}:
        return cs.Change(loaded.path, loaded.target, before, None, None, notes, prior=state)
    return cs.Change(loaded.path, loaded.target, before, cs.dumps(data, loaded.raw), None, notes, prior=state)
