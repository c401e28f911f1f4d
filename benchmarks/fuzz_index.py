"""Fuzz the index at length: N mutated real transcripts (see tests/support/fuzz_transcripts.py), each indexed
cold and incrementally in random chunks, in a child process with a time limit (a hang counts as a failure).

Usage: python benchmarks/fuzz_index.py [N] [--seed S] [--timeout SECONDS]
Prints cases run, crashes, hangs, malformed-count mismatches and cold/incremental mismatches; the first few
failing cases are written to a directory (printed) so that they can be replayed. Exit code 1 on any failure.
"""

from __future__ import annotations

import argparse
import multiprocessing
import random
import sys
import tempfile
import time
import traceback
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.conftest import CORPUS  # noqa: E402
from tests.support.fuzz_transcripts import KINDS, TRANSCRIPTS, Mutation, mutate, run_case  # noqa: E402


def _case(rng: random.Random) -> tuple[str, list[Mutation], list[float]]:
    changes = [
        Mutation(rng.choice(KINDS), rng.random(), rng.randrange(2**16)) for _ in range(rng.randint(1, 5))
    ]
    cuts = [rng.random() for _ in range(rng.randint(1, 8))]
    return rng.choice(TRANSCRIPTS), changes, cuts


def _worker(jobs, results, work: str) -> None:  # type: ignore[no-untyped-def]
    for n, rel, data, cuts in iter(jobs.get, None):
        try:
            cold, incremental, malformed = run_case(Path(work) / f"w{n}", rel, data, cuts)
            counted = sum(f[2] for f in cold[1])
            verdict = (
                "ok"
                if counted == malformed and cold == incremental
                else ("malformed" if counted != malformed else "mismatch")
            )
            results.put((n, verdict, f"counted {counted}, expected {malformed}"))
        except BaseException:  # noqa: BLE001 - a crash is what this looks for
            results.put((n, "crash", traceback.format_exc(limit=6)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", nargs="?", type=int, default=2000, help="cases (default 2000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per case before it is a hang")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    originals = {rel: (CORPUS / rel).read_bytes() for rel in TRANSCRIPTS}
    work = Path(tempfile.mkdtemp(prefix="ctxtop-fuzz-"))
    failures = work / "failures"
    failures.mkdir()
    counts = {"ok": 0, "crash": 0, "hang": 0, "malformed": 0, "mismatch": 0}
    ctx = multiprocessing.get_context("spawn")
    jobs, results = ctx.Queue(), ctx.Queue()

    def start():  # type: ignore[no-untyped-def]
        proc = ctx.Process(target=_worker, args=(jobs, results, str(work)), daemon=True)
        proc.start()
        return proc

    proc = start()
    started = time.perf_counter()
    for n in range(args.n):
        rel, changes, cuts = _case(rng)
        data = originals[rel]
        for change in changes:
            data = mutate(data, change)
        jobs.put((n, rel, data, cuts))
        try:
            _, verdict, detail = results.get(timeout=args.timeout)
        except Exception:  # noqa: BLE001 - queue.Empty: the case hangs
            verdict, detail = "hang", f"no answer in {args.timeout:g} s"
            proc.kill()
            proc = start()
        counts[verdict] += 1
        if verdict != "ok" and counts[verdict] <= 5:
            case = failures / f"{verdict}-{n}"
            case.mkdir()
            (case / Path(rel).name).write_bytes(data)
            (case / "case.txt").write_text(f"{rel}\n{changes}\ncuts={cuts}\n{detail}\n")
    jobs.put(None)
    proc.join(timeout=10)
    seconds = time.perf_counter() - started
    bad = sum(v for k, v in counts.items() if k != "ok")
    print(
        f"cases {args.n} (seed {args.seed}) in {seconds:.0f} s: "
        + ", ".join(f"{k} {v}" for k, v in counts.items())
    )
    if bad:
        print(f"failing cases kept in {failures}")
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
