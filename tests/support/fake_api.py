"""A scripted fake Anthropic Messages API on 127.0.0.1, for tests that drive real clients.

It speaks enough of the API for Claude Code 2.1.197 and the official ``anthropic`` Python SDK:
``POST /v1/messages`` (streaming SSE and plain JSON), ``POST /v1/messages/count_tokens``; any other request
gets a quick JSON 404 and is logged. Nothing here ever talks to a real endpoint.

Use the ``fake_api`` fixture (import it into a conftest or test module)::

    from tests.support.fake_api import FakeAPI, Usage, bash, fake_api, text  # noqa: F401  (fixture import)

    def test_something(fake_api: FakeAPI) -> None:
        fake_api.script([bash("ls"), text("done", usage=Usage(output_tokens=10))], side_requests=False)
        client = anthropic.Anthropic(base_url=fake_api.url, api_key="dummy", max_retries=0)
        ...                                                    # one script step per messages call
        assert fake_api.main[0].body["model"] == "claude-opus-4-8"   # the JSON the client sent
        assert fake_api.main[1].usage.output_tokens == 10             # the usage the server reported

Views: ``requests`` (everything), ``messages`` (every ``/v1/messages`` call), ``main``, ``compactions``,
``reported_usage()`` (one ``Usage`` per successful answer), ``unknown()`` (paths it does not implement).
Each ``RecordedRequest`` has ``body``, ``headers``, ``kind``, ``reply``, ``usage``, ``message_id``,
``request_id`` (also sent as the ``request-id`` header), ``time``, ``last_user_text()`` and ``all_text()``.
``FakeAPI()`` can also be used without pytest as a context manager.

The server (``FakeAPI``) records every request (``requests``: method, path, headers, JSON body, the kind it
was classified as, and the reply it got). Requests to ``/v1/messages`` are classified as:

- ``"compact"``: Claude Code's summariser request (its compaction prompt is in the last user message);
  answered with ``summary`` text, never consumes a script step, and resets growing usage (see below).
- ``"main"``: any other request carrying ``tools`` or, for plain SDK tests, any request at all when
  ``script(..., side_requests=False)``; each consumes one script step.
- ``"side"``: other Claude Code calls without tools (e.g. title generation): a short text reply.

A script is a list of ``Reply``/``ApiError`` steps (built with ``text``, ``tool``, ``bash``, ``todo_write``,
``task_create``, ``task_update``, ``read``, ``edit``, ``write``, ``error``, ``prompt_too_long``) or a callable
``(RecordedRequest) -> Reply | ApiError``. When a list runs out the server answers ``text("Done.")`` so the
client ends its turn.

Usage: a step may carry its own ``Usage``. Otherwise ``usage`` decides: ``FixedUsage`` (default, small
numbers) or ``GrowingUsage(start, step)``, which reports a context that grows by ``step`` tokens per main call
the way the real API does with prompt caching: ``cache_read`` = the previous call's prompt, the new part is a
cache write split 80% 1h / 20% 5m, ``input_tokens`` a small uncached tail. After a compaction the context
restarts at ``after_compact``. ``GrowingUsage(limit=N)`` answers 400 "prompt is too long" whenever the prompt
would exceed N (like the real API on an over-full window) without consuming a step.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

# Claude Code's compaction prompt ("Your task is to create a detailed summary of the conversation so far ...").
COMPACT_MARKERS = ("create a detailed summary of the conversation", "summary of the conversation so far")
# Wrapped in <analysis>/<summary> as the real model answers: Claude Code 2.1.332 asks again when the reply
# has no <summary> block (2.1.197 takes any text).
DEFAULT_SUMMARY = (
    "<analysis>The scripted session.</analysis>\n<summary>\n"
    "1. Primary Request and Intent:\n   The user asked for a multi-step task in the scratch project.\n"
    "2. Pending Tasks:\n   - Finish the remaining steps.\n3. Current Work:\n   Running the scripted steps.\n"
    "</summary>"
)


@dataclass
class Usage:
    """Token usage of one response, as the API reports it."""

    input_tokens: int = 10
    output_tokens: int = 20
    cache_read_input_tokens: int = 0
    cache_creation_5m: int = 0
    cache_creation_1h: int = 0

    @property
    def cache_creation_input_tokens(self) -> int:
        return self.cache_creation_5m + self.cache_creation_1h

    @property
    def prompt_tokens(self) -> int:
        """Everything the model read: input + cache read + cache write."""
        return self.input_tokens + self.cache_read_input_tokens + self.cache_creation_input_tokens

    def to_json(self, *, output_tokens: int | None = None) -> dict[str, Any]:
        return {
            "input_tokens": self.input_tokens,
            "cache_creation_input_tokens": self.cache_creation_input_tokens,
            "cache_read_input_tokens": self.cache_read_input_tokens,
            "cache_creation": {
                "ephemeral_5m_input_tokens": self.cache_creation_5m,
                "ephemeral_1h_input_tokens": self.cache_creation_1h,
            },
            "output_tokens": self.output_tokens if output_tokens is None else output_tokens,
            "server_tool_use": {"web_search_requests": 0, "web_fetch_requests": 0},
            "service_tier": "standard",
        }


@dataclass
class Reply:
    """One model response: optional text, then zero or more tool calls."""

    text: str | None = None
    tool_calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    usage: Usage | None = None
    stop_reason: str | None = None  # default: tool_use when there are tool calls, else end_turn


@dataclass
class ApiError:
    """An HTTP error answer in the API's error shape."""

    status: int = 400
    message: str = "error"
    type: str = "invalid_request_error"


