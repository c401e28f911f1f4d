"""TUI start benchmark: first frame, rows visible and idle CPU of the real `ctxtop` TUI on a big history.

Builds (or reuses, ``--keep DIR``) a history like benchmarks/index.py does (its ``build_history``: copies of
the real sessions with fresh ids), then starts the real ``ctxtop`` TUI in a private tmux server (its own
socket, a fixed 120x36 pane) and reads the screen with ``capture-pane`` every 50 ms:

- cold (empty index dir): first frame (ctxtop's top bar is drawn), rows visible (a line holds the short id of
  a session of the history), indexed (the indexing line is gone and rows are on screen);
- warm (the same index, nothing new): first frame and rows visible;
- idle CPU: ``--settle`` seconds after the warm start showed rows, the CPU time of the TUI's whole process group (utime + stime of
  every process in it, from /proc/<pid>/stat) over ``--idle`` seconds, as a share of one core.

With ``--baseline-src [NAME=]DIR`` (another checkout's ``src``: ``git archive main src | tar -x -C /tmp/before``;
repeatable) the same runs of that code are interleaved with this tree's (before, after, before, after...), and
all idle TUIs are measured over the same window, so the machine's load weighs on them alike; ratios after/each.

Usage: python benchmarks/tui.py [--mb 1000] [--keep DIR] [--baseline-src [NAME=]DIR]... [--src DIR] [--rounds 1]
       [--idle 60] [--settle 60]
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from index import build_history  # noqa: E402 - the benchmarks share one history builder

REPO = Path(__file__).resolve().parents[1]
SIZE = (120, 36)
TICK = 0.05
SHORT_ID = re.compile(r"\b[0-9a-f]{8}\b")


@dataclass
class Run:
    first_frame: float | None = None
    rows: float | None = None
    indexed: float | None = None
    progress_seen: bool = False
    screens: list[str] = field(default_factory=list)


class Tmux:
    """A private tmux server: nothing of the user's tmux (or another benchmark's) is touched."""

    def __init__(self) -> None:
        self.socket = f"ctxtop-bench-{os.getpid()}"

    def __call__(self, *args: str, check: bool = True) -> str:
        done = subprocess.run(
            ["tmux", "-L", self.socket, "-f", "/dev/null", *args], capture_output=True, text=True
        )
        if check and done.returncode != 0:
            raise RuntimeError(f"tmux {args[0]}: {done.stderr.strip()}")
        return done.stdout

    def start(self, name: str, command: list[str]) -> int:
        self(
            "new-session",
            "-d",
            "-s",
            name,
            "-x",
            str(SIZE[0]),
            "-y",
            str(SIZE[1]),
            "exec " + shlex.join(command),
        )
        return int(self("display-message", "-p", "-t", name, "#{pane_pid}").strip())

    def screen(self, name: str) -> str | None:
        done = subprocess.run(
            ["tmux", "-L", self.socket, "capture-pane", "-p", "-t", name], capture_output=True, text=True
        )
        return done.stdout if done.returncode == 0 else None

    def stop(self, name: str) -> None:
        self("send-keys", "-t", name, "q", check=False)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and self.screen(name) is not None:
            time.sleep(0.1)
        self("kill-session", "-t", name, check=False)

    def close(self) -> None:
        self("kill-server", check=False)


def group_cpu(pgid: int) -> float:
    """CPU seconds (user + system) of every live process in process group ``pgid``."""
    ticks = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as f:
                raw = f.read().decode()
        except OSError:
            continue
        fields = raw[raw.rindex(")") + 2 :].split()
        # After the command: state, ppid, pgrp, ..., utime (14th field overall), stime (15th).
        if int(fields[2]) == pgid:
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def watch(
    tmux: Tmux, name: str, ids: set[str], started: float, timeout: float, *, until_indexed: bool
) -> Run:
    """Poll the pane until rows are visible (and, ``until_indexed``, the indexing line is gone)."""
    run = Run()
    while time.monotonic() - started < timeout:
        text = tmux.screen(name)
        if text is None:
            raise RuntimeError(f"{name}: the TUI exited\n" + "\n".join(run.screens[-1:]))
        now = time.monotonic() - started
        if run.first_frame is None and "ctxtop" in text:
            run.first_frame = now
            run.screens.append(text)
        indexing = "ndexing" in text
        run.progress_seen |= indexing and any(ch.isdigit() for ch in text.split("ndexing", 1)[1][:60])
        has_rows = any(m in ids for m in SHORT_ID.findall(text))
        if run.rows is None and has_rows:
            run.rows = now
            run.screens.append(text)
        if has_rows and not indexing:
            run.indexed = now
            return run
        if has_rows and not until_indexed:
            return run
        time.sleep(TICK)
    raise RuntimeError(
        f"{name}: no rows after {timeout:.0f} s\n" + (run.screens[-1] if run.screens else text or "")
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=1000, help="history size in MB (default 1000)")
    parser.add_argument(
        "--keep", metavar="DIR", help="build the history in DIR and keep it (reused if there)"
    )
    parser.add_argument(
        "--baseline-src",
        metavar="[NAME=]DIR",
        action="append",
        help="also run the ctxtop in DIR (a src dir), interleaved; repeatable, NAME= names its column",
    )
    parser.add_argument(
        "--src",
        metavar="DIR",
        default=str(REPO / "src"),
        help="the ctxtop measured (default: this tree's src)",
    )
    parser.add_argument("--rounds", type=int, default=1, help="cold+warm runs per variant (default 1)")
    parser.add_argument(
        "--idle", type=float, default=60.0, help="idle CPU window in seconds (default 60; 0: skip)"
    )
    parser.add_argument(
        "--settle",
        type=float,
        default=60.0,
        help="seconds after warm rows before the idle window (default 60)",
    )
    parser.add_argument("--timeout", type=float, default=180.0, help="give up on a start after this long")
    args = parser.parse_args()
    if shutil.which("tmux") is None:
        print("tmux is needed (apt-get install tmux)", file=sys.stderr)
        return 2
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="ctxtop-tui-bench-"))
    history = work / "claude"
    if not (history / "projects").is_dir():
        began = time.perf_counter()
        files, size = build_history(history, args.mb)
        print(f"history: {files} files, {size / 1e6:.0f} MB, built in {time.perf_counter() - began:.1f} s")
    ids = {p.stem[:8] for p in (history / "projects").glob("*/*.jsonl")}
    size_mb = sum(p.stat().st_size for p in (history / "projects").rglob("*.jsonl")) / 1e6
    print(f"history: {history} ({size_mb:.0f} MB, {len(ids)} sessions)")
    variants: dict[str, str] = {}
    for n, given in enumerate(args.baseline_src or []):
        name, _, folder = (
            given.rpartition("=") if "=" in given else ("before" if n == 0 else f"base{n}", "", given)
        )
        variants[name] = str(Path(folder).resolve())
    variants["after"] = str(Path(args.src).resolve())
    base_env = {k: v for k, v in os.environ.items() if not k.startswith(("CLAUDE_", "ANTHROPIC_", "CTXTOP_"))}
    tmux = Tmux()
    results: dict[str, dict[str, list[float]]] = {v: {} for v in variants}
    idle: dict[str, list[float]] = {v: [] for v in variants}
    progress: dict[str, bool] = dict.fromkeys(variants, False)

    def command(variant: str) -> list[str]:
        env = {
            **base_env, "PYTHONPATH": variants[variant], "CLAUDE_CONFIG_DIR": str(history),
            "CTXTOP_CONFIG_DIR": str(work / "cfg" / variant), "CTXTOP_DATA_DIR": str(work / "data" / variant),
            "CTXTOP_API_LOG_DIR": str(work / "api"), "CODEX_HOME": str(work / "codex"), "TERM": "xterm-256color",
        }  # fmt: skip
        cache = work / "index" / variant
        return ["env", "-i", *(f"{k}={v}" for k, v in env.items()), sys.executable, "-m", "ctxtop",
                "--cache-dir", str(cache)]  # fmt: skip

    def record(variant: str, figure: str, value: float | None) -> None:
        if value is not None:
            results[variant].setdefault(figure, []).append(value)

    try:
        for n in range(args.rounds):
            for variant in variants:
                shutil.rmtree(work / "index" / variant, ignore_errors=True)
                name = f"{variant}-cold-{n}"
                started = time.monotonic()
                tmux.start(name, command(variant))
                run = watch(tmux, name, ids, started, args.timeout, until_indexed=True)
                tmux.stop(name)
                progress[variant] |= run.progress_seen
                record(variant, "cold first frame", run.first_frame)
                record(variant, "cold rows visible", run.rows)
                record(variant, "cold indexed", run.indexed)
            warm: dict[str, int] = {}
            for variant in variants:
                name = f"{variant}-warm-{n}"
                started = time.monotonic()
                warm[name] = tmux.start(name, command(variant))
                run = watch(tmux, name, ids, started, args.timeout, until_indexed=False)
                record(variant, "warm first frame", run.first_frame)
                record(variant, "warm rows visible", run.rows)
            if args.idle > 0:
                # Both TUIs idle side by side over one window: the same load weighs on both. The start-up
                # work (titles, limits, budget checks, the watcher's setup, the warm update) is over by then.
                time.sleep(args.settle)
                before = {name: group_cpu(pid) for name, pid in warm.items()}
                began = time.monotonic()
                time.sleep(args.idle)
                spent = time.monotonic() - began
                for name, pid in warm.items():
                    idle[name.split("-")[0]].append(100 * (group_cpu(pid) - before[name]) / spent)
            for name in warm:
                tmux.stop(name)
    finally:
        tmux.close()
    load = os.getloadavg()
    print(f"load average at the end: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} cores")
    figures = list(next(iter(results.values())).keys())
    header = f"{'figure (s, median of ' + str(args.rounds) + ')':<28}" + "".join(f"{v:>10}" for v in variants)
    bases = [v for v in variants if v != "after"]
    print(header + "".join(f"  after/{b}" for b in bases))
    medians: dict[str, dict[str, float]] = {}
    for variant in variants:
        medians[variant] = {f: statistics.median(vals) for f, vals in results[variant].items()}
        if idle[variant]:
            medians[variant]["idle CPU %"] = statistics.median(idle[variant])
    for figure in [*figures, "idle CPU %"] if args.idle > 0 else figures:
        cells = [medians[v].get(figure) for v in variants]
        line = f"{figure:<28}" + "".join(f"{c:>10.2f}" if c is not None else f"{'-':>10}" for c in cells)
        after = medians["after"].get(figure)
        for base in bases:
            was = medians[base].get(figure)
            ratio = f"{after / was:.2f}" if after is not None and was else "-"
            line += f"  {ratio:>{len(base) + 6}}"
        print(line)
    for variant in variants:
        print(f"{variant}: progress shown during the cold start: {'yes' if progress[variant] else 'no'}")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
