"""The OTLP export's throughput, and its cost to a live TUI, as ratios measured in one run.

    python benchmarks/export.py [--rate 10] [--seconds 15] [--copies 20]

1. Requests per second exported: the public corpus's sessions (copied ``--copies`` times under new session
   ids, so there is enough to time) indexed once, then ``ctxtop export otlp`` to a receiver on 127.0.0.1, against
   ``ctxtop history export`` of the same index in the same run (both read the index and write every request
   out: the ratio is what building and sending spans costs). The receiver is Arize Phoenix when it is
   installed (``CTXTOP_PHOENIX``, or ``.venv-phoenix``), else a sink that answers 200 to every POST
   (then the figure is ctxtop's side only: the output says which).
2. Append->screen latency of the live TUI (benchmarks/live.py's measurement) without and with
   ``ctxtop export otlp --watch`` running on the same transcripts and index (a second process with its own live
   engine), and with ``[export] tui = "on"`` (the TUI's own export thread): p95 with / p95 without.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
PUBLIC = ROOT.parent / "shared" / "corpus" / "public"


class _Sink(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def _receiver(tmp: Path):  # type: ignore[no-untyped-def]
    """(url, label, stop) of Phoenix when installed, else of the sink."""
    from tests.support import phoenix as ph

    exe = os.environ.get("CTXTOP_PHOENIX") or str(ph.REPO / ".venv-phoenix" / "bin" / "phoenix")
    if Path(exe).exists():
        server = ph.Phoenix(Path(exe), tmp / "phoenix")
        server.start()
        return server.url, f"Arize Phoenix {ph.PHOENIX_VERSION} (SQLite)", server.stop
    sink = ThreadingHTTPServer(("127.0.0.1", 0), _Sink)
    threading.Thread(target=sink.serve_forever, daemon=True).start()
    return (
        f"http://127.0.0.1:{sink.server_port}",
        "a 200-answering sink (Phoenix not installed)",
        sink.shutdown,
    )


def _corpus(claude: Path, copies: int) -> None:
    for path in (PUBLIC / "projects").rglob("*.jsonl"):
        rel = path.relative_to(PUBLIC / "projects")
        for n in range(copies):
            sid = path.stem
            new = str(uuid.UUID(int=uuid.UUID(sid).int ^ n)) if len(sid) == 36 else f"{sid}-{n}"
            text = path.read_bytes().replace(sid.encode(), new.encode())
            # Message ids make the dedup key: each copy must be its own requests.
            text = text.replace(b'"msg_', f'"msg_c{n}_'.encode()).replace(b'"req_', f'"req_c{n}_'.encode())
            dest = claude / "projects" / rel.parent / str(rel.name).replace(sid, new)
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(text)


def _ctxtop(env: dict[str, str], *args: str) -> tuple[float, subprocess.CompletedProcess[str]]:
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "ctxtop", *args], env=env, capture_output=True, text=True)
    return time.perf_counter() - started, proc


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rate", type=float, default=10.0, help="lines appended per second (latency part)")
    parser.add_argument("--seconds", type=float, default=15.0, help="how long to append")
    parser.add_argument("--copies", type=int, default=20, help="copies of the corpus for the throughput part")
    args = parser.parse_args()
    if not PUBLIC.is_dir():
        raise SystemExit(f"benchmarks/export.py needs the public corpus beside the repo: {PUBLIC} is missing")
    tmp = Path(tempfile.mkdtemp(prefix="ctxtop-bench-export-"))
    url, label, stop = _receiver(tmp)
    try:
        claude = tmp / "claude"
        _corpus(claude, args.copies)
        env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
        env.update(CTXTOP_CONFIG_DIR=str(tmp / "cfg"), CTXTOP_DATA_DIR=str(tmp / "data"),
                   CTXTOP_API_LOG_DIR=str(tmp / "api"), CLAUDE_CONFIG_DIR=str(claude))  # fmt: skip
        (tmp / "cfg").mkdir()
        (tmp / "cfg" / "config.toml").write_text('[export]\nproject = "bench"\nmetrics = "off"\n')
        _ctxtop(env, "report", "sessions", "--json")  # index once: both timings below read a warm index
        history_s, history = _ctxtop(env, "history", "export")
        n = sum(1 for line in history.stdout.splitlines() if '"record":"request"' in line)
        export_s, done = _ctxtop(env, "export", "otlp", "--endpoint", url)
        if done.returncode != 0:
            print(done.stderr, file=sys.stderr)
            return 1
        print(f"receiver: {label}")
        print(f"exported {n:,} requests in {export_s:.2f} s: {n / export_s:,.0f} requests/s "
              f"(history export of the same index: {n / history_s:,.0f} requests/s; "
              f"ratio export/history {history_s / export_s:.2f})")  # fmt: skip

        import live

        watch_log = tmp / "watch.log"

        def companion(claude_dir: Path, data: Path) -> subprocess.Popen:
            # The same index as the app's (as a user's `ctxtop export otlp --watch` beside the TUI would).
            watch_env = dict(env, CLAUDE_CONFIG_DIR=str(claude_dir), CTXTOP_CONFIG_DIR=str(tmp / "cfg"))
            return subprocess.Popen(
                [sys.executable, "-m", "ctxtop", "export", "otlp", "--watch", "--endpoint", url,
                 "--data-dir", str(data / "cache")],
                env=watch_env, stdout=subprocess.DEVNULL, stderr=watch_log.open("w"),
            )  # fmt: skip

        live_args = argparse.Namespace(rate=args.rate, seconds=args.seconds, idle=2.0)
        without: dict = {}
        with_watch: dict = {}
        asyncio.run(live.run(live_args, results=without))
        asyncio.run(live.run(live_args, companion=companion, results=with_watch))
        in_tui: dict = {}
        tui_config = f'[export]\ntui = "on"\nendpoint = "{url}"\nproject = "bench-tui"\nmetrics = "off"\n'
        asyncio.run(live.run(live_args, results=in_tui, config=tui_config))
        if not without or not with_watch or not in_tui:
            print("no appended request reached the screen", file=sys.stderr)
            return 1
        sent = [line for line in watch_log.read_text().splitlines() if "exported" in line]
        print(
            f"export --watch during the second run: {len(sent)} batches sent"
            + (f" (last: {sent[-1]})" if sent else "")
        )
        print(f"append->screen p95: {without['p95']:.0f} ms without, {with_watch['p95']:.0f} ms with "
              f"export --watch; ratio {with_watch['p95'] / without['p95']:.2f} "
              f"(p50 {without['p50']:.0f} / {with_watch['p50']:.0f} ms)")  # fmt: skip
        print(f"append->screen p95 with [export] tui = on (the export thread beside the engine): "
              f"{in_tui['p95']:.0f} ms; ratio {in_tui['p95'] / without['p95']:.2f} (p50 {in_tui['p50']:.0f} ms)")  # fmt: skip
    finally:
        stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "benchmarks"))
    raise SystemExit(main())
