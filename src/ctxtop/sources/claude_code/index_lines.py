"""A transcript line's index facts straight from its bytes: a narrow msgspec schema instead of a full decode.

The index needs only what ``transcript.parse_claude`` makes of a line's top-level fields, its
``message.id/model/usage`` and its compact boundary: never the message's content (tool calls and results are
read on demand for one session). ``IndexLines.facts`` decodes just those fields (the rest of the line is
validated and skipped in C) and builds the same ``Meta`` and ``CompactRecord`` facts ``parse_claude``
would, in the same order, and its ``RequestRecord`` directly as the flat row the index stores
(``records.flat_request`` of it).

It never guesses: a line whose fields are not of the plain types the schema names (a number where a string
goes, a float or boolean token count, a count out of range, no ``type``, a lone surrogate...) returns None,
and the caller decodes it with the one decoder and ``parse_claude``, which has the last word on every odd
line. ``tests/sources/claude_code/test_index_lines.py`` checks both give the same facts on every marker
line of the fixtures and the corpus, and on mutated lines.
"""

from __future__ import annotations

from typing import Annotated  # only a big read loads this module

import msgspec

from ctxtop.core.records import MAIN, CompactRecord, FileContext, FlatRequest, Meta, Parsed, parse_ts
from ctxtop.core.usage import MAX_TOKENS

_Count = Annotated[int, msgspec.Meta(ge=0, le=MAX_TOKENS)] | None
"""A token count as ``core.usage`` reads it, range-checked in C: out of range, the line is declined (a wider
integer becomes a float in the caller's decoder, and 0)."""


class _CacheCreation(msgspec.Struct, gc=False):
    ephemeral_1h_input_tokens: _Count = None
    ephemeral_5m_input_tokens: _Count = None


class _ServerTools(msgspec.Struct, gc=False):
    web_search_requests: _Count = None
    web_fetch_requests: _Count = None


class _Pass(msgspec.Struct, gc=False):
    """One ``usage.iterations`` entry: only its tokens count (its own iterations are ignored)."""

    type: str | None = None
    input_tokens: _Count = None
    output_tokens: _Count = None
    cache_read_input_tokens: _Count = None
    cache_creation_input_tokens: _Count = None
    cache_creation: _CacheCreation | None = None


class _Usage(msgspec.Struct, gc=False):
    input_tokens: _Count = None
    output_tokens: _Count = None
    cache_read_input_tokens: _Count = None
    cache_creation_input_tokens: _Count = None
    cache_creation: _CacheCreation | None = None
    server_tool_use: _ServerTools | None = None
    iterations: list[_Pass] | None = None
    service_tier: str | None = None
    speed: str | None = None


class _Message(msgspec.Struct, gc=False):
    id: str | None = None
    model: str | None = None
    usage: _Usage | None = None


class _CompactMetadata(msgspec.Struct, gc=False):
    preTokens: _Count = None
    postTokens: _Count = None
    trigger: str | None = None


class _Line(msgspec.Struct, gc=False):
    type: str | None = None
    timestamp: str | None = None
    isSidechain: bool | None = None
    agentId: str | None = None
    cwd: str | None = None
    gitBranch: str | None = None
    version: str | None = None
    sessionId: str | None | msgspec.UnsetType = msgspec.UNSET
    session_id: str | None | msgspec.UnsetType = msgspec.UNSET
    requestId: str | None = None
    subtype: str | None = None
    message: _Message | None = None
    compactMetadata: _CompactMetadata | None = None


_decode = msgspec.json.Decoder(_Line).decode
_Invalid = (msgspec.DecodeError, msgspec.ValidationError, RecursionError)


def _tokens(u: _Usage | _Pass) -> tuple[int, int, int, int, int]:
    """``core.usage.parse_usage``'s ``Tokens`` as (input, output, cache_read, cache_write_5m, cache_write_1h)."""
    cache_write = u.cache_creation_input_tokens or 0
    write_1h = 0
    detail = u.cache_creation
    if detail is not None:
        write_1h = detail.ephemeral_1h_input_tokens or 0
        if cache_write == 0:
            cache_write = write_1h + (detail.ephemeral_5m_input_tokens or 0)
        elif write_1h > cache_write:
            write_1h = cache_write
    return (
        u.input_tokens or 0,
        u.output_tokens or 0,
        u.cache_read_input_tokens or 0,
        cache_write - write_1h,
        write_1h,
    )


def _request(key: str, ctx: FileContext, chain: str, ts: float, model: str, u: _Usage) -> FlatRequest:
    """What ``flat_request`` makes of the ``RequestRecord`` ``parse_claude`` would build."""
    t = _tokens(u)
    b = t
    if u.iterations is not None:
        # Server-side compaction passes: billed on top of the top-level counts (``Usage.compaction``).
        for item in u.iterations:
            if item.type is not None and item.type != "message":
                p = _tokens(item)
                b = (b[0] + p[0], b[1] + p[1], b[2] + p[2], b[3] + p[3], b[4] + p[4])
    web_search = web_fetch = 0
    server = u.server_tool_use
    if server is not None:
        web_search, web_fetch = server.web_search_requests or 0, server.web_fetch_requests or 0
    return (
        key, ctx.session_id, chain, ts, model, *t, *b, web_search, web_fetch,
        u.service_tier or None, u.speed or None, int(chain.startswith("acompact")), sum(b), 0,
    )  # fmt: skip


def index_facts(
    raw: bytes | memoryview, ctx: FileContext, line_key: str
) -> tuple[list[Parsed | FlatRequest], str | None] | None:
    """The index facts of one transcript line and the session its ``sessionId`` names; None when the line is
    not plainly typed (decode it fully and ask ``parse_claude``)."""
    try:
        line = _decode(raw)
    except _Invalid:
        return None
    kind = line.type
    if kind is None:
        return None  # parse_claude reads such a line by whether its message has a usage key
    ts = parse_ts(line.timestamp)
    out: list[Parsed | FlatRequest] = []
    if ts is None:
        return out, _named(line)
    chain = ctx.chain
    if chain == MAIN and line.isSidechain is True:
        agent = line.agentId
        chain = f"sidechain-{agent}" if agent else "sidechain"
    cwd = line.cwd
    if cwd is not None and (chain == MAIN or ctx.chain != MAIN):
        out.append(
            Meta(ctx.session_id, ts, cwd, line.gitBranch or None, line.version, fallback=ctx.chain != MAIN)
        )
    message = line.message
    if kind == "assistant":
        if message is not None and message.usage is not None:
            mid, rid = message.id, line.requestId
            key = f"{mid}:{rid}" if mid and rid else f"line:{line_key}"
            out.append(_request(key, ctx, chain, ts, message.model or "unknown", message.usage))
    elif kind == "system" and line.subtype == "compact_boundary":
        meta = line.compactMetadata
        if meta is None:
            out.append(CompactRecord(ctx.session_id, chain, ts, "unknown", 0, None))
        else:
            post = meta.postTokens
            out.append(
                CompactRecord(
                    ctx.session_id,
                    chain,
                    ts,
                    meta.trigger if meta.trigger is not None else "unknown",
                    meta.preTokens or 0,
                    post,
                )
            )
    if not out:
        return None  # its only facts may be tool calls or results, whose time parse_claude counts
    return out, _named(line)


def _named(line: _Line) -> str | None:
    """The session the record names: ``sessionId``, else ``session_id`` (as ``obj.get`` would pick)."""
    named = line.sessionId
    if named is msgspec.UNSET:
        named = line.session_id
    return None if named is msgspec.UNSET else named
