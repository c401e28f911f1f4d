"""``ctxtop history export|import``: past sessions as JSON Lines, for a new machine or a teammate."""

from __future__ import annotations

import argparse
import sys

from ctxtop.commands._common import open_monitor, parse_day


def export(args: argparse.Namespace) -> int:
    import orjson

    from ctxtop.adapters import index_io

    monitor = open_monitor(args)
    out = sys.stdout.buffer
    n = 0
    for record in index_io.export(monitor.index, parse_day(args.since), parse_day(args.until, end=True)):
        out.write(orjson.dumps(record) + b"\n")
        n += 1
    sys.stdout.flush()
    print(f"ctxtop: exported {n:,} records", file=sys.stderr)
    return 0


def import_(args: argparse.Namespace) -> int:
    from ctxtop.adapters import index_io

    monitor = open_monitor(args)
    try:
        fh = sys.stdin.buffer if args.file == "-" else open(args.file, "rb")  # noqa: SIM115
    except OSError as exc:
        print(f"ctxtop: cannot read {args.file}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    with fh:
        result = index_io.import_lines(monitor.index, fh, monitor.sources)
    for problem in result.skipped[:20]:
        print(f"ctxtop: skipped {problem}", file=sys.stderr)
    if len(result.skipped) > 20:
        print(f"ctxtop: ... and {len(result.skipped) - 20} more skipped lines", file=sys.stderr)
    print(
        f"Imported {result.added:,} requests and {result.compactions:,} compactions into "
        f"{len(result.sessions):,} sessions; {result.present:,} requests were already in the index"
        + (f"; {len(result.skipped):,} lines skipped" if result.skipped else "")
    )
    return 0
