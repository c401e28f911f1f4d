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

from collections.abc import Callable
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
_NOBODY = object()
"""A ``file_session`` no line names."""
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


def _request(key: str, session: str, chain: str, ts: float, model: str, u: _Usage) -> FlatRequest:
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
        key, session, chain, ts, model, *t, *b, web_search, web_fetch,
        u.service_tier or None, u.speed or None, int(chain.startswith("acompact")), sum(b), 0,
    )  # fmt: skip


def index_facts(
    raw: bytes | memoryview, ctx: FileContext, line_key: str
) -> tuple[list[Parsed | FlatRequest], str | None] | None:
    """The index facts of one transcript line and the session its ``sessionId`` names; None when the line is
    not plainly typed (decode it fully and ask ``parse_claude``). ``index_block`` of a one-line block."""
    requests: list[FlatRequest] = []
    metas: dict[str, Meta] = {}
    compacts: list[tuple] = []
    named: set[str] = set()
    names: list[str | None] = []
    done, _ = index_block(ctx, raw, [(0, len(raw))], 0, "", lambda _start: line_key,
                          requests, metas, compacts, named, _NOBODY, names)  # fmt: skip
    if done == 0:
        return None
    out: list[Parsed | FlatRequest] = [*metas.values(), *requests]
    out += [CompactRecord(c[0], c[1], c[2], c[3], c[4], c[5]) for c in compacts]
    return out, names[0] if names else None


def index_block(
    ctx: FileContext,
    block: bytes | memoryview,
    spans: list[tuple[int, int]],
    at: int,
    spath: str,
    line_key: Callable[[int], str],
    requests: list[FlatRequest],
    metas: dict[str, Meta],
    compacts: list[tuple],
    named: set[str],
    file_session: object,
    names: list[str | None] | None = None,
) -> tuple[int, float | None]:
    """The index facts of the lines ``block[start:end]`` of a file of context ``ctx``, for each (start, end)
    of ``spans`` from ``at`` on, straight into the index's containers, in order, until a line this decoder
    does not settle.

    Per line, as ``index.parse_lines`` would take ``parse_claude``'s facts: its ``Meta`` kept in ``metas``
    when it is the session's latest; its request appended to ``requests`` as a ``FlatRequest`` (its key
    added to ``named`` when the line's ``sessionId`` is ``file_session``); its compact boundary appended to
    ``compacts`` as (session, chain, ts, trigger, pre, post, ``spath``). ``line_key(start)``: the key of a
    request without message and request ids. ``names`` (tests): each line's ``sessionId`` is appended.

    Returns the index of the first span not taken (``len(spans)`` when all were: the caller decodes that
    line fully, asks ``parse_claude``, and calls again from the next) and the earliest time of the facts
    taken (None if none)."""
    decode = _decode
    session = ctx.session_id
    file_chain = ctx.chain
    in_main = file_chain == MAIN
    first: float | None = None
    n = len(spans)
    while at < n:
        start, end = spans[at]
        try:
            line = decode(block[start:end])
        except _Invalid:
            return at, first
        kind = line.type
        if kind is None:
            return at, first  # parse_claude reads such a line by whether its message has a usage key
        ts = parse_ts(line.timestamp)
        if ts is None:
            if names is not None:
                names.append(_named(line))
            at += 1
            continue  # no facts
        chain = file_chain
        if in_main and line.isSidechain is True:
            agent = line.agentId
            chain = f"sidechain-{agent}" if agent else "sidechain"
        cwd = line.cwd
        meta = cwd is not None and (chain == MAIN or not in_main)
        request: FlatRequest | None = None
        compact: tuple | None = None
        if kind == "assistant":
            message = line.message
            if message is not None and message.usage is not None:
                mid, rid = message.id, line.requestId
                key = f"{mid}:{rid}" if mid and rid else f"line:{line_key(start)}"
                request = _request(key, session, chain, ts, message.model or "unknown", message.usage)
        elif kind == "system" and line.subtype == "compact_boundary":
            c = line.compactMetadata
            if c is None:
                compact = (session, chain, ts, "unknown", 0, None, spath)
            else:
                trigger = c.trigger if c.trigger is not None else "unknown"
                compact = (session, chain, ts, trigger, c.preTokens or 0, c.postTokens, spath)
        if not meta and request is None and compact is None:
            return at, first  # its only facts may be tool calls or results, whose time parse_claude counts
        if first is None or ts < first:
            first = ts
        if meta:
            prev = metas.get(session)
            if prev is None or ts >= prev.ts:
                metas[session] = Meta(
                    session, ts, cwd, line.gitBranch or None, line.version, fallback=not in_main
                )
        if request is not None:
            requests.append(request)
            if _named(line) == file_session:
                named.add(request[0])
        elif compact is not None:
            compacts.append(compact)
        if names is not None:
            names.append(_named(line))
        at += 1
    return at, first


def _named(line: _Line) -> str | None:
    """The session the record names: ``sessionId``, else ``session_id`` (as ``obj.get`` would pick)."""
    named = line.sessionId
    if named is msgspec.UNSET:
        named = line.session_id
    return None if named is msgspec.UNSET else named