def text(value: str, usage: Usage | None = None) -> Reply:
    return Reply(text=value, usage=usage)


def tool(name: str, input: dict[str, Any], text: str | None = None, usage: Usage | None = None) -> Reply:
    return Reply(text=text, tool_calls=[(name, input)], usage=usage)


def bash(command: str, description: str = "Run a command", usage: Usage | None = None) -> Reply:
    return tool("Bash", {"command": command, "description": description}, usage=usage)


def todo_write(todos: Sequence[tuple[str, str]], usage: Usage | None = None) -> Reply:
    """TodoWrite with (content, status) pairs; status is pending|in_progress|completed."""
    items = [{"content": c, "status": s, "activeForm": c} for c, s in todos]
    return tool("TodoWrite", {"todos": items}, usage=usage)


def task_create(subject: str, description: str = "", usage: Usage | None = None) -> Reply:
    return tool(
        "TaskCreate",
        {"subject": subject, "description": description or subject, "activeForm": subject},
        usage=usage,
    )


def task_update(task_id: str, status: str, usage: Usage | None = None) -> Reply:
    """TaskUpdate of Claude Code 2.1 (ids are "1", "2", ... in creation order)."""
    return tool("TaskUpdate", {"taskId": task_id, "status": status}, usage=usage)


def read(path: str, usage: Usage | None = None) -> Reply:
    return tool("Read", {"file_path": path}, usage=usage)


def edit(path: str, old: str, new: str, usage: Usage | None = None) -> Reply:
    return tool("Edit", {"file_path": path, "old_string": old, "new_string": new}, usage=usage)


def write(path: str, content: str, usage: Usage | None = None) -> Reply:
    return tool("Write", {"file_path": path, "content": content}, usage=usage)


def error(status: int, message: str, type: str = "invalid_request_error") -> ApiError:
    return ApiError(status, message, type)


def prompt_too_long(tokens: int = 210_000, maximum: int = 200_000) -> ApiError:
    return ApiError(400, f"prompt is too long: {tokens} tokens > {maximum} maximum")


@dataclass
class FixedUsage:
    """Every response reports the same small usage unless its step carries one."""

    usage: Usage = field(default_factory=Usage)
    limit: int | None = None  # never exceeded: no planned prompt

    def planned_prompt(self) -> int:
        return 0

    def next(self, kind: str) -> Usage:
        return Usage(**vars(self.usage))

    def reset(self) -> None:
        pass


