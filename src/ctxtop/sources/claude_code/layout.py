"""Where Claude Code keeps its files: the config dirs in effect (``--claude-dir``, ``$CLAUDE_CONFIG_DIR``,
``~/.claude``). Under each: ``projects/<project>/<session>.jsonl`` (``source.ClaudeCode`` reads them),
``sessions/<pid>.json`` (``live``), ``settings.json`` (``settings``), and beside ``~/.claude`` the user's
``.claude.json`` (``mcp_config``). Nothing outside ``sources/claude_code`` knows these names
(``tests/test_layers.py`` greps for them).
"""

from __future__ import annotations

import os
from pathlib import Path


def claude_config_dirs(explicit: list[str] | None = None) -> list[Path]:
    """The Claude Code config dirs to read, in order, without duplicates.

    ``explicit`` (from ``--claude-dir``) wins; else ``$CLAUDE_CONFIG_DIR`` (comma separated list allowed);
    else ``~/.claude`` and ``~/.config/claude``. Dirs that do not exist are kept: callers report them.
    """
    if explicit:
        candidates = [Path(p).expanduser() for p in explicit]
    else:
        env = os.environ.get("CLAUDE_CONFIG_DIR", "")
        candidates = [Path(p.strip()).expanduser() for p in env.split(",") if p.strip()]
        if not candidates:  # unset, or only commas and blanks: Claude Code's defaults
            home = Path.home()
            candidates = [home / ".claude", home / ".config" / "claude"]
    seen: set[str] = set()
    result: list[Path] = []
    for path in candidates:
        key = os.path.realpath(path)
        if key not in seen:
            seen.add(key)
            result.append(path)
    return result
