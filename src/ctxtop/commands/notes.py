"""``ctxtop notes [SESSION] [--pin LINE] [--unpin LINE] [--claude-dir DIR]``: show and pin a session's
compaction notes. SESSION may be any unique prefix of the id (ctxtop shows the first 8 characters)."""

from __future__ import annotations

import argparse
import sys

from ctxtop.adapters import notes_store, paths


def run(args: argparse.Namespace) -> int:
    claude_dirs = getattr(args, "claude_dir", None)
    session_id = args.session_id or notes_store.latest_session()
    if args.session_id:
        matches = notes_store.match_sessions(args.session_id, claude_dirs)
        if len(matches) > 1:
            shown = ", ".join(m[:13] for m in matches[:5]) + (" …" if len(matches) > 5 else "")
            print(f"ctxtop: {args.session_id!r} matches {len(matches)} sessions ({shown}): give more of the id",
                  file=sys.stderr)  # fmt: skip
            return 1
        if not matches:
            where = ", ".join(str(d) for d in paths.claude_config_dirs(claude_dirs))
            print(f"ctxtop: no session id starts with {args.session_id!r} (no notes, and no transcript in {where})",
                  file=sys.stderr)  # fmt: skip
            return 1
        session_id = matches[0]
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
    transcript = notes_store.find_transcript(session_id, claude_dirs)
    text = notes_store.rebuild(session_id, transcript) if transcript else None
    text = text or notes_store.load_notes(session_id)
    if text is None:
        if args.pin or args.unpin:
            return 0
        print(f"ctxtop: no notes and no transcript found for session {session_id}", file=sys.stderr)
        return 1
    print(f"# notes for session {session_id} ({notes_store.notes_path(session_id)})", file=sys.stderr)
    sys.stdout.write(text)
    return 0
