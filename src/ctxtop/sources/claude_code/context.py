"""A Claude Code transcript's main chain as breakdown events: requests, the pieces between them, compactions.

Pieces are named the way a user asks about them: a tool result by tool (``Read`` by file path, ``Bash`` by
command, MCP tools ``mcp__<server>__<tool>`` by server and tool), each user message, each attachment (memory
files, hook additional context, re-attached files, images) and the compaction summary. Their size is
tiktoken's count of the text the model received; an image counts ``IMAGE_TOKENS`` (the transcript does not
keep its size). Lines of subagent sidechains are not the main chain and are skipped.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterable

from ctxtop.core.breakdown import Boundary, Event, Piece, Sent
from ctxtop.core.metrics import Req
from ctxtop.core.records import MAIN, parse_ts, tool_command
from ctxtop.core.usage import parse_usage

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

IMAGE_TOKENS = 1_600
"""Weight of an image block: about what the API bills a 1.15-megapixel image (width x height / 750)."""

LABEL_CHARS = 80

_ATTACHMENT_GROUPS = {
    "nested_memory": "memory",
    "memory": "memory",
    "hook_additional_context": "hook context",
    "file": "file",
    "edited_text_file": "file",
    "compact_file_reference": "file",
    "image": "image",
}
# Attachment fields that are bookkeeping, not text the model reads.
_NOT_SENT = {"type", "hookName", "toolUseID", "hookEvent", "command", "stdout", "stderr", "exitCode",
             "durationMs", "itemCount"}  # fmt: skip


def _short(text: str, width: int = LABEL_CHARS) -> str:
    """A one-line label that is safe to print: whitespace runs become one space, control and format
    characters (escape sequences, bidi overrides) are dropped, so a transcript cannot drive the terminal."""
    line = "".join(c for c in " ".join(text.split()) if unicodedata.category(c) not in ("Cc", "Cf"))
    return line if len(line) <= width else line[: width - 1] + "…"


def _blocks_weight(content: Any) -> tuple[str, int]:
    """(text, images) of a message's content: a string or a list of blocks."""
    if isinstance(content, str):
        return content, 0
    text: list[str] = []
    images = 0
    if isinstance(content, list):
        for block in content:
            if not isinstance(block, dict):
                continue
            kind = block.get("type")
            if kind == "image":
                images += 1
            elif kind == "text" and isinstance(block.get("text"), str):
                text.append(block["text"])
            elif kind == "tool_result":
                inner, n = _blocks_weight(block.get("content"))
                text.append(inner)
                images += n
    return "".join(text), images


def _tool_piece(name: str, tool_input: Any, content: Any) -> Piece:
    text, images = _blocks_weight(content)
    weight = images * IMAGE_TOKENS
    if name.startswith("mcp__"):
        server, _, tool = name[5:].partition("__")
        return Piece("mcp", _short(f"mcp__{server}"), _short(tool or name), weight, text)
    label = tool_command(name, tool_input) if tool_input is not None else ""
    return Piece("tool", _short(name), _short(label, 300), weight, text)


def _attachment_piece(att: dict) -> Piece | None:
    kind = att.get("type")
    if not isinstance(kind, str):
        return None
    group = _ATTACHMENT_GROUPS.get(kind, _short(kind.replace("_", " ")))
    label = ""
    for key in ("filename", "path", "hookName"):
        if isinstance(att.get(key), str):
            label = att[key]
            break
    content = att.get("content")
    if isinstance(content, dict) and isinstance(content.get("file"), dict):
        content = content["file"].get("content", content)
    if content is None:
        content = {k: v for k, v in att.items() if k not in _NOT_SENT}
    text = content if isinstance(content, str) else json.dumps(content, ensure_ascii=False)
    return Piece("attachment", group, _short(label, 300), IMAGE_TOKENS if kind == "image" else 0, text)


