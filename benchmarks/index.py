"""Index benchmark: cold and warm `ctxtop report sessions --json` on a synthetic history, vs ccusage.

Builds a history of the given size (default 300 MB) by replicating the real corpus sessions with fresh
session, message and request ids (so deduplication cannot collapse the copies), then measures in the same
run, each command as a child process (wall time and peak RSS from wait4):

- ctxtop cold (empty cache dir) and warm (second run, nothing new);
- ccusage `session --json --offline` (tests/e2e/node_modules/.bin/ccusage, or on PATH) when installed.

With ``--baseline-src DIR`` (another checkout's ``src``, e.g. ``git archive main src | tar -x -C /tmp/main``)
that code's warm runs are interleaved with this tree's on the same index: warm after/before in one run.

Usage: python benchmarks/index.py [--mb 300] [--keep DIR] [--baseline-src DIR]
Figures are printed as absolute values and as ratios against ccusage measured in the same run.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures" / "claude"
PUBLIC = REPO.parent / "shared" / "corpus" / "public"  # real sessions, when present beside the repo


def build_history(dest: Path, megabytes: int) -> tuple[int, int]:
    """Copies of every fixture (and public corpus) session until the history reaches ``megabytes``; returns
    (files, bytes)."""
    sessions: list[tuple[Path, str]] = []
    for root in (FIXTURES / "projects", PUBLIC / "projects"):
        for path in sorted(root.glob("*/*.jsonl")):
            sessions.append((path, path.stem))
    target = megabytes * 1_000_000
    written = files = copy = 0
    while written < target:
        copy += 1
        for path, sid in sessions:
            new_sid = str(uuid.uuid4())
            tag = f"{copy:05d}x".encode()

            def rewrite(data: bytes, new_sid: str = new_sid, sid: str = sid, tag: bytes = tag) -> bytes:
                return (
                    data.replace(sid.encode(), new_sid.encode())
                    .replace(b'"msg_', b'"msg_' + tag)
                    .replace(b'"req_', b'"req_' + tag)
                )

            proj = dest / "projects" / f"{path.parent.name}-{copy}"
            proj.mkdir(parents=True, exist_ok=True)
            data = rewrite(path.read_bytes())
            (proj / f"{new_sid}.jsonl").write_bytes(data)
            written += len(data)
            files += 1
            sub = path.with_suffix("") / "subagents"
            if sub.is_dir():
                out = proj / new_sid / "subagents"
                out.mkdir(parents=True, exist_ok=True)
                for agent in sub.glob("*.jsonl"):
                    data = rewrite(agent.read_bytes())
                    (out / agent.name).write_bytes(data)
                    written += len(data)
                    files += 1
            if written >= target:
                break
    return files, written


def measure(cmd: list[str], env: dict[str, str]) -> tuple[float, float, int, float]:
    """(wall seconds, peak RSS MB, exit code, CPU seconds: user + system) of one child process."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    code = os.waitstatus_to_exitcode(status)
    if code != 0 and proc.stderr is not None:
        sys.stderr.write(proc.stderr.read().decode(errors="replace")[-2000:])
    return wall, usage.ru_maxrss / 1024, code, usage.ru_utime + usage.ru_stime


def _median(runs: list[tuple[float, float, int, float]]) -> tuple[float, float, int, float]:
    """The median run by wall time, with the median CPU time (on a shared machine CPU is the steadier)."""
    ordered = sorted(runs)
    cpu = sorted(r[3] for r in runs)[len(runs) // 2]
    return (*ordered[len(ordered) // 2][:3], cpu)


def find_ccusage() -> str | None:
    local = REPO / "tests" / "e2e" / "node_modules" / ".bin" / "ccusage"
    if local.exists():
        return str(local)
    return shutil.which("ccusage")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=300, help="history size in MB (default 300)")
    parser.add_argument("--keep", metavar="DIR", help="build the history in DIR and keep it")
    parser.add_argument("--repeat", type=int, default=7, help="warm and ccusage runs (median; default 7)")
    parser.add_argument(
        "--baseline-src", metavar="DIR", help="also time warm runs of the ctxtop in DIR (a src dir)"
    )
    args = parser.parse_args()
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="ctxtop-bench-"))
    history = work / "claude"
    if not (history / "projects").is_dir():
        started = time.perf_counter()
        files, size = build_history(history, args.mb)
        print(f"history: {files} files, {size / 1e6:.0f} MB, built in {time.perf_counter() - started:.1f} s")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CLAUDE_", "ANTHROPIC_"))}
    # An installed ctxtop runs from cached bytecode: without it every run would compile ~40 modules again
    # (~60 ms, most of a warm run at 100 MB), which no user pays.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.update(
        CLAUDE_CONFIG_DIR=str(history),
        CTXTOP_CONFIG_DIR=str(work / "cfg"),
        CTXTOP_API_LOG_DIR=str(work / "api"),
    )
    cache = work / "cache"
    shutil.rmtree(cache, ignore_errors=True)
    ctxtop = [sys.executable, "-m", "ctxtop", "report", "sessions", "--json", "--cache-dir", str(cache)]
    results: dict[str, tuple[float, float, int, float]] = {}
    results["ctxtop cold"] = measure(ctxtop, env)
    # Warm runs and ccusage runs are repeated and interleaved: the median of each is less noisy.
    ccusage = find_ccusage()
    warm, base, before = [], [], []
    before_env = {**env, "PYTHONPATH": str(Path(args.baseline_src).resolve())} if args.baseline_src else None
    for _ in range(args.repeat):
        warm.append(measure(ctxtop, env))
        if before_env:
            before.append(measure(ctxtop, before_env))
        if ccusage:
            base.append(measure([ccusage, "session", "--json", "--offline"], env))
    results["ctxtop warm"] = _median(warm)
    if before:
        results["baseline warm"] = _median(before)
    if base:
        results["ccusage"] = _median(base)
    print(
        f"{'command':<16} {'wall s':>8} {'CPU s':>8} {'peak RSS MB':>12}  exit   (warm and ccusage: median of {args.repeat})"
    )
    for name, (wall, rss, code, cpu) in results.items():
        print(f"{name:<16} {wall:>8.2f} {cpu:>8.2f} {rss:>12.0f}  {code}")
    if before:
        print(f"ratio warm this tree / warm baseline ({args.baseline_src}): "
              f"{results['ctxtop warm'][0] / results['baseline warm'][0]:.2f} wall, "
              f"{results['ctxtop warm'][3] / results['baseline warm'][3]:.2f} CPU")  # fmt: skip
    if "ccusage" in results:
        b = results["ccusage"][0]
        c = results["ccusage"][3]
        print(
            f"ratio cold/ccusage: {results['ctxtop cold'][0] / b:.2f}   warm/ccusage: {results['ctxtop warm'][0] / b:.2f}"
            f"   (CPU: cold {results['ctxtop cold'][3] / c:.2f}, warm {results['ctxtop warm'][3] / c:.2f})"
        )
    else:
        print("ccusage not installed (npm ci --prefix tests/e2e): no baseline ratio")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
