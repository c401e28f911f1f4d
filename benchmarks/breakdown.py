"""Cost of the context breakdown, as ratios against baselines measured in the same run.

1. On one transcript (default: the largest of the fixtures and the public corpus): decoding its lines (the
   baseline every reader pays), the breakdown with pieces counted only when a delta is split between several
   (what ctxtop does), and the breakdown with every piece counted (what it would cost without that).
2. ``ctxtop statusline`` on a copy of the fixtures: with ``[statusline] breakdown = "on"`` against off, when the
   transcript did not change (the cached segment) and when a line was appended (recomputed).

    python benchmarks/breakdown.py [--transcript PATH] [--runs 10]
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

from tests.support.fixtures import FIXTURES, PUBLIC, scenario  # noqa: E402

from ctxtop.core import breakdown  # noqa: E402
from ctxtop.core.pricing import PriceBook  # noqa: E402
from ctxtop.services.context_io import read_lines  # noqa: E402
from ctxtop.sources.claude_code.context import claude_events  # noqa: E402


def _median(fn, runs: int) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _eager(lines: list[object], prices: PriceBook) -> None:
    events = claude_events(lines)
    for e in events:
        if isinstance(e, breakdown.Piece):
            e.size()
    breakdown.build(events, prices)


def part1(path: Path, runs: int) -> None:
    prices = PriceBook()
    breakdown.weigh("warm up the encoding")
    decode = _median(lambda: read_lines(str(path)), runs)
    lines, _ = read_lines(str(path))
    lazy = _median(lambda: breakdown.build(claude_events(read_lines(str(path))[0]), prices), runs)
    eager = _median(lambda: _eager(read_lines(str(path))[0], prices), runs)
    print(f"transcript {path.name}: {path.stat().st_size / 1e6:.1f} MB, {len(lines)} lines")
    print(f"  decode only            {decode * 1000:8.1f} ms  1.00x")
    print(f"  breakdown (lazy count) {lazy * 1000:8.1f} ms  {lazy / decode:.2f}x decode")
    print(
        f"  breakdown (count all)  {eager * 1000:8.1f} ms  {eager / decode:.2f}x decode, {eager / lazy:.2f}x lazy"
    )


def part2(runs: int) -> None:
    work = Path(tempfile.mkdtemp(prefix="ctxtop-bd-"))
    try:
        claude = work / "claude"
        shutil.copytree(FIXTURES, claude)
        refactor = scenario("refactor")
        path = claude / refactor.relpath()
        extra = path.read_text().splitlines(keepends=True)[-1]
        payload = json.dumps({"session_id": refactor.session_id, "transcript_path": str(path)}).encode()
        env = {**os.environ, "CTXTOP_CONFIG_DIR": str(work / "cfg"), "CTXTOP_CACHE_DIR": str(work / "cache"),
               "CTXTOP_DATA_DIR": str(work / "data"), "CTXTOP_STATUSLINE_BUDGET": "30"}  # fmt: skip
        (work / "cfg").mkdir()
        cmd = [sys.executable, "-m", "ctxtop", "statusline"]

        def run() -> None:
            subprocess.run(cmd, input=payload, stdout=subprocess.DEVNULL, check=True, env=env)

        def grow_and_run() -> None:
            with path.open("a") as fh:
                fh.write(extra)
            run()

        # Both sides read a config file (parsing it is part of every refresh), only the switch differs.
        (work / "cfg" / "config.toml").write_text('[statusline]\nbreakdown = "off"\n')
        run()  # the first index of the copy
        off = _median(run, runs)
        (work / "cfg" / "config.toml").write_text('[statusline]\nbreakdown = "on"\n')
        run()
        cached = _median(run, runs)
        grown = _median(grow_and_run, runs)
        print("ctxtop statusline on the refactor fixture (median of", runs, "runs)")
        print(f"  breakdown off          {off * 1000:8.1f} ms  1.00x")
        print(f"  on, transcript same    {cached * 1000:8.1f} ms  {cached / off:.2f}x")
        print(f"  on, a line appended    {grown * 1000:8.1f} ms  {grown / off:.2f}x")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--transcript", type=Path)
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    path = args.transcript
    if path is None:
        candidates = [p for root in (FIXTURES, PUBLIC) if root.is_dir() for p in root.rglob("*.jsonl")
                      if "subagents" not in p.parts]  # fmt: skip
        path = max(candidates, key=lambda p: p.stat().st_size)
    part1(path, args.runs)
    part2(args.runs)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