def _user_pieces(obj: dict, tools: dict[str, tuple[str, Any]]) -> list[Piece]:
    message = obj.get("message")
    if not isinstance(message, dict):
        return []
    content = message.get("content")
    if obj.get("isCompactSummary") is True:
        text, _ = _blocks_weight(content)
        return [Piece("summary", "compaction summary", "", 0, text)]
    out: list[Piece] = []
    plain: list[Any] = []
    if isinstance(content, list):
        for block in content:
            if isinstance(block, dict) and block.get("type") == "tool_result":
                name, tool_input = tools.get(str(block.get("tool_use_id")), ("?", None))
                out.append(_tool_piece(name, tool_input, block.get("content")))
            else:
                plain.append(block)
    else:
        plain = [content] if isinstance(content, str) else []
    if plain:
        text, images = _blocks_weight(plain if len(plain) > 1 or not isinstance(plain[0], str) else plain[0])
        group = "meta" if obj.get("isMeta") is True else "message"
        out.append(Piece("user", group, _short(text) or "(image)", images * IMAGE_TOKENS, text))
    return out


def _output_label(blocks: list[Any]) -> tuple[str, str]:
    calls = [b.get("name") for b in blocks if isinstance(b, dict) and b.get("type") == "tool_use"]
    text = " ".join(b["text"] for b in blocks if isinstance(b, dict) and isinstance(b.get("text"), str))
    thinking = any(isinstance(b, dict) and b.get("type") in ("thinking", "redacted_thinking") for b in blocks)
    group = "tool calls" if calls else "thinking" if thinking and not text else "answer"
    label = _short(", ".join(str(c) for c in calls)) if calls else _short(text)
    return group, label


def claude_events(lines: Iterable[Any]) -> list[Event]:
    """The breakdown events of a main transcript's decoded lines, in file order.

    A response is written as several lines repeating its usage (the earlier ones often with a stale, smaller
    ``output_tokens``): it is one request, at its first line, with the largest copy's usage, as the index
    deduplicates it.
    """
    objs = [o for o in lines if isinstance(o, dict) and o.get("isSidechain") is not True]
    usage: dict[str, Any] = {}
    blocks: dict[str, list[Any]] = {}
    tools: dict[str, tuple[str, Any]] = {}
    for n, obj in enumerate(objs):
        message = obj.get("message")
        if not isinstance(message, dict) or (obj.get("type") not in ("assistant", None)):
            continue
        parsed = parse_usage(message.get("usage"))
        if parsed is None:
            continue
        key = _key(obj, message, n)
        best = usage.get(key)
        if best is None or parsed.tokens.total > best.tokens.total:
            usage[key] = parsed
        content = message.get("content")
        if isinstance(content, list):
            blocks.setdefault(key, []).extend(content)
            for block in content:
                if isinstance(block, dict) and block.get("type") == "tool_use":
                    tools[str(block.get("id"))] = (str(block.get("name")), block.get("input"))
    out: list[Event] = []
    seen: set[str] = set()
    for n, obj in enumerate(objs):
        kind = obj.get("type")
        message = obj.get("message")
        if kind == "system" and obj.get("subtype") == "compact_boundary":
            out.append(Boundary(parse_ts(obj.get("timestamp")) or 0.0))
        elif kind == "user":
            out.extend(_user_pieces(obj, tools))
        elif kind == "attachment" and isinstance(obj.get("attachment"), dict):
            piece = _attachment_piece(obj["attachment"])
            if piece is not None:
                out.append(piece)
        elif isinstance(message, dict) and kind in ("assistant", None) and "usage" in message:
            key = _key(obj, message, n)
            if key in seen or key not in usage:
                continue
            seen.add(key)
            u = usage[key]
            model = message.get("model")
            req = Req(
                chain=MAIN, ts=parse_ts(obj.get("timestamp")) or 0.0,
                model=model if isinstance(model, str) and model else "unknown", tokens=u.tokens,
                billed=u.billed, service_tier=u.service_tier, speed=u.speed,
            )  # fmt: skip
            group, label = _output_label(blocks.get(key, []))
            out.append(Sent(req, Piece("assistant", group, label, 0), key))
    return out


def _key(obj: dict, message: dict, n: int) -> str:
    mid, rid = message.get("id"), obj.get("requestId")
    if isinstance(mid, str) and mid and isinstance(rid, str) and rid:
        return f"{mid}:{rid}"
    return f"line:{n}"
