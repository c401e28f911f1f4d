"""Claude Code transcript lines -> the facts ctxtop accounts for (requests, compactions, tool calls, metadata).

A transcript line is one JSON object. Claude Code writes one line per content block of a response, each
repeating the usage, so the same request appears several times (and again in resumed or forked sessions and
in subagent files); deduplication happens later, on ``RequestRecord.key``.
"""

from __future__ import annotations

from ctxtop.core.records import (
    MAIN,
    CompactRecord,
    FileContext,
    Meta,
    Parsed,
    RequestRecord,
    ToolResult,
    ToolUse,
    content_text,
    count,
    parse_ts,
    tool_command,
)
from ctxtop.core.usage import parse_usage

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: importing typing costs the statusline ~5 ms
if TYPE_CHECKING:
    from typing import Any


def parse_claude(obj: Any, ctx: FileContext, line_key: str) -> list[Parsed]:
    """Facts in one Claude Code transcript line. ``line_key`` makes keys unique when ids are missing."""
    if not isinstance(obj, dict):
        return []
    ts = parse_ts(obj.get("timestamp"))
    kind = obj.get("type")
    out: list[Parsed] = []
    if ts is None:
        return out
    chain = ctx.chain
    if chain == MAIN and obj.get("isSidechain") is True:
        # Old-style sidechains (before subagent files) live in the session file itself.
        agent = obj.get("agentId")
        chain = f"sidechain-{agent}" if isinstance(agent, str) and agent else "sidechain"
    cwd = obj.get("cwd")
    # The main chain's records say where the session ran; a subagent file's only fill in (its main is gone).
    if isinstance(cwd, str) and (chain == MAIN or ctx.chain != MAIN):
        branch = obj.get("gitBranch")
        version = obj.get("version")
        out.append(
            Meta(
                ctx.session_id,
                ts,
                cwd,
                branch if isinstance(branch, str) and branch else None,
                version if isinstance(version, str) else None,
                fallback=ctx.chain != MAIN,
            )
        )
    message = obj.get("message")
    if kind == "assistant" or (kind is None and isinstance(message, dict) and "usage" in message):
        if not isinstance(message, dict):
            return out
        usage = parse_usage(message.get("usage"))
        model = message.get("model")
        if usage is not None:
            mid = message.get("id")
            rid = obj.get("requestId")
            if isinstance(mid, str) and mid and isinstance(rid, str) and rid:
                key = f"{mid}:{rid}"
            else:
                key = f"line:{line_key}"
            out.append(
                RequestRecord(
                    key=key,
                    session_id=ctx.session_id,
                    chain=chain,
                    ts=ts,
                    model=model if isinstance(model, str) and model else "unknown",
                    usage=usage,
                    is_compaction_call=chain.startswith("acompact"),
                )
            )
        content = message.get("content")
        if isinstance(content, list):
            for block in content:
                if isinstance(block, dict) and block.get("type") == "tool_use":
                    name = block.get("name")
                    tid = block.get("id")
                    if isinstance(tid, str) and isinstance(name, str):
                        out.append(
                            ToolUse(ctx.session_id, tid, name, tool_command(name, block.get("input")), ts)
                        )
    elif kind == "user" and isinstance(message, dict):
        content = message.get("content")
        if isinstance(content, list):
            for block in content:
                if isinstance(block, dict) and block.get("type") == "tool_result":
                    tid = block.get("tool_use_id")
                    if isinstance(tid, str):
                        text = content_text(block.get("content"))
                        out.append(
                            ToolResult(
                                ctx.session_id, tid, len(text), block.get("is_error") is True, ts, text
                            )
                        )
    elif kind == "system" and obj.get("subtype") == "compact_boundary":
        meta = obj.get("compactMetadata")
        meta = meta if isinstance(meta, dict) else {}
        pre = meta.get("preTokens")
        post = meta.get("postTokens")
        trig = meta.get("trigger")
        out.append(
            CompactRecord(
                ctx.session_id,
                chain,
                ts,
                trig if isinstance(trig, str) else "unknown",
                count(pre),
                count(post) if type(post) is int else None,
            )
        )
    return out
