"""Statusline latency: median wall time of `ctxtop statusline` over N runs, against a bare interpreter start.

Runs on a copy of a real corpus session; each run appends one real transcript line first (as Claude Code does
before it refreshes the status line), so every run does the incremental index work it does in real use.
Usage: python benchmarks/statusline.py [--runs 30]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from tests.support.fixtures import FIXTURES, scenario  # noqa: E402

REFACTOR = scenario("refactor")
SESSION = REFACTOR.session_id


def timed(cmd: list[str], stdin: bytes) -> float:
    started = time.perf_counter()
    subprocess.run(cmd, input=stdin, stdout=subprocess.DEVNULL, check=True)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="ctxtop-sl-"))
    claude = work / "claude"
    shutil.copytree(FIXTURES, claude)
    transcript = claude / REFACTOR.relpath()
    lines = transcript.read_bytes().splitlines(keepends=True)
    keep = len(lines) - args.runs if len(lines) > args.runs else len(lines) // 2
    transcript.write_bytes(b"".join(lines[:keep]))
    payload = json.dumps({"session_id": SESSION, "transcript_path": str(transcript)}).encode()
    cmd = [sys.executable, "-m", "ctxtop", "statusline", f"--cache-dir={work / 'cache'}"]
    timed(cmd, payload)  # first run builds the index and the price cache
    bare, status = [], []
    for n in range(args.runs):
        if keep + n < len(lines):
            with open(transcript, "ab") as fh:
                fh.write(lines[keep + n])
        bare.append(timed([sys.executable, "-c", "pass"], b""))
        status.append(timed(cmd, payload))
    b, s = statistics.median(bare) * 1000, statistics.median(status) * 1000
    print(f"runs: {args.runs}")
    print(f"bare interpreter start  median {b:6.1f} ms")
    print(
        f"ctxtop statusline       median {s:6.1f} ms   p90 {sorted(status)[int(len(status) * 0.9)] * 1000:6.1f} ms"
    )
    print(f"ratio statusline/bare: {s / b:.2f}; statusline minus interpreter start: {s - b:.1f} ms")
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
