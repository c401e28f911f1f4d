"""A scripted fake OpenAI Responses API on 127.0.0.1, for driving the real Codex CLI offline.

Codex (``@openai/codex``, a custom ``model_providers`` entry with ``base_url`` here and ``wire_api =
"responses"``) sends ``POST <base>/responses`` with ``"stream": true`` and reads server-sent events. Each
answer is ``response.created``, one ``response.output_item.done`` per output item (an assistant message, or a
``exec_command`` function call that Codex runs and answers in its next request), then ``response.completed`` whose
``usage`` is what Codex records in its rollout's ``token_count`` events (the event shapes are those of
codex-rs's own test support, ``core/tests/common/responses.rs``). Anything else gets a JSON 404 and is logged.

Usage is scripted per answer and grows like a cached conversation: ``input_tokens`` is the previous answer's
input plus its output plus ``step``, of which the previous input (rounded down to 128, as OpenAI caches) is
reported as ``cached_tokens``; ``reasoning_tokens`` is a fixed part of ``output_tokens``. Every reported usage
is kept (``reported``), so tests compare ctxtop against what the server said, never against ctxtop itself.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

RATE_LIMIT_HEADERS = {
    "x-codex-primary-used-percent": "12.5",
    "x-codex-primary-window-minutes": "300",
    "x-codex-primary-reset-after-seconds": "3600",
    "x-codex-secondary-used-percent": "40.0",
    "x-codex-secondary-window-minutes": "10080",
    "x-codex-secondary-reset-after-seconds": "86400",
}


@dataclass(frozen=True)
class Reported:
    """One ``response.completed`` usage, in OpenAI's terms (cached inside input, reasoning inside output)."""

    input_tokens: int
    cached_tokens: int
    output_tokens: int
    reasoning_tokens: int

    def to_json(self) -> dict[str, Any]:
        return {
            "input_tokens": self.input_tokens,
            "input_tokens_details": {"cached_tokens": self.cached_tokens},
            "output_tokens": self.output_tokens,
            "output_tokens_details": {"reasoning_tokens": self.reasoning_tokens},
            "total_tokens": self.input_tokens + self.output_tokens,
        }


@dataclass(frozen=True)
class Step:
    """One answer: a text message, or a command for Codex to run with its ``exec_command`` tool (then it asks
    again, with the command's output)."""

    text: str | None = None
    command: str | None = None


def say(text: str) -> Step:
    return Step(text=text)


def run(command: str) -> Step:
    return Step(command=command)


