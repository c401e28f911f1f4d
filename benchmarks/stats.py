"""Session stats benchmark: the index's per-session figures (``Index._compute``) and ``metrics.compute`` alone.

On an index of a synthetic history (``benchmarks/index.py``'s, built with ``--keep``), every session's stats are
computed in a child process of this tree and, with ``--baseline-src DIR``, of another checkout's ``src``,
interleaved in rounds (median of ``--repeat``), each on its own copy of the index. Per tree, CPU seconds of:

- ``stored``: ``Index._refresh`` of every session, as a cold update ends (each session's flags, its stats
  computed and stored; rolled back);
- ``refresh``: ``Index._compute`` for every session (reading the rows back and computing; the session's
  metadata row too);
- ``compute``: ``metrics.compute`` alone on requests already loaded (``Index._load_requests``), the entry the
  OTLP export and the tests use.

The children print a digest of every session's stored stats (``metrics.to_json``); the trees' must be equal.

Usage: python benchmarks/stats.py --keep DIR [--baseline-src DIR] [--repeat 5]
(DIR holds ``claude/``, e.g. a copy of benchmarks/index.py's ``--keep`` directory; each tree's index of it is
built there once, ``cache-stats-<tree>/``.)
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

CHILD = r"""
import hashlib, json, sys, time
from pathlib import Path
from ctxtop.adapters.index import Index
from ctxtop.core import metrics

index = Index(Path(sys.argv[1]))
sids = [r[0] for r in index.conn.execute("SELECT session_id FROM sessions ORDER BY session_id")]
digest = hashlib.sha256()
started = time.process_time()
for sid in sids:
    stats = index._compute(sid)
    digest.update(json.dumps(metrics.to_json(stats), sort_keys=True).encode())
refresh = time.process_time() - started
loaded = [(sid, index._load_requests(sid), index.compactions(sid)) for sid in sids]
started = time.process_time()
for sid, requests, compactions in loaded:
    metrics.compute(sid, requests, compactions, index.prices)
compute = time.process_time() - started
index.conn.execute("BEGIN IMMEDIATE")
started = time.process_time()
index._refresh(sids)
stored = time.process_time() - started
index.conn.execute("ROLLBACK")
print(json.dumps({"refresh": refresh, "compute": compute, "stored": stored, "digest": digest.hexdigest(), "sessions": len(sids),
                  "requests": sum(len(r) for _, r, _ in loaded)}))
"""


def build_index(work: Path, name: str, src: str) -> Path:
    """An index of ``work/claude`` made by the tree in ``src`` (a cold ``report sessions``: each tree reads its
    own schema), made once and kept."""
    db = work / f"cache-stats-{name}" / "index.sqlite3"
    if not db.exists():
        env = {**os.environ, "CLAUDE_CONFIG_DIR": str(work / "claude"), "CTXTOP_CONFIG_DIR": str(work / "cfg"),
               "CTXTOP_API_LOG_DIR": str(work / "api"), "PYTHONPATH": src}  # fmt: skip
        cmd = [sys.executable, "-m", "ctxtop", "report", "sessions", "--json", "--cache-dir", str(db.parent)]
        subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL)
    found = sorted(db.parent.glob("*.sqlite3"))
    if not found:
        raise SystemExit(f"no index file in {db.parent}")
    return found[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--keep", metavar="DIR", required=True, help="directory holding claude/ (and the index)"
    )
    parser.add_argument("--baseline-src", metavar="DIR", help="also time the ctxtop in DIR (a src dir)")
    parser.add_argument("--repeat", type=int, default=5, help="rounds (median; default 5)")
    args = parser.parse_args()
    work = Path(args.keep)
    trees = {"this tree": str(REPO / "src")}
    if args.baseline_src:
        trees["baseline"] = str(Path(args.baseline_src).resolve())
    dbs = {name: build_index(work, name.replace(" ", "-"), src) for name, src in trees.items()}
    runs: dict[str, list[dict]] = {name: [] for name in trees}
    print(
        f"indexes: {', '.join(map(str, dbs.values()))}; load average before: {os.getloadavg()[0]:.2f} on "
        f"{os.cpu_count()} cores"
    )
    for _ in range(args.repeat):
        for name, src in trees.items():
            copy = work / f"stats-{name.replace(' ', '-')}.sqlite"
            shutil.copyfile(dbs[name], copy)
            env = {**os.environ, "PYTHONPATH": src}
            out = subprocess.run(
                [sys.executable, "-c", CHILD, str(copy)], env=env, capture_output=True, text=True
            )
            if out.returncode != 0:
                sys.stderr.write(out.stderr[-3000:])
                return 1
            import json

            runs[name].append(json.loads(out.stdout))
            copy.unlink()
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    median = {
        name: {k: sorted(r[k] for r in rs)[len(rs) // 2] for k in ("stored", "refresh", "compute")}
        for name, rs in runs.items()
    }
    first = next(iter(runs.values()))[0]
    print(f"{first['sessions']} sessions, {first['requests']} requests; CPU s, median of {args.repeat}")
    for name, m in median.items():
        print(f"{name:<10} stored {m['stored']:.3f}  refresh {m['refresh']:.3f}  compute {m['compute']:.3f}")
    if "baseline" in median:
        a, b = median["this tree"], median["baseline"]
        print(
            f"ratio this tree / baseline: stored {a['stored'] / b['stored']:.2f}  refresh {a['refresh'] / b['refresh']:.2f}  "
            f"compute {a['compute'] / b['compute']:.2f}"
        )
        same = {r["digest"] for rs in runs.values() for r in rs}
        print(f"stored stats, this tree vs baseline: {'identical' if len(same) == 1 else 'DIFFERENT'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
