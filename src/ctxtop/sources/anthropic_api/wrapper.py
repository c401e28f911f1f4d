"""Instrument an ``anthropic.Anthropic`` or ``AsyncAnthropic`` client: one log record per Messages request.

How: the SDK gives every resource instance its own bound ``_post`` (copied from the client), and every
Messages call — ``create`` (plain or ``stream=True``), ``stream()``, ``parse()`` and ``with_raw_response`` —
sends through it. We replace that attribute on ``client.messages`` and ``client.beta.messages`` only, so the
public methods keep their signatures, return the very objects the SDK builds and raise its exceptions
unchanged. Streams are observed by wrapping the ``Stream``'s event iterator; their record is written when
the stream ends (or is dropped) with the usage accumulated from ``message_start`` and ``message_delta``.

``with_streaming_response`` is recorded when the caller calls ``parse()`` (reading the body ourselves would
take it from the caller; ``iter_lines()`` alone leaves no record). Not covered: batches (``batch`` is always
false here) and copies made by ``client.with_options()``; monitor those copies separately if needed.
"""

from __future__ import annotations

import time
import uuid
import weakref
from collections.abc import Callable, Generator, Mapping
from pathlib import Path
from typing import Any, TypeVar

import anthropic

from ctxtop.sources.anthropic_api.budget import ApiBudget, BudgetExceeded
from ctxtop.sources.anthropic_api.compaction import CompactionPolicy
from ctxtop.sources.anthropic_api.session import ApiSession, PreparedCall

MESSAGES_PATH = "/v1/messages"
SESSION_ATTR = "_ctxtop_session"
_RAW_HEADER = "x-stainless-raw-response"

ClientT = TypeVar("ClientT")


def instrument(
    client: ClientT,
    *,
    session_id: str | None = None,
    log_dir: Path | str | None = None,
    compact: CompactionPolicy | None = None,
    budget: ApiBudget | None = None,
) -> ClientT:
    """Patch ``client`` in place and return it. Monitoring an already monitored client changes nothing."""
    if getattr(client, SESSION_ATTR, None) is not None:
        return client
    if budget is not None:
        budget.limits()  # a bad value is the caller's to fix now, not a silent no-limit later
    if not isinstance(client, anthropic.Anthropic | anthropic.AsyncAnthropic):
        raise TypeError(f"expected anthropic.Anthropic or AsyncAnthropic, got {type(client).__name__}")
    custom = getattr(client, "_custom_headers", {}) or {}
    default_beta = next((v for k, v in custom.items() if k.lower() == "anthropic-beta"), None)
    session = ApiSession(
        session_id or str(uuid.uuid4()),
        log_dir,
        compact,
        default_beta=default_beta if isinstance(default_beta, str) else None,
        omitted=(anthropic.Omit, anthropic.NotGiven),
        budget=budget,
    )
    wrap = _async_post if isinstance(client, anthropic.AsyncAnthropic) else _sync_post
    for resource, beta in ((client.messages, False), (client.beta.messages, True)):
        resource._post = wrap(resource._post, session, beta)
    setattr(client, SESSION_ATTR, session)
    return client


# -- reading responses --------------------------------------------------------------------------------------
def _dump(model: Any) -> dict[str, Any] | None:
    if model is None:
        return None
    return model.model_dump(mode="json", exclude_none=False)


def _compaction(call: PreparedCall, triggered: bool) -> dict[str, Any] | None:
    """The compaction field of the main request's record: server-side only (client-side is on the summariser)."""
    if call.compaction is None or call.compaction.get("kind") != "server":
        return None
    return dict(call.compaction, triggered=triggered)


def _iterated_compaction(usage: Mapping[str, Any] | None) -> bool:
    iterations = (usage or {}).get("iterations") or []
    return any(isinstance(it, Mapping) and it.get("type") == "compaction" for it in iterations)


def _record_message(session: ApiSession, call: PreparedCall, message: Any, request_id: str | None) -> None:
    usage = _dump(getattr(message, "usage", None))
    blocks = {getattr(b, "type", None) for b in getattr(message, "content", None) or []}
    session.record(
        call,
        usage=usage,
        model=getattr(message, "model", None),
        message_id=getattr(message, "id", None),
        request_id=request_id or getattr(message, "_request_id", None),
        compaction=_compaction(call, "compaction" in blocks or _iterated_compaction(usage)),
    )


