"""API session-log lines (the schema in ``ctxtop.sources.anthropic_api.log``) -> the facts ctxtop accounts for.

Kept apart from ``log`` (the writer and reader of ``ctxtop.api``), so that indexing pays for nothing else.
"""

from __future__ import annotations

from ctxtop.core.records import MAIN, CompactRecord, FileContext, Meta, Parsed, RequestRecord, count, parse_ts
from ctxtop.core.usage import Usage, parse_usage

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: importing typing costs the statusline ~5 ms
if TYPE_CHECKING:
    from typing import Any


def _api_compaction(obj: dict, session_id: str, ts: float, usage: Usage) -> CompactRecord | None:
    """A compaction recorded by ``ctxtop.api``: server-side (triggered) or the client-side summariser call."""
    info = obj.get("compaction")
    if not isinstance(info, dict):
        return None
    kind = info.get("kind")
    if kind == "server" and info.get("triggered") is True:
        return CompactRecord(session_id, MAIN, ts, "server", usage.compaction.prompt, usage.tokens.prompt)
    if kind == "client":
        return CompactRecord(session_id, MAIN, ts, "client", count(info.get("pre_tokens")), None)
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
