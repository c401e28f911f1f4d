"""``ctxtop notes [SESSION] [--pin LINE] [--unpin LINE] [--claude-dir DIR]``: show and pin a session's
compaction notes. SESSION may be any unique prefix of the id, or the short id ctxtop shows (``core.session_ids``)."""

from __future__ import annotations

import argparse
import sys

from ctxtop.adapters import notes_store
from ctxtop.commands._common import open_monitor
from ctxtop.services import notes
from ctxtop.services.monitor import Monitor


def run(args: argparse.Namespace) -> int:
    # The index knows every session and where its transcript is (the one session -> file lookup).
    monitor = open_monitor(args, quiet=True)
    try:
        return _run(args, monitor)
    finally:
        monitor.close()


def _run(args: argparse.Namespace, monitor: Monitor) -> int:
    session_id = args.session_id or notes_store.latest_session()
    if args.session_id:
        matches = notes.match_sessions(monitor.index, args.session_id)
        if len(matches) > 1:
            shown = ", ".join(m[:13] for m in matches[:5]) + (" …" if len(matches) > 5 else "")
            print(f"ctxtop: {args.session_id!r} matches {len(matches)} sessions ({shown}): give more of the id",
                  file=sys.stderr)  # fmt: skip
            return 1
        if not matches:
            where = ", ".join(str(d) for s in monitor.sources.sources for d in s.locations())
            print(f"ctxtop: no session id starts with {args.session_id!r} (no notes, and no transcript in {where})",
                  file=sys.stderr)  # fmt: skip
            return 1
        session_id = matches[0]
        # The index knows every source's sessions: notes are Claude Code's (nothing is pinned for another).
        refusal = monitor.compacts_itself(session_id)
        if refusal:
            print(f"ctxtop: session {session_id}: {refusal}", file=sys.stderr)
            return 1
    if not session_id:
        print(
            "ctxtop: no notes yet; they are written when Claude Code compacts a session "
            "(after `ctxtop claude install`), or name a session id",
            file=sys.stderr,
        )
        return 1
    for line in args.pin or ():
        done = notes_store.pin(session_id, line)
        print(f"{'pinned' if done else 'already pinned'}: {line}", file=sys.stderr)
    for line in args.unpin or ():
        done = notes_store.unpin(session_id, line)
        print(f"{'unpinned' if done else 'not pinned'}: {line}", file=sys.stderr)
    text = notes.current(monitor.index, session_id)
    if text is None:
        if args.pin or args.unpin:
            return 0
        print(f"ctxtop: no notes and no transcript found for session {session_id}", file=sys.stderr)
        return 1
    print(f"# notes for session {session_id} ({notes_store.notes_path(session_id)})", file=sys.stderr)
    sys.stdout.write(text)
    return 0
