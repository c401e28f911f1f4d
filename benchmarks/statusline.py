"""Statusline latency: median wall time of `ctxtop statusline` over N runs, against a bare interpreter start.

Runs on a copy of a real corpus session; each run appends one real transcript line first (as Claude Code does
before it refreshes the status line), so every run does the incremental index work it does in real use.
A second series runs with the transcript unchanged since the previous render (Claude Code refreshes the status
line on its own timer too): that is the cached fast path. Both are printed as ratios against a bare
``python -c pass`` measured in the same run, interleaved. The command is the one ``claude install --statusline``
writes: ``<python> -m ctxtop statusline``, with bytecode caching on (as an installed ctxtop has it).
Usage: python benchmarks/statusline.py [--runs 30]
"""

from __future__ import annotations

import argparse
import json
import os
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


ENV = dict(os.environ)


def timed(cmd: list[str], stdin: bytes) -> float:
    started = time.perf_counter()
    subprocess.run(cmd, input=stdin, stdout=subprocess.DEVNULL, check=True, env=ENV)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="ctxtop-sl-"))
    # An installed ctxtop has its bytecode compiled (pip does it); PYTHONDONTWRITEBYTECODE would make every run
    # compile every module it imports. The bytecode goes to the scratch dir, not into the tree.
    ENV.pop("PYTHONDONTWRITEBYTECODE", None)
    ENV["PYTHONPYCACHEPREFIX"] = str(work / "pycache")
    claude = work / "claude"
    shutil.copytree(FIXTURES, claude)
    transcript = claude / REFACTOR.relpath()
    lines = transcript.read_bytes().splitlines(keepends=True)
    keep = len(lines) - args.runs if len(lines) > args.runs else len(lines) // 2
    transcript.write_bytes(b"".join(lines[:keep]))
    payload = json.dumps({"session_id": SESSION, "transcript_path": str(transcript)}).encode()
    cmd = [sys.executable, "-m", "ctxtop", "statusline", f"--cache-dir={work / 'cache'}"]
    timed(cmd, payload)  # first run builds the index and the price cache
    bare, status, unchanged = [], [], []
    for n in range(args.runs):
        if keep + n < len(lines):
            with open(transcript, "ab") as fh:
                fh.write(lines[keep + n])
        bare.append(timed([sys.executable, "-c", "pass"], b""))
        status.append(timed(cmd, payload))  # one new line: the session is updated
        unchanged.append(timed(cmd, payload))  # nothing new since the last render
    b = statistics.median(bare) * 1000
    print(f"runs: {args.runs}")
    print(f"bare interpreter start           median {b:6.1f} ms")
    for name, series in (("one new line", status), ("transcript unchanged", unchanged)):
        s = statistics.median(series) * 1000
        p90 = sorted(series)[int(len(series) * 0.9)] * 1000
        print(f"statusline, {name:20} median {s:6.1f} ms   p90 {p90:6.1f} ms   ratio to bare {s / b:.2f}")
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