class _StreamWatch:
    """Accumulates a stream's usage the way the SDK's own snapshot does, and writes its record once."""

    def __init__(self, session: ApiSession, call: PreparedCall, request_id: str | None) -> None:
        self.session, self.call, self.request_id = session, call, request_id
        self.usage: dict[str, Any] | None = None
        self.model: str | None = None
        self.message_id: str | None = None
        self.compaction_block = False
        self.done = False

    def feed(self, event: Any) -> None:
        kind = getattr(event, "type", None)
        if kind == "message_start":
            self.usage = _dump(event.message.usage)
            self.model, self.message_id = event.message.model, event.message.id
        elif kind == "message_delta" and self.usage is not None and event.usage is not None:
            # Delta counts are cumulative totals: they overwrite; absent ones keep the message_start value.
            self.usage.update(event.usage.model_dump(mode="json", exclude_none=True))
        elif kind == "content_block_start" and getattr(event.content_block, "type", None) == "compaction":
            self.compaction_block = True

    def finish(self, error: BaseException | None = None) -> None:
        if self.done:
            return
        self.done = True
        triggered = self.compaction_block or _iterated_compaction(self.usage)
        self.session.record(
            self.call,
            usage=self.usage,
            model=self.model,
            message_id=self.message_id,
            request_id=self.request_id,
            error=error,
            compaction=_compaction(self.call, triggered),
        )


def _watch(stream: Any, session: ApiSession, call: PreparedCall, is_async: bool) -> Any:
    watch = _StreamWatch(session, call, stream.response.headers.get("request-id"))
    original = stream._iterator
    # The generators refer to the watch, never to the stream: no reference cycle keeps a dropped stream alive.
    stream._iterator = _aobserve(original, watch) if is_async else _observe(original, watch)
    # Closing early (``with`` exit, ``close()``) ends the request: record it then, with the usage so far. The
    # wrapper holds the stream weakly, again to avoid a cycle.
    stream_ref, close = weakref.ref(stream), type(stream).close
    if is_async:

        async def aclose() -> None:
            try:
                if (alive := stream_ref()) is not None:
                    await close(alive)
            finally:
                watch.finish()

        stream.close = aclose
    else:

        def sclose() -> None:
            try:
                if (alive := stream_ref()) is not None:
                    close(alive)
            finally:
                watch.finish()

        stream.close = sclose
    # A stream that is never iterated nor closed still made a request: record it when it goes away.
    weakref.finalize(stream, watch.finish)
    return stream


def _observe(events: Any, watch: _StreamWatch) -> Any:
    try:
        for event in events:
            watch.feed(event)
            yield event
    except GeneratorExit:
        raise
    except BaseException as exc:
        watch.finish(exc)
        raise
    finally:
        watch.finish()


async def _aobserve(events: Any, watch: _StreamWatch) -> Any:
    try:
        async for event in events:
            watch.feed(event)
            yield event
    except GeneratorExit:
        raise
    except BaseException as exc:
        watch.finish(exc)
        raise
    finally:
        watch.finish()


def _raw_mode(call: PreparedCall) -> str | None:
    headers = (call.kwargs.get("options") or {}).get("headers") or {}
    return next((v for k, v in headers.items() if k.lower() == _RAW_HEADER), None)


def _summary_text(message: Any) -> str:
    return "".join(getattr(b, "text", "") for b in message.content if getattr(b, "type", None) == "text")


# -- the patched _post ----------------------------------------------------------------------------------------
Step = tuple[str, Any]
"""What the flow asks its driver to run: ("post", kwargs) -> ``original(path, **kwargs)``, ("parse", raw)
-> ``raw.parse()``; the sync driver calls it, the async one awaits it."""


