"""The few facts ctxtop accounts for, whatever log they come from, and helpers to read them.

Each source (``ctxtop.sources.<tool>``) turns its log lines into these; the index stores them. A request may
appear several times (Claude Code repeats the usage on every content block's line, forks and subagent files
copy lines); deduplication happens later, on ``RequestRecord.key``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ctxtop.core.usage import MAX_TOKENS, Usage

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
    fallback: bool = False
    """From a subagent's file: only fills what the main transcript did not say (a session whose main file
    is gone still gets its cwd from the records, not from the lossy project dir name)."""


Parsed = RequestRecord | CompactRecord | ToolUse | ToolResult | Meta

FlatRequest = tuple
"""A ``RequestRecord`` as one flat tuple, the form the index stores and a source's narrow reader builds
directly: (key, session_id, chain, ts, model, then ``usage.tokens``' input, output, cache_read,
cache_write_5m, cache_write_1h, then ``usage.billed``'s five in the same order, web_search, web_fetch,
service_tier, speed, is_compaction_call as 0/1, billed total, reasoning)."""


def flat_request(fact: RequestRecord) -> FlatRequest:
    """``fact`` as a ``FlatRequest``."""
    u = fact.usage
    t, b = u.tokens, u.billed
    return (
        fact.key, fact.session_id, fact.chain, fact.ts, fact.model,
        t.input, t.output, t.cache_read, t.cache_write_5m, t.cache_write_1h,
        b.input, b.output, b.cache_read, b.cache_write_5m, b.cache_write_1h,
        u.web_search, u.web_fetch, u.service_tier, u.speed, int(fact.is_compaction_call),
        b.total, u.reasoning,
    )  # fmt: skip


def count(value: Any) -> int:
    """A token count from a log field: 0 unless a plausible integer (SQLite stores 64 bits)."""
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