@dataclass
class GrowingUsage:
    """A context that grows by ``step`` tokens per main call, with cache reads of the previous prompt."""

    start: int = 20_000  # prompt of the first call (system prompt + tools + first message)
    step: int = 5_000
    output_tokens: int = 50
    input_tokens: int = 6  # the uncached tail, as small as in real Claude Code sessions
    share_1h: float = 0.8  # share of each cache write that is 1h (Claude Code caches with ttl 1h mostly)
    after_compact: int | None = None  # prompt of the first call after a compaction (default start + 4000)
    limit: int | None = None  # answer "prompt is too long" when the next prompt would exceed this
    summary_output_tokens: int = 900
    previous_prompt: int = 0  # the prompt of the last main call (0: none yet)
    _compacted: bool = False

    def planned_prompt(self) -> int:
        """The prompt size the next main call will report."""
        if self._compacted:
            return self.after_compact or self.start + 4_000
        return self.previous_prompt + self.step if self.previous_prompt else self.start

    def next(self, kind: str) -> Usage:
        if kind == "compact":
            # The summariser reads the whole cached conversation and writes a summary.
            return Usage(self.input_tokens, self.summary_output_tokens, self.previous_prompt, 0, 0)
        if kind == "side":
            return Usage(input_tokens=200, output_tokens=10)
        prompt = self.planned_prompt()
        # After a compaction only the system prompt and tools are still cached; else the previous prompt.
        cache_read = min(self.start, prompt - self.input_tokens) if self._compacted else self.previous_prompt
        self._compacted = False
        cache_write = max(prompt - cache_read - self.input_tokens, 0)
        one_hour = round(cache_write * self.share_1h)
        self.previous_prompt = prompt
        return Usage(self.input_tokens, self.output_tokens, cache_read, cache_write - one_hour, one_hour)

    def reset(self) -> None:
        """A compaction happened: the next prompt is small again."""
        self._compacted = True


@dataclass
class RecordedRequest:
    """One HTTP request the server received and what it answered."""

    index: int
    method: str
    path: str
    headers: dict[str, str]
    body: Any  # parsed JSON, or None
    kind: str = "other"  # main | compact | side | count_tokens | other
    reply: Reply | ApiError | None = None
    usage: Usage | None = None  # the usage reported for it (messages only)
    message_id: str | None = None
    request_id: str | None = None
    time: float = 0.0  # time.time() when it arrived (to order it against hook logs)

    @property
    def streaming(self) -> bool:
        return isinstance(self.body, dict) and bool(self.body.get("stream"))

    def last_user_text(self) -> str:
        """Text of the last user message (all its text and tool_result blocks joined)."""
        if not isinstance(self.body, dict):
            return ""
        for message in reversed(self.body.get("messages") or []):
            if message.get("role") == "user":
                return content_text(message.get("content"))
        return ""

    def all_text(self) -> str:
        """System prompt and every message's text, joined: for "does the request contain X" checks."""
        if not isinstance(self.body, dict):
            return ""
        parts = [content_text(self.body.get("system"))]
        parts += [content_text(m.get("content")) for m in self.body.get("messages") or []]
        return "\n".join(parts)


