"""Codex benchmark: cold and warm `ctxtop report sessions --json` on a synthetic CODEX_HOME, vs ccusage codex.

Builds a ``CODEX_HOME`` of the given size (default 50 MB) by replicating the rollouts of ``tests/fixtures/codex``
(real-CLI and hand-written) under fresh session ids and day folders, each with a padded tool output so lines
have a realistic size mix, then measures in the same run, each command as a child process:

- ctxtop cold (empty data dir) and warm (second run, nothing new), Codex only;
- ccusage ``codex session --json --offline`` (tests/e2e/node_modules/.bin/ccusage) when installed.

Usage: python benchmarks/codex.py [--mb 50]
Figures are printed as absolute values and as ratios against ccusage measured in the same run.
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
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures" / "codex"
CCUSAGE = REPO / "tests" / "e2e" / "node_modules" / ".bin" / "ccusage"


def build(home: Path, megabytes: int) -> int:
    sources = sorted(FIXTURES.rglob("rollout-*.jsonl"))
    texts = [p.read_text() for p in sources]
    pad = json.dumps({"timestamp": "2026-11-20T09:15:05.000Z", "type": "response_item",
                      "payload": {"type": "function_call_output", "call_id": "call_pad",
                                  "output": "x" * 20000}})  # fmt: skip
    written = n = 0
    while written < megabytes * 1024 * 1024:
        for src, text in zip(sources, texts, strict=True):
            old = src.stem[-36:]
            new = str(uuid.uuid4())
            body = text.replace(old, new)
            lines = body.split("\n")
            body = "\n".join([*lines[:3], pad, *lines[3:]])
            day = home / "sessions" / "2026" / "11" / f"{1 + n % 28:02d}"
            day.mkdir(parents=True, exist_ok=True)
            path = day / f"{src.stem[:-36]}{new}.jsonl"
            path.write_text(body)
            written += len(body)
            n += 1
    return n


def timed(cmd: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, stdin=subprocess.DEVNULL)
    if proc.returncode != 0:
        raise SystemExit(f"{cmd[:4]} failed: {proc.stderr[-2000:]!r}")
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=int, default=50)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="ctxtop-codex-bench-"))
    try:
        home = root / "codex"
        files = build(home, args.mb)
        size = sum(p.stat().st_size for p in home.rglob("*.jsonl")) / 1e6
        print(f"history: {files} rollouts, {size:.0f} MB")
        env = {"PATH": os.environ.get("PATH", ""), "HOME": str(root / "home"), "CODEX_HOME": str(home),
               "TZ": "UTC", "CTXTOP_CONFIG_DIR": str(root / "config")}  # fmt: skip
        if "PYTHONPATH" in os.environ:
            env["PYTHONPATH"] = os.environ["PYTHONPATH"]
        ours = [sys.executable, "-m", "ctxtop", "report", "sessions", "--json", "--codex-dir", str(home),
                "--claude-dir", str(root / "none"), "--api-logs", str(root / "none"), "--data-dir", str(root / "d")]  # fmt: skip
        cold = timed(ours, env)
        warm = statistics.median(timed(ours, env) for _ in range(5))
        print(f"ctxtop cold  {cold:6.2f} s")
        print(f"ctxtop warm  {warm:6.2f} s   (median of 5)")
        if CCUSAGE.exists():
            theirs = statistics.median(
                timed([str(CCUSAGE), "codex", "session", "--json", "--offline"], env) for _ in range(3)
            )
            print(f"ccusage      {theirs:6.2f} s   (median of 3)")
            print(f"ratio cold/ccusage: {cold / theirs:.2f}   warm/ccusage: {warm / theirs:.2f}")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
