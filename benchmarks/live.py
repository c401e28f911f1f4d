"""Append→render latency and CPU share of the live TUI.

    python benchmarks/live.py [--rate 10] [--seconds 20] [--idle 10]

Copies a real transcript from the corpus, starts the app headless on it (real watchdog observer and poll),
then appends the rest of the transcript's lines at a steady rate. For every appended line that adds an API
request, the latency is the time from the write to the first screen refresh that shows the new request count.
Prints p50/p95/max, the app's CPU share while appending, and its CPU share when idle (nothing appended).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus"
TRANSCRIPT = "public/projects/-home-USER-projects-spotter-worktrees-spotter-dov/4d5611e5-241a-462a-8d15-5122611a9569.jsonl"


def request_keys(lines: list[bytes]) -> list[str | None]:
    """Per line: the request key it introduces (message id + request id), else None."""
    seen: set[str] = set()
    out: list[str | None] = []
    for raw in lines:
        key = None
        try:
            obj = json.loads(raw)
        except ValueError:
            obj = None
        if isinstance(obj, dict) and obj.get("type") == "assistant" and not obj.get("isSidechain"):
            msg = obj.get("message") or {}
            k = f"{msg.get('id')}:{obj.get('requestId')}"
            if msg.get("usage") and k not in seen:
                seen.add(k)
                key = k
        out.append(key)
    return out


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


async def run(args: argparse.Namespace, companion=None, results: dict | None = None, config: str = "") -> int:  # type: ignore[no-untyped-def]
    """``companion(claude_dir, data_dir)``, when given, starts a process beside the app (benchmarks/export.py
    runs ``ctxtop export otlp --watch``) and returns it; it is terminated at the end. ``results`` gets the
    figures; ``config`` is the app's config.toml."""
    tmp = Path(tempfile.mkdtemp(prefix="ctxtop-bench-"))
    for name in ("config", "cache", "data", "api"):
        (tmp / name).mkdir()
    os.environ.update({"CTXTOP_CONFIG_DIR": str(tmp / "config"), "CTXTOP_CACHE_DIR": str(tmp / "cache"),
                       "CTXTOP_DATA_DIR": str(tmp / "data"), "CTXTOP_API_LOG_DIR": str(tmp / "api")})  # fmt: skip
    if config:
        (tmp / "config" / "config.toml").write_text(config)
    src = CORPUS / TRANSCRIPT
    if not src.exists():  # a 1,512-line real session: the fixtures are too short to measure a steady rate
        raise SystemExit(f"benchmarks/live.py needs the public corpus beside the repo: {src} is missing")
    project = tmp / "claude" / "projects" / src.parent.name
    project.mkdir(parents=True)
    target = project / src.name
    lines = src.read_bytes().splitlines(keepends=True)
    keys = request_keys(lines)
    start = next(i for i, k in enumerate(keys) if k) + 1  # the file starts with one request in it
    target.write_bytes(b"".join(lines[:start]))
    sid = src.stem

    from ctxtop.adapters.config import Config
    from ctxtop.services.monitor import Monitor
    from ctxtop.ui.app import CtxtopApp

    # The transcript is months old: a clock just after its first line keeps it in the dashboard's window.
    first_ts = json.loads(lines[start - 1]).get("timestamp")
    from datetime import datetime

    now = datetime.fromisoformat(first_ts.replace("Z", "+00:00")).timestamp() + 3600
    offset = now - time.time()

    def clock() -> float:
        return time.time() + offset

    def factory(config: Config) -> Monitor:
        return Monitor.open([str(tmp / "claude")], str(tmp / "api"), str(tmp / "cache"), config)

    app = CtxtopApp(factory, config_dir=tmp / "config", clock=clock, watch=True, theme="ctxtop-dark",
                    claude_dirs=[str(tmp / "claude")])  # fmt: skip
    # Show the session whatever its age: the transcript is months old.

    side = companion(tmp / "claude", tmp) if companion is not None else None
    async with app.run_test(size=(120, 36)) as pilot:
        deadline = time.monotonic() + 30
        while sid not in app.views:
            if time.monotonic() > deadline:
                raise SystemExit("the app did not load the transcript")
            await pilot.pause(0.05)
        await pilot.pause(0.5)
        base = app.views[sid].stats.requests

        # Idle: nothing changes; the watcher polls, the live-session check runs, the screen sits still.
        cpu0, wall0 = time.process_time(), time.monotonic()
        await asyncio.sleep(args.idle)
        idle_share = (time.process_time() - cpu0) / (time.monotonic() - wall0)

        interval = 1.0 / args.rate
        appended: list[tuple[float, int]] = []  # (write time, request count it brings)
        count = base
        end = min(len(lines), start + int(args.rate * args.seconds))
        cpu0, wall0 = time.process_time(), time.monotonic()
        next_at = time.monotonic()
        with target.open("ab") as fh:
            for i in range(start, end):
                delay = next_at - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                fh.write(lines[i])
                fh.flush()
                if keys[i]:
                    count += 1
                    appended.append((time.monotonic(), count))
                next_at += interval
        await asyncio.sleep(1.5)
        busy_share = (time.process_time() - cpu0) / (time.monotonic() - wall0)
        log = list(app.render_log)
    if side is not None:
        side.terminate()
        side.wait(timeout=30)

    latencies: list[float] = []
    missed = 0
    for written_at, wanted in appended:
        shown = next((t for t, req in log if t >= written_at and req.get(sid, -1) >= wanted), None)
        if shown is None:
            missed += 1
        else:
            latencies.append((shown - written_at) * 1000)
    shutil.rmtree(tmp, ignore_errors=True)
    if results is not None and latencies:
        results.update(p50=statistics.median(latencies), p95=pct(latencies, 0.95), busy=busy_share,
                       idle=idle_share, measured=len(latencies), missed=missed)  # fmt: skip
    if not latencies:
        print("no appended request reached the screen", file=sys.stderr)
        return 1
    print(f"appended {end - start} lines at {args.rate:g}/s ({len(appended)} new API requests)")
    print(f"append->render latency: p50 {statistics.median(latencies):.0f} ms, p95 {pct(latencies, 0.95):.0f} ms, "
          f"max {max(latencies):.0f} ms ({len(latencies)} measured, {missed} not seen)")  # fmt: skip
    print(f"CPU share while appending: {busy_share * 100:.1f}% of one core")
    print(f"CPU share idle ({args.idle:g} s): {idle_share * 100:.2f}% of one core")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description="append->render latency and CPU of the live TUI")
    parser.add_argument("--rate", type=float, default=10.0, help="lines appended per second")
    parser.add_argument("--seconds", type=float, default=20.0, help="how long to append")
    parser.add_argument("--idle", type=float, default=10.0, help="seconds of idle measurement")
    return asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    raise SystemExit(main())
