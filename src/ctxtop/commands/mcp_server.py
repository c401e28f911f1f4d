"""The MCP server of ``ctxtop mcp``: the SDK's ``MCPServer`` with ctxtop's tools (imported only by that command:
the ``mcp`` SDK is an extra). The tools' logic is ``ctxtop.services.meter.Meter``; here are their names, their
descriptions (what the model reads to decide to call one) and their annotations."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations

from ctxtop import __version__
from ctxtop.adapters.index import IndexUnavailable
from ctxtop.commands.mcp import INSTRUCTIONS, tool_use_id
from ctxtop.services.meter import Meter, Refused
from ctxtop.sources.claude_code.caller import NoCaller


def _answer(call: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """The tool's data; a failure ctxtop foresaw reaches the model with its reason (the SDK would say only
    "Error executing tool")."""
    try:
        return call()
    except (Refused, NoCaller, IndexUnavailable) as exc:
        raise ToolError(str(exc)) from exc


def build_server(meter: Meter) -> MCPServer:
    """The MCP server with ctxtop's tools (the SDK's MCPServer)."""
    server = MCPServer("ctxtop", version=__version__, instructions=INSTRUCTIONS)
    read_only = ToolAnnotations(
        read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False
    )

    @server.tool(annotations=read_only)
    def context_status(ctx: Context) -> dict[str, Any]:
        """How full this session's context is: prompt tokens, window, fill, where Claude Code compacts
        (compact_at_tokens) and ctxtop's threshold, the room left before compaction, and the largest items
        (tool outputs) still in the context."""
        return _answer(lambda: meter.context_status(tool_use_id(ctx)))

    @server.tool(annotations=read_only)
    def cost(ctx: Context) -> dict[str, Any]:
        """What this session has cost so far (exact USD, as decimal strings) and what is left of the session
        and daily budgets set in ctxtop's config."""
        return _answer(lambda: meter.cost(tool_use_id(ctx)))

    @server.tool(annotations=read_only)
    def plan_limits() -> dict[str, Any]:
        """The plan's usage limits: the five-hour and weekly use Claude Code reported (official), else an
        estimate of the current five-hour block from local usage."""
        return _answer(lambda: meter.plan_limits())

    @server.tool(annotations=read_only)
    def notes(ctx: Context) -> dict[str, Any]:
        """The notes ctxtop hands back to the model after a compaction (tasks, files, failures, decisions,
        pinned lines), rebuilt from the transcript now."""
        return _answer(lambda: meter.notes(tool_use_id(ctx)))

    @server.tool(
        annotations=ToolAnnotations(
            read_only_hint=False, destructive_hint=False, idempotent_hint=True, open_world_hint=False
        )
    )
    def pin_note(line: str, ctx: Context) -> dict[str, Any]:
        """Pin one line to this session's notes so it survives compaction: it is kept word for word and
        handed back to the model after the next compaction. Pinning the same line twice changes nothing."""
        return _answer(lambda: meter.pin_note(line, tool_use_id(ctx)))

    return server
