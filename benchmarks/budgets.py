"""What budgets and anomalies cost: the budget hook before each prompt, and the live engine's checks.

    python benchmarks/budgets.py [--runs 15]

1. The UserPromptSubmit hook (``ctxtop hook user-prompt-submit``, a fresh process per prompt as Claude Code
   runs it) on a real transcript from the corpus, with session and daily hard limits set, against the same
   hook with no hard limit (it answers from the config alone): the ratio is what enforcement adds.
2. In the live engine, after a request is appended: the index update of the session (what every refresh
   does anyway) against the budget verdicts and the anomaly scan computed for it (``ctxtop.services.live``
   runs them after the rows are posted, at most once a second, so they never delay a row).

Figures are medians over ``--runs``; ratios are against the baseline measured in the same run.
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

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus"
TRANSCRIPT = "public/projects/-home-USER-projects-spotter-worktrees-spotter-dov/4d5611e5-241a-462a-8d15-5122611a9569.jsonl"


def _hook_seconds(env: dict[str, str], payload: str, runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "ctxtop", "hook", "user-prompt-submit"], input=payload, env=env,
                       capture_output=True, text=True, check=True)  # fmt: skip
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(
        description="cost of the budget hook and of the live budget/anomaly checks"
    )
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    source = CORPUS / TRANSCRIPT
    if not source.exists():
        print(f"needs the corpus transcript {source}", file=sys.stderr)
        return 1
    tmp = Path(tempfile.mkdtemp(prefix="ctxtop-bench-budgets-"))
    try:
        claude = tmp / "claude"
        path = claude / "projects" / "p" / source.name
        path.parent.mkdir(parents=True)
        lines = source.read_bytes().splitlines(keepends=True)
        path.write_bytes(b"".join(lines))
        env = {**os.environ, "CTXTOP_CONFIG_DIR": str(tmp / "config"), "CTXTOP_DATA_DIR": str(tmp / "data"),
               "CTXTOP_CACHE_DIR": str(tmp / "cache"), "CLAUDE_CONFIG_DIR": str(claude)}  # fmt: skip
        (tmp / "config").mkdir()
        payload = json.dumps({"session_id": path.stem, "transcript_path": str(path)})
        config = tmp / "config" / "config.toml"
        config.write_text("[budgets]\nsession_usd = 5\n")  # a budget but no hard limit: nothing to enforce
        base = _hook_seconds(env, payload, args.runs)
        config.write_text("[budgets]\nsession_usd_hard = 1000\ndaily_usd_hard = 1000\n")
        _hook_seconds(env, payload, 1)  # the first run builds the index: not what a prompt usually pays
        enforced = _hook_seconds(env, payload, args.runs)
        print(f"hook, no hard limit: {base * 1000:.0f} ms; with session and daily hard limits: "
              f"{enforced * 1000:.0f} ms (x{enforced / base:.2f})")  # fmt: skip

        os.environ.update({k: env[k] for k in ("CTXTOP_CONFIG_DIR", "CTXTOP_DATA_DIR", "CTXTOP_CACHE_DIR")})
        from ctxtop.adapters.config import Config
        from ctxtop.services import anomalies, budgets
        from ctxtop.services.monitor import Monitor

        cfg = Config.load()
        monitor = Monitor.open([str(claude)], str(tmp / "api"), str(tmp / "cache2"), cfg)
        keep = len(lines) // 2
        path.write_bytes(b"".join(lines[:keep]))
        monitor.refresh()
        updates, checks = [], []
        step = max(1, (len(lines) - keep) // args.runs)
        for start in range(keep, len(lines), step):
            with path.open("ab") as fh:
                fh.writelines(lines[start : start + step])
            t0 = time.perf_counter()
            result = monitor.refresh(only=[path])
            t1 = time.perf_counter()
            ids = list(result.changed_sessions)
            budgets.verdicts_for(monitor.index, cfg.budgets, ids, time.time())
            anomalies.live(monitor.index, cfg.anomaly_rules, ids, time.time())
            t2 = time.perf_counter()
            updates.append(t1 - t0)
            checks.append(t2 - t1)
        monitor.index.close()
        up, ch = statistics.median(updates), statistics.median(checks)
        print(f"live refresh after an append: index update {up * 1000:.1f} ms; budget and anomaly checks "
              f"{ch * 1000:.1f} ms (x{ch / up:.2f} of the update)")  # fmt: skip
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