def _flow(
    session: ApiSession, beta: bool, path: str, kwargs: dict[str, Any], is_async: bool
) -> Generator[Step, Any, Any]:
    """One Messages request through ctxtop, for both clients: yields the steps to run, is sent their results
    (or has their exception thrown in) and returns what the caller gets."""
    if path != MESSAGES_PATH or not isinstance(kwargs.get("body"), Mapping):
        return (yield ("post", kwargs))
    try:
        force = session.check_budget()
    except BudgetExceeded:
        raise  # reaches the caller: nothing was sent
    except Exception:
        force = False
    try:
        call = session.prepare(kwargs, beta=beta, force_compact=force)
    except Exception:
        return (yield ("post", kwargs))  # a bug of ours must never cost the caller a request
    if call.summariser is not None:
        sub = session.summariser_call(call)
        try:
            summary = yield ("post", sub.kwargs)
        except Exception as exc:  # fail open: send the request uncompacted
            session.record(sub, usage=None, error=exc, request_id=getattr(exc, "request_id", None),
                           compaction=call.compaction, main=False)  # fmt: skip
        else:
            _record_summariser(session, sub, call, summary)
    call.started = time.perf_counter()
    try:
        result = yield ("post", call.kwargs)
    except BaseException as exc:
        session.record(call, usage=None, error=exc, request_id=getattr(exc, "request_id", None),
                       compaction=_compaction(call, False))  # fmt: skip
        raise
    stream = anthropic.AsyncStream if is_async else anthropic.Stream
    if isinstance(result, stream):
        return _watch(result, session, call, is_async=is_async)
    if hasattr(result, "usage"):
        _record_message(session, call, result, None)
    elif _raw_mode(call) == "raw" and hasattr(result, "parse"):
        # with_raw_response: parse() caches its result, so the caller gets the very object we observed.
        try:
            parsed = yield ("parse", result)
        except Exception:
            return result  # the caller's own parse() will raise it where they expect it
        if isinstance(parsed, stream):
            _watch(parsed, session, call, is_async=is_async)
        else:
            _record_message(session, call, parsed, result.request_id)
    elif _raw_mode(call) == "stream" and hasattr(result, "parse"):
        _observe_parse(result, session, call, is_async=is_async)
    return result


def _sync_post(original: Callable[..., Any], session: ApiSession, beta: bool) -> Callable[..., Any]:
    def post(path: str, **kwargs: Any) -> Any:
        flow = _flow(session, beta, path, kwargs, is_async=False)
        try:
            step = next(flow)
            while True:
                try:
                    value = original(path, **step[1]) if step[0] == "post" else step[1].parse()
                except BaseException as exc:
                    step = flow.throw(exc)
                else:
                    step = flow.send(value)
        except StopIteration as done:
            return done.value

    return post


def _async_post(original: Callable[..., Any], session: ApiSession, beta: bool) -> Callable[..., Any]:
    async def post(path: str, **kwargs: Any) -> Any:
        flow = _flow(session, beta, path, kwargs, is_async=True)
        try:
            step = next(flow)
            while True:
                try:
                    value = await (original(path, **step[1]) if step[0] == "post" else step[1].parse())
                except BaseException as exc:
                    step = flow.throw(exc)
                else:
                    step = flow.send(value)
        except StopIteration as done:
            return done.value

    return post


def _observe_parse(response: Any, session: ApiSession, call: PreparedCall, is_async: bool) -> None:
    """with_streaming_response: the body is the caller's to read, so observe it only through ``parse()``."""
    response_ref, parse = weakref.ref(response), type(response).parse
    done = False

    def observe(parsed: Any, request_id: str | None) -> Any:
        nonlocal done
        if done:
            return parsed  # parse() is cached: the same object again
        if isinstance(parsed, (anthropic.Stream, anthropic.AsyncStream)):
            done = True
            _watch(parsed, session, call, is_async=is_async)
        elif hasattr(parsed, "usage"):
            done = True
            _record_message(session, call, parsed, request_id)
        return parsed

    if is_async:

        async def aparse(**kwargs: Any) -> Any:
            alive = response_ref()
            assert alive is not None  # called as response.parse(): the response is alive
            return observe(await parse(alive, **kwargs), alive.request_id)

        response.parse = aparse
    else:

        def sparse(**kwargs: Any) -> Any:
            alive = response_ref()
            assert alive is not None  # called as response.parse(): the response is alive
            return observe(parse(alive, **kwargs), alive.request_id)

        response.parse = sparse


def _record_summariser(session: ApiSession, sub: PreparedCall, call: PreparedCall, message: Any) -> None:
    usage = _dump(getattr(message, "usage", None))
    session.record(
        sub,
        usage=usage,
        model=getattr(message, "model", None),
        message_id=getattr(message, "id", None),
        request_id=getattr(message, "_request_id", None),
        compaction=call.compaction,
        main=False,
    )
    text = _summary_text(message)
    if text.strip():
        session.apply_summary(call, text)