def content_text(content: Any) -> str:
    """Flatten a message content (string or blocks, tool_result blocks included) to text."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    out = []
    for block in content:
        if not isinstance(block, dict):
            continue
        if block.get("type") == "text":
            out.append(block.get("text", ""))
        elif block.get("type") == "tool_result":
            out.append(content_text(block.get("content")))
        elif block.get("type") == "tool_use":
            out.append(json.dumps(block.get("input")))
    return "\n".join(out)


Script = Callable[[RecordedRequest], Reply | ApiError]


class FakeAPI:
    """The server. Start with ``start()`` (or use the ``fake_api`` fixture); ``url`` is its base URL."""

    def __init__(self) -> None:
        self.requests: list[RecordedRequest] = []
        self.summary = DEFAULT_SUMMARY
        self.model: str | None = None  # answer with this model name (default: the requested one)
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._steps: Iterator[Reply | ApiError] | Script = iter(())
        self._side_requests = True
        self.usage: FixedUsage | GrowingUsage = FixedUsage()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- control ------------------------------------------------------------------------------------------
    def script(
        self,
        steps: Sequence[Reply | ApiError] | Script,
        *,
        usage: FixedUsage | GrowingUsage | None = None,
        summary: str | None = None,
        side_requests: bool = True,
    ) -> None:
        """Set what the model answers. ``side_requests=False`` makes every messages call a main one."""
        with self._lock:
            self._steps = steps if callable(steps) else iter(list(steps))
            self.usage = usage or FixedUsage()
            if summary is not None:
                self.summary = summary
            self._side_requests = side_requests

    @property
    def url(self) -> str:
        assert self._server is not None, "server not started"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeAPI:
        handler = type("Handler", (_Handler,), {"api": self})
        self._server = _Server(("127.0.0.1", 0), handler)
        # A short poll interval keeps stop() (and so every test's teardown) quick.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, name="fake-api", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeAPI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- views --------------------------------------------------------------------------------------------
    def of_kind(self, *kinds: str) -> list[RecordedRequest]:
        with self._lock:
            return [r for r in self.requests if r.kind in kinds]

    @property
    def messages(self) -> list[RecordedRequest]:
        """Every ``/v1/messages`` request, in arrival order."""
        return self.of_kind("main", "compact", "side")

    @property
    def main(self) -> list[RecordedRequest]:
        return self.of_kind("main")

    @property
    def compactions(self) -> list[RecordedRequest]:
        return self.of_kind("compact")

    def reported_usage(self) -> list[Usage]:
        """The usage of every successful messages answer, one per response (what a bill would count)."""
        return [r.usage for r in self.messages if r.usage is not None]

    def unknown(self) -> list[str]:
        """``METHOD path`` of every request the server does not implement."""
        return [f"{r.method} {r.path}" for r in self.of_kind("other")]

    # -- dispatch (server threads) ------------------------------------------------------------------------
    def _classify(self, body: Any) -> str:
        if not isinstance(body, dict):
            return "side"
        messages = body.get("messages") or []
        last = next((m for m in reversed(messages) if m.get("role") == "user"), None)
        last_text = content_text(last.get("content")) if last else ""
        if any(marker in last_text for marker in COMPACT_MARKERS):
            return "compact"
        if body.get("tools") or not self._side_requests:
            return "main"
        return "side"

    def _answer(self, req: RecordedRequest) -> Reply | ApiError:
        with self._lock:
            if req.kind == "compact":
                reply: Reply | ApiError = Reply(text=self.summary, stop_reason="end_turn")
            elif req.kind == "side":
                reply = Reply(text="Scripted session", stop_reason="end_turn")
            elif self.usage.limit is not None and self.usage.planned_prompt() > self.usage.limit:
                return prompt_too_long(self.usage.planned_prompt(), self.usage.limit)
            elif callable(self._steps):
                reply = self._steps(req)
            else:
                reply = next(self._steps, None) or Reply(text="Done.")
            if isinstance(reply, Reply):
                req.usage = reply.usage or self.usage.next(req.kind)
                if req.kind == "compact":
                    self.usage.reset()
            return reply

    def _record(self, req: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(req)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients drop keep-alive connections when they exit: not worth a traceback.
        pass


class _Handler(BaseHTTPRequestHandler):
    api: FakeAPI
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet: requests are recorded instead
        pass

    def _read_body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if not raw:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            return None

    def _send(self, status: int, payload: bytes, content_type: str, request_id: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("request-id", request_id)
        self.end_headers()
        if self.command != "HEAD":  # a body after HEAD would corrupt the next response on this connection
            self.wfile.write(payload)

    def _handle(self) -> None:
        api = self.api
        body = self._read_body()
        path = self.path.split("?", 1)[0]
        req = RecordedRequest(next(api._ids), self.command, self.path, dict(self.headers), body)
        req.request_id = f"req_{uuid.uuid4().hex[:24]}"
        req.time = time.time()
        api._record(req)
        if self.command == "POST" and path == "/v1/messages":
            req.kind = api._classify(body)
            reply = api._answer(req)
            req.reply = reply
            if isinstance(reply, ApiError):
                err = {"type": "error", "error": {"type": reply.type, "message": reply.message}}
                self._send(reply.status, json.dumps(err).encode(), "application/json", req.request_id)
                return
            model = api.model or (body or {}).get("model") or "claude-sonnet-4-5"
            message, blocks = _message(reply, model, req)
            if req.streaming:
                self._send(200, _sse(message, blocks, reply), "text/event-stream", req.request_id)
            else:
                message["content"] = blocks
                self._send(200, json.dumps(message).encode(), "application/json", req.request_id)
        elif self.command == "POST" and path == "/v1/messages/count_tokens":
            req.kind = "count_tokens"
            tokens = max(1, len(json.dumps(body)) // 4)
            self._send(200, json.dumps({"input_tokens": tokens}).encode(), "application/json", req.request_id)
        else:
            err = {"type": "error", "error": {"type": "not_found_error", "message": f"no {self.path}"}}
            self._send(404, json.dumps(err).encode(), "application/json", req.request_id)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _handle


def _message(reply: Reply, model: str, req: RecordedRequest) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    assert req.usage is not None
    req.message_id = f"msg_{uuid.uuid4().hex[:24]}"
    blocks: list[dict[str, Any]] = []
    if reply.text:
        blocks.append({"type": "text", "text": reply.text})
    for name, tool_input in reply.tool_calls:
        blocks.append(
            {"type": "tool_use", "id": f"toolu_{uuid.uuid4().hex[:24]}", "name": name, "input": tool_input}
        )
    stop = reply.stop_reason or ("tool_use" if reply.tool_calls else "end_turn")
    message = {
        "id": req.message_id,
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [],
        "stop_reason": stop,
        "stop_sequence": None,
        "usage": req.usage.to_json(),
    }
    return message, blocks


def _sse(message: dict[str, Any], blocks: list[dict[str, Any]], reply: Reply) -> bytes:
    """The event stream of one response; usage in message_start (output 1) and final in message_delta."""
    usage = message["usage"]
    start = dict(message, stop_reason=None, usage=dict(usage, output_tokens=1))
    events: list[tuple[str, dict[str, Any]]] = [
        ("message_start", {"type": "message_start", "message": start})
    ]
    events.append(("ping", {"type": "ping"}))
    for i, block in enumerate(blocks):
        if block["type"] == "text":
            events.append(
                (
                    "content_block_start",
                    {
                        "type": "content_block_start",
                        "index": i,
                        "content_block": {"type": "text", "text": ""},
                    },
                )
            )
            body = block["text"]
            for chunk in (body[j : j + 200] for j in range(0, len(body), 200)):
                events.append(
                    (
                        "content_block_delta",
                        {
                            "type": "content_block_delta",
                            "index": i,
                            "delta": {"type": "text_delta", "text": chunk},
                        },
                    )
                )
        else:
            head = {"type": "tool_use", "id": block["id"], "name": block["name"], "input": {}}
            events.append(
                ("content_block_start", {"type": "content_block_start", "index": i, "content_block": head})
            )
            raw = json.dumps(block["input"])
            for chunk in (raw[j : j + 64] for j in range(0, len(raw), 64)):
                events.append(
                    (
                        "content_block_delta",
                        {
                            "type": "content_block_delta",
                            "index": i,
                            "delta": {"type": "input_json_delta", "partial_json": chunk},
                        },
                    )
                )
        events.append(("content_block_stop", {"type": "content_block_stop", "index": i}))
    final = {
        k: usage[k]
        for k in (
            "input_tokens",
            "cache_creation_input_tokens",
            "cache_read_input_tokens",
            "output_tokens",
            "server_tool_use",
        )
    }
    events.append(
        (
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": message["stop_reason"], "stop_sequence": None},
                "usage": final,
            },
        )
    )
    events.append(("message_stop", {"type": "message_stop"}))
    return "".join(f"event: {name}\ndata: {json.dumps(data)}\n\n" for name, data in events).encode()


@pytest.fixture
def fake_api() -> Iterator[FakeAPI]:
    """A started ``FakeAPI`` (empty script: every call answers "Done."), stopped after the test."""
    with FakeAPI() as api:
        yield api
