"""Index benchmark: cold and warm `ctxtop report sessions --json` (or ``--report``'s) vs ccusage, synthetic history.

Builds a history of the given size (default 300 MB) by replicating the real corpus sessions with fresh
session, message and request ids (so deduplication cannot collapse the copies), then measures in the same
run, each command as a child process in its own process group:

- ctxtop cold (empty cache dir) and warm (second run, nothing new);
- with ``--baseline-src DIR`` (another checkout's ``src``, e.g. ``git archive main src | tar -x -C /tmp/main``)
  the same cold and warm runs of that code, interleaved with this tree's; their outputs are compared byte for
  byte (``report sessions --json`` must not change);
- ccusage 20.0.x `session --json --offline`: its native (Rust) build, the binary the npm package's optional
  dependency ships (``@ccusage/ccusage-<os>-<arch>``), run directly; the line ``ccusage build`` says which
  binary was timed (the Node wrapper only when no native binary is installed).

Every command is repeated (``--repeat``, median) in rounds: this tree, the baseline, ccusage, so that the load
of a shared machine falls on all of them alike. Per command: wall seconds, CPU seconds (user + system, the
children it waited for included, e.g. index workers), CPU ms per MB of history, and the peak resident memory
of its whole process group (sampled every 10 ms from /proc and summed, as RSS and as PSS, which splits the
pages a forked worker shares with its parent; children included), beside the
largest single process's peak (``wait4``).

Usage: python benchmarks/index.py [--mb 300] [--keep DIR] [--baseline-src DIR] [--src DIR] [--repeat 3]
[--no-cold|--no-warm] [--report sessions|daily|weekly|monthly]. ``--no-cold`` times warm runs beside ccusage
only, on the indexes ``--keep`` holds (one untimed run of each tree first builds or refreshes them), for a warm
path too short to measure beside cold runs' noise; ``--report`` times another report (as JSON, beside
ccusage's of the same figures).
Figures are printed as absolute values and as ratios against ccusage measured in the same run.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures" / "claude"
PUBLIC = REPO.parent / "shared" / "corpus" / "public"  # real sessions, when present beside the repo
NODE_MODULES = REPO / "tests" / "e2e" / "node_modules"
PAGE = os.sysconf("SC_PAGE_SIZE")
CCUSAGE_REPORTS = {"sessions": "session", "daily": "daily", "weekly": "weekly", "monthly": "monthly"}
"""ctxtop's report: ccusage's command of the same figures."""


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


@dataclass
class Run:
    wall: float
    cpu: float
    """User + system seconds of the process and of the children it waited for."""
    group_rss_mb: float
    """Peak of the summed resident memory (RSS) of every process in its process group."""
    group_pss_mb: float
    """Peak of the summed proportional set size (PSS: shared pages split between their processes)."""
    max_rss_mb: float
    """Peak resident memory of the largest single process (``wait4``)."""
    code: int


def _group_rss(pgid: int) -> tuple[int, int]:
    """Resident bytes of every process in process group ``pgid`` now, summed two ways: RSS (a page two
    processes share, e.g. a forked worker's copy-on-write pages, counts in each) and PSS (a shared page
    counts a share in each: the group's real footprint; 0 where ``smaps_rollup`` is missing)."""
    rss = pss = 0
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as fh:
                fields = fh.read().rsplit(b")", 1)[1].split()
            if int(fields[2]) != pgid:  # fields after "(comm)": state, ppid, pgrp, ...
                continue
            with open(f"/proc/{name}/statm", "rb") as fh:
                rss += int(fh.read().split()[1]) * PAGE
            with open(f"/proc/{name}/smaps_rollup", "rb") as fh:
                for line in fh:
                    if line.startswith(b"Pss:"):
                        pss += int(line.split()[1]) * 1024
                        break
        except (OSError, IndexError, ValueError):
            continue  # exited meanwhile
    return rss, pss


def measure(cmd: list[str], env: dict[str, str], stdout: Path | None = None) -> Run:
    """One child process in a process group of its own (its workers included), timed and sampled."""
    out = open(stdout, "wb") if stdout else subprocess.DEVNULL  # noqa: SIM115 - closed below
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.PIPE, start_new_session=True)
    peak = [0, 0]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            rss, pss = _group_rss(proc.pid)
            peak[0], peak[1] = max(peak[0], rss), max(peak[1], pss)
            done.wait(0.01)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    err = proc.stderr.read() if proc.stderr is not None else b""
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    done.set()
    sampler.join()
    if stdout:
        out.close()  # type: ignore[union-attr]
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        sys.stderr.write(err.decode(errors="replace")[-2000:])
    cpu = usage.ru_utime + usage.ru_stime
    max_rss = usage.ru_maxrss / 1024
    # A spike shorter than the sampling interval is still bounded below by the largest process's own peak.
    return Run(wall, cpu, max(peak[0] / 2**20, max_rss), peak[1] / 2**20, max_rss, code)


