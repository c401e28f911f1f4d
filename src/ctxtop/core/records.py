"""Parse Claude Code transcript lines and ctxtop API-log lines into the few facts ctxtop accounts for.

A transcript line is one JSON object. Claude Code writes one line per content block of a response, each
repeating the usage, so the same request appears several times (and again in resumed or forked sessions and
in subagent files); deduplication happens later, on ``RequestRecord.key``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ctxtop.core.usage import MAX_TOKENS, Usage, parse_usage

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: importing typing costs the statusline ~5 ms
if TYPE_CHECKING:
    from typing import Any

MAIN = "main"


@dataclass(slots=True)
class FileContext:
    """What the path of a file says about its lines."""

    session_id: str
    chain: str = MAIN
    """"main", or the subagent's id for ``<session>/subagents/agent-<id>.jsonl`` files."""
    source: str = "claude"
    """The name of the file's source (``Source.name``: "claude", "api", ...)."""
    project_dir: str = ""
    """The folder that groups the session's files (Claude Code: the project dir, named after the cwd)."""


@dataclass(slots=True)
class RequestRecord:
    key: str
    """Deduplication key: ``message.id:requestId`` (or a line-unique key when those are missing)."""
    session_id: str
    chain: str
    ts: float
    model: str
    usage: Usage
    is_compaction_call: bool = False


@dataclass(slots=True)
class CompactRecord:
    session_id: str
    chain: str
    ts: float
    trigger: str
    pre_tokens: int
    post_tokens: int | None
    """None when the record does not say (no ``postTokens``: Claude Code 2.0.76, 2.1.39)."""


@dataclass(slots=True)
class ToolUse:
    session_id: str
    tool_use_id: str
    name: str
    command: str
    ts: float


@dataclass(slots=True)
class ToolResult:
    session_id: str
    tool_use_id: str
    chars: int
    is_error: bool
    ts: float
    text: str = ""
    """What the model received (for outputs Claude Code persisted to a file, its 2 KB preview)."""


@dataclass(slots=True)
class Meta:
    session_id: str
    ts: float
    cwd: str | None = None
    git_branch: str | None = None
    version: str | None = None


Parsed = RequestRecord | CompactRecord | ToolUse | ToolResult | Meta


def _count(value: Any) -> int:
    """A token count from a transcript field: 0 unless a plausible integer (SQLite stores 64 bits)."""
    return value if type(value) is int and 0 <= value <= MAX_TOKENS else 0


def parse_ts(value: Any) -> float | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def content_text(content: Any) -> str:
    """The text of a tool_result's content (a string, or a list of text blocks)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for item in content:
            if isinstance(item, dict):
                text = item.get("text")
                if isinstance(text, str):
                    parts.append(text)
            elif isinstance(item, str):
                parts.append(item)
        return "".join(parts)
    return ""


def tool_command(name: str, tool_input: Any) -> str:
    """A short human label for a tool call: the Bash command, the file path, the pattern..."""
    if not isinstance(tool_input, dict):
        return ""
    for key in ("command", "file_path", "path", "pattern", "url", "query", "description", "prompt"):
        value = tool_input.get(key)
        if isinstance(value, str) and value:
            return value[:300]
    return ""


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
    if isinstance(cwd, str) and chain == MAIN:
        branch = obj.get("gitBranch")
        version = obj.get("version")
        out.append(
            Meta(
                ctx.session_id,
                ts,
                cwd,
                branch if isinstance(branch, str) and branch else None,
                version if isinstance(version, str) else None,
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
                _count(pre),
                _count(post) if type(post) is int else None,
            )
        )
    return out


def _api_compaction(obj: dict, session_id: str, ts: float, usage: Usage) -> CompactRecord | None:
    """A compaction recorded by ``ctxtop.api``: server-side (triggered) or the client-side summariser call."""
    info = obj.get("compaction")
    if not isinstance(info, dict):
        return None
    kind = info.get("kind")
    if kind == "server" and info.get("triggered") is True:
        return CompactRecord(session_id, MAIN, ts, "server", usage.compaction.prompt, usage.tokens.prompt)
    if kind == "client":
        return CompactRecord(session_id, MAIN, ts, "client", _count(info.get("pre_tokens")), None)
    return None


def parse_api(obj: Any, ctx: FileContext, line_key: str) -> list[Parsed]:
    """Facts in one ctxtop API session-log line (schema in README, "API session log schema")."""
    if not isinstance(obj, dict) or obj.get("type") != "api_request":
        return []
    ts = parse_ts(obj.get("timestamp"))
    usage = parse_usage(obj.get("usage"))
    if ts is None or usage is None:
        return []
    session = obj.get("session_id")
    session_id = session if isinstance(session, str) and session else ctx.session_id
    mid = obj.get("message_id")
    rid = obj.get("request_id")
    if isinstance(mid, str) and mid:
        key = f"{mid}:{rid}" if isinstance(rid, str) and rid else mid
    else:
        key = f"line:{line_key}"
    tier = obj.get("service_tier")
    if isinstance(tier, str) and tier and usage.service_tier is None:
        usage = Usage(usage.tokens, usage.web_search, usage.web_fetch, tier, usage.speed, usage.compaction)
    if obj.get("batch") is True:
        usage = Usage(usage.tokens, usage.web_search, usage.web_fetch, "batch", usage.speed, usage.compaction)
    model = obj.get("model")
    out: list[Parsed] = []
    cwd = obj.get("cwd")
    out.append(Meta(session_id, ts, cwd if isinstance(cwd, str) else None))
    boundary = _api_compaction(obj, session_id, ts, usage)
    if boundary is not None:
        out.append(boundary)
    compaction = obj.get("compaction")
    client_compaction = isinstance(compaction, dict) and compaction.get("kind") == "client"
    out.append(
        RequestRecord(
            key=key,
            session_id=session_id,
            # The client-side summariser call is billed but is not a turn of the conversation.
            chain="compaction" if client_compaction else MAIN,
            ts=ts,
            model=model if isinstance(model, str) and model else "unknown",
            usage=usage,
            is_compaction_call=client_compaction,
        )
    )
    return out
