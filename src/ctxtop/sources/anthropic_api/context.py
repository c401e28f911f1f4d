"""An API session log as breakdown events (``core.breakdown``): requests, the messages each added, compactions."""

from __future__ import annotations

from collections.abc import Iterable

from ctxtop.core.breakdown import Boundary, Event, Piece, Sent
from ctxtop.core.metrics import Req
from ctxtop.core.records import MAIN, CompactRecord, FileContext, RequestRecord
from ctxtop.sources.anthropic_api.parse import parse_api

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def api_events(lines: Iterable[Any], session_id: str = "") -> list[Event]:
    """The breakdown events of a ctxtop API session log: what the log allows, which is less than a transcript.

    The log keeps each request's usage and the sizes of its parts (``prompt_parts``: system, tools, messages
    in JSON characters, and how many messages), not their text. So request 1's messages are one piece
    (weighed at four characters a token against the base of system prompt and tools), and each later delta is
    one piece, "messages a-b", the messages the request added; compactions (server or client) are boundaries.
    """
    ctx = FileContext(session_id, source="api")
    out: list[Event] = []
    seen: set[str] = set()
    messages = 0
    for n, obj in enumerate(lines):
        if not isinstance(obj, dict):
            continue
        raw = obj.get("prompt_parts")
        parts: dict[str, Any] = raw if isinstance(raw, dict) else {}
        for fact in parse_api(obj, ctx, f"api:{n}"):
            if isinstance(fact, CompactRecord):
                out.append(Boundary(fact.ts))
                messages = 0  # the compacted conversation starts over: its messages are new again
            elif isinstance(fact, RequestRecord) and fact.chain == MAIN and fact.key not in seen:
                seen.add(fact.key)
                count: int | None = parts["messages"] if type(parts.get("messages")) is int else None
                chars: int = parts["messages_chars"] if type(parts.get("messages_chars")) is int else 0
                if count is None or count > messages:
                    label = "messages" if count is None else f"messages {messages + 1}-{count}"
                    out.append(Piece("user", "messages", label, chars // 4 if not out else 0))
                    messages = count if count is not None else messages
                u = fact.usage
                req = Req(MAIN, fact.ts, fact.model, u.tokens, u.billed, u.web_search, u.web_fetch,
                          u.service_tier, u.speed)  # fmt: skip
                out.append(Sent(req, Piece("assistant", "answer", "", 0), fact.key))
    return out