def _median(runs: list[Run]) -> Run:
    """The run of median wall time, with the median CPU and memory of all runs."""
    n = len(runs) // 2
    mid = sorted(runs, key=lambda r: r.wall)[n]
    return Run(
        mid.wall,
        sorted(r.cpu for r in runs)[n],
        sorted(r.group_rss_mb for r in runs)[n],
        sorted(r.group_pss_mb for r in runs)[n],
        sorted(r.max_rss_mb for r in runs)[n],
        max(r.code for r in runs),
    )


def find_ccusage() -> tuple[list[str], str] | None:
    """The command to time for ccusage and a description of the build it is."""
    arch = {"x86_64": "x64", "amd64": "x64", "aarch64": "arm64", "arm64": "arm64"}.get(
        platform.machine().lower()
    )
    osname = {"linux": "linux", "darwin": "darwin", "win32": "win32"}.get(sys.platform)
    wrapper = NODE_MODULES / ".bin" / "ccusage"
    native = NODE_MODULES / "@ccusage" / f"ccusage-{osname}-{arch}" / "bin" / "ccusage"
    if native.is_file():
        if not os.access(native, os.X_OK) and wrapper.exists():
            # npm unpacks the binary without its x bit; the wrapper sets it on first use.
            subprocess.run([str(wrapper), "--version"], capture_output=True, check=False)
        if os.access(native, os.X_OK):
            version = subprocess.run([str(native), "--version"], capture_output=True, text=True, check=False)
            return [str(native)], f"native {version.stdout.strip()} ({native.relative_to(REPO)})"
    if wrapper.exists():
        return [str(wrapper)], f"npm wrapper {wrapper} (no native binary found)"
    found = shutil.which("ccusage")
    return ([found], f"{found} on PATH (build unknown)") if found else None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=300, help="history size in MB (default 300)")
    parser.add_argument("--keep", metavar="DIR", help="build the history in DIR (or reuse it) and keep it")
    parser.add_argument("--repeat", type=int, default=3, help="rounds of every command (median; default 3)")
    parser.add_argument("--baseline-src", metavar="DIR", help="also time the ctxtop in DIR (a src dir)")
    parser.add_argument(
        "--report",
        choices=CCUSAGE_REPORTS,
        default="sessions",
        help="the report timed, as JSON (default sessions; ccusage's of the same name beside it)",
    )
    parser.add_argument("--no-warm", action="store_true", help="cold runs only")
    parser.add_argument(
        "--no-cold",
        action="store_true",
        help="warm runs only (with ccusage): each tree's index is built once, untimed, when --keep has none",
    )
    parser.add_argument("--src", metavar="DIR", help="time the ctxtop in DIR as this tree (e.g. a snapshot)")
    args = parser.parse_args()
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="ctxtop-bench-"))
    history = work / "claude"
    if not (history / "projects").is_dir():
        started = time.perf_counter()
        files, size = build_history(history, args.mb)
        print(f"history: {files} files, {size / 1e6:.0f} MB, built in {time.perf_counter() - started:.1f} s")
    size = sum(p.stat().st_size for p in (history / "projects").rglob("*.jsonl"))
    mb = size / 1e6
    print(f"history: {mb:.0f} MB; load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CLAUDE_", "ANTHROPIC_"))}
    env.pop("PYTHONPATH", None)
    # An installed ctxtop runs from cached bytecode: without it every run would compile ~40 modules again
    # (~60 ms, most of a warm run at 100 MB), which no user pays.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.update(
        CLAUDE_CONFIG_DIR=str(history),
        CTXTOP_CONFIG_DIR=str(work / "cfg"),
        CTXTOP_API_LOG_DIR=str(work / "api"),
    )
    trees = {"ctxtop": {**env, "PYTHONPATH": str(Path(args.src).resolve())} if args.src else env}
    if args.baseline_src:
        trees["baseline"] = {**env, "PYTHONPATH": str(Path(args.baseline_src).resolve())}
    ccusage = find_ccusage()
    print(f"ccusage build: {ccusage[1] if ccusage else 'not installed (npm ci --prefix tests/e2e)'}")

    def ctxtop(name: str) -> list[str]:
        cache = work / f"cache-{name}"
        return [sys.executable, "-m", "ctxtop", "report", args.report, "--json", "--cache-dir", str(cache)]

    runs: dict[str, list[Run]] = {}
    for _ in range(0 if args.no_cold else args.repeat):
        for name, tree_env in trees.items():
            shutil.rmtree(work / f"cache-{name}", ignore_errors=True)
            runs.setdefault(f"{name} cold", []).append(
                measure(ctxtop(name), tree_env, work / f"out-{name}.json")
            )
        if ccusage:
            runs.setdefault("ccusage", []).append(
                measure([*ccusage[0], CCUSAGE_REPORTS[args.report], "--json", "--offline"], env)
            )
    if args.no_cold:
        for name, tree_env in trees.items():
            # Untimed: builds the index when there is none, and leaves the record the warm path checks
            # (a run of other code, or after edits, renders and records again).
            measure(ctxtop(name), tree_env, work / f"out-{name}.json")
    if not args.no_warm:
        for _ in range(args.repeat):
            for name, tree_env in trees.items():
                runs.setdefault(f"{name} warm", []).append(
                    measure(ctxtop(name), tree_env, work / f"out-{name}-warm.json")
                )
            if ccusage and args.no_cold:
                runs.setdefault("ccusage", []).append(
                    measure([*ccusage[0], CCUSAGE_REPORTS[args.report], "--json", "--offline"], env)
                )
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    results = {name: _median(r) for name, r in runs.items()}
    print(f"{'command':<16} {'wall s':>7} {'CPU s':>7} {'CPU ms/MB':>10} {'group RSS MB':>13} {'group PSS MB':>13} {'max RSS MB':>11}"
          f"  exit   (median of {args.repeat})")  # fmt: skip
    for name, r in results.items():
        print(f"{name:<16} {r.wall:>7.3f} {r.cpu:>7.3f} {r.cpu * 1000 / mb:>10.2f} {r.group_rss_mb:>13.0f} {r.group_pss_mb:>13.0f} "
              f"{r.max_rss_mb:>11.0f}  {r.code}")  # fmt: skip
    base = results.get("ccusage")
    for name, r in results.items():
        if base is not None and name != "ccusage":
            print(f"ratio {name}/ccusage: wall {r.wall / base.wall:.2f}  CPU {r.cpu / base.cpu:.2f}  "
                  f"group RSS {r.group_rss_mb / base.group_rss_mb:.2f}  "
                  f"group PSS {r.group_pss_mb / max(base.group_pss_mb, 1e-9):.2f}")  # fmt: skip
    if args.baseline_src:
        for mode in ("cold", "warm"):
            a, b = results.get(f"ctxtop {mode}"), results.get(f"baseline {mode}")
            if a and b:
                print(f"ratio {mode} this tree / baseline: wall {a.wall / b.wall:.2f}  CPU {a.cpu / b.cpu:.2f}  "
                      f"group RSS {a.group_rss_mb / b.group_rss_mb:.2f}  "
                      f"group PSS {a.group_pss_mb / max(b.group_pss_mb, 1e-9):.2f}")  # fmt: skip
        for mode in ("", "-warm"):
            mine, theirs = work / f"out-ctxtop{mode}.json", work / f"out-baseline{mode}.json"
            if mine.is_file() and theirs.is_file():
                same = mine.read_bytes() == theirs.read_bytes()
                print(f"report {args.report} --json{' (warm)' if mode else ''}, this tree vs baseline: "
                      f"{'byte-identical' if same else 'DIFFERENT'}")  # fmt: skip
    if not args.no_warm:
        for name in trees:
            cold, warm = work / f"out-{name}.json", work / f"out-{name}-warm.json"
            if cold.is_file():
                same = cold.read_bytes() == warm.read_bytes()
                first = "the untimed first run" if args.no_cold else "cold"
                print(f"report {args.report} --json, {name} warm vs {first}: "
                      f"{'byte-identical' if same else 'DIFFERENT'}")  # fmt: skip
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
