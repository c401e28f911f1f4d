"""``ctxtop notes [SESSION] [--pin LINE] [--unpin LINE]``: show and pin a session's compaction notes."""

from __future__ import annotations

import argparse
import sys

from ctxtop.adapters import notes_store


def run(args: argparse.Namespace) -> int:
    session_id = args.session_id or notes_store.latest_session()
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
    text = notes_store.rebuild(session_id) or notes_store.load_notes(session_id)
    if text is None:
        if args.pin or args.unpin:
            return 0
        print(f"ctxtop: no notes and no transcript found for session {session_id}", file=sys.stderr)
        return 1
    print(f"# notes for session {session_id} ({notes_store.notes_path(session_id)})", file=sys.stderr)
    sys.stdout.write(text)
    return 0