@dataclass
class FakeResponses:
    start_input: int = 6000
    step: int = 900
    output: int = 120
    reasoning: int = 64
    script: list[Step] = field(default_factory=list)
    reported: list[Reported] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def start(self) -> FakeResponses:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                fake.unknown.append(f"GET {self.path}")
                self._json(404, {"error": {"message": "not here"}})

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length)
                if not self.path.rstrip("/").endswith("/responses"):
                    fake.unknown.append(f"POST {self.path}")
                    self._json(404, {"error": {"message": "not here"}})
                    return
                try:
                    body = json.loads(raw or b"{}")
                except ValueError:
                    body = {}
                events = fake._answer(body)
                self.send_response(200)
                self.send_header("content-type", "text/event-stream")
                self.send_header("cache-control", "no-cache")
                # Codex reads its plan's rate limits from these and re-emits a token_count event for them.
                for name, value in RATE_LIMIT_HEADERS.items():
                    self.send_header(name, value)
                self.end_headers()
                for ev in events:
                    self.wfile.write(f"event: {ev['type']}\ndata: {json.dumps(ev)}\n\n".encode())
                self.wfile.flush()
                self.close_connection = True

            def _json(self, status: int, obj: dict[str, Any]) -> None:
                data = json.dumps(obj).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, name="fake-responses", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeResponses:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _usage(self) -> Reported:
        if not self.reported:
            return Reported(self.start_input, 0, self.output, self.reasoning)
        prev = self.reported[-1]
        grown = prev.input_tokens + prev.output_tokens + self.step
        return Reported(grown, prev.input_tokens // 128 * 128, self.output, self.reasoning)

    def _answer(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        with self._lock:
            self.requests.append(body)
            step = self.script.pop(0) if self.script else say("Done.")
            usage = self._usage()
            self.reported.append(usage)
            n = len(self.reported)
        rid = f"resp_fake_{n}"
        if step.command is not None:
            item: dict[str, Any] = {
                "type": "function_call",
                "id": f"fc_{n}",
                "call_id": f"call_{n}",
                "name": "exec_command",
                "arguments": json.dumps({"cmd": step.command, "login": False}),
            }
        else:
            item = {
                "type": "message",
                "role": "assistant",
                "id": f"msg_{n}",
                "content": [{"type": "output_text", "text": step.text or ""}],
            }
        return [
            {"type": "response.created", "response": {"id": rid}},
            {"type": "response.output_item.done", "item": item},
            {"type": "response.completed", "response": {"id": rid, "usage": usage.to_json()}},
        ]


def refuse_dns() -> None:
    """Answer every DNS query on 127.0.0.1:53 with NXDOMAIN at once.

    Inside the test's network namespace no name server is reachable, and musl's resolver (Codex is a musl
    binary) does not give up on an unreachable one before its 5 s timeout; ``/etc/resolv.conf`` is pointed
    here instead, so every name Codex looks up fails immediately."""
    import socket

    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 53))

    def loop() -> None:
        while True:
            data, addr = sock.recvfrom(4096)
            if len(data) < 12:
                continue
            # Same id and question; QR=1, RD/RA kept, RCODE=3 (NXDOMAIN); no answers.
            flags = bytes([0x80 | (data[2] & 0x01), 0x80 | 0x03])
            sock.sendto(data[:2] + flags + data[4:6] + b"\0\0\0\0\0\0" + data[12:], addr)

    threading.Thread(target=loop, name="refuse-dns", daemon=True).start()


def serve(argv: list[str]) -> int:
    """``python -m tests.support.fake_responses SCRIPT REPORT -- CMD...``: serve, run CMD, write the report.

    Meant to run inside a network namespace with only the loopback interface (``tests/support/codex_cli.py``
    starts it under ``unshare -n``), so that the CLI it runs can reach this server and nothing else. ``{url}``
    in CMD becomes the server's base URL. SCRIPT is a JSON list of ``{"text": ...}`` / ``{"command": [...]}``
    steps plus optional usage settings; REPORT receives ``{"reported": [...], "requests": N, "unknown": [...]}``.
    """
    import subprocess
    import sys

    split = argv.index("--")
    script_path, report_path = argv[:split]
    command = argv[split + 1 :]
    spec = json.loads(Path(script_path).read_text())
    fake = FakeResponses(
        start_input=spec.get("start_input", 6000),
        step=spec.get("step", 900),
        output=spec.get("output", 120),
        reasoning=spec.get("reasoning", 64),
        script=[Step(text=s.get("text"), command=s.get("command")) for s in spec.get("steps", [])],
    )
    refuse_dns()
    with fake:
        proc = subprocess.run([part.replace("{url}", fake.url) for part in command], check=False)
    Path(report_path).write_text(
        json.dumps(
            {
                "reported": [r.__dict__ for r in fake.reported],
                "requests": len(fake.requests),
                "unknown": fake.unknown,
                "tools": sorted(
                    {
                        str(t.get("name"))
                        for r in fake.requests
                        for t in r.get("tools") or []
                        if isinstance(t, dict)
                    }
                ),
            }
        )
    )
    sys.stdout.flush()
    return proc.returncode


if __name__ == "__main__":
    import sys

    sys.exit(serve(sys.argv[1:]))
