"""``ctxtop mcp``: a Model Context Protocol server on stdio, so the agent can read its own meter.

Claude Code starts it (``ctxtop claude install --mcp`` registers it) and offers its tools to the model as
``mcp__ctxtop__<tool>``. Every tool is about the calling session (``ctxtop.sources.claude_code.caller``), and
every figure is the one ``ctxtop report sessions --json`` prints for it: the same ``Monitor`` and
``SessionView``, refreshed (only new bytes are read) before each answer. Read-only tools: ``context_status``,
``cost``, ``plan_limits``, ``notes``; one write tool, ``pin_note``, which pins a line to the session's notes
so that it survives compaction (the SessionStart hook re-injects the notes after one).

The SDK is the ``mcp`` extra (``pip install 'ctxtop[mcp]'``); without it the command says so.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

INSTRUCTIONS = (
    "ctxtop meters this Claude Code session: how full the context is and where it compacts "
    "(context_status), what the session has cost against its budgets (cost), the plan's usage limits "
    "(plan_limits) and the notes ctxtop carries across a compaction (notes). pin_note adds a line to "
    "those notes so it survives the next compaction."
)
TOOL_USE_META = "claudecode/toolUseId"
"""Claude Code names the tool_use block behind each ``tools/call`` in the request's ``_meta``."""


def tool_use_id(ctx: Any) -> str | None:
    """The tool_use id Claude Code sends in the call's ``_meta`` (None from other clients)."""
    try:
        meta = ctx.request_context.meta or {}
    except (AttributeError, LookupError, ValueError):
        return None
    value = meta.get(TOOL_USE_META) if isinstance(meta, dict) else None
    return value if isinstance(value, str) and value else None


def run(args: argparse.Namespace) -> int:
    try:
        import mcp  # noqa: F401
    except ImportError:
        print(
            "ctxtop: the MCP server needs the mcp SDK: pip install 'ctxtop[mcp]'",
            file=sys.stderr,
        )
        return 1
    if sys.stdin.isatty():
        # Run by hand: say what this is rather than sit silently (it keeps running: it may be wanted).
        print(
            "ctxtop mcp: a Model Context Protocol server on stdin/stdout, started by Claude Code "
            "(register it with `ctxtop claude install --mcp`); ctrl-c to stop",
            file=sys.stderr,
        )
    from ctxtop.commands.mcp_server import build_server
    from ctxtop.services.meter import Meter

    meter = Meter(
        getattr(args, "claude_dir", None), getattr(args, "api_logs", None), getattr(args, "cache_dir", None)
    )
    server = build_server(meter)
    server.run("stdio")
    return 0
