"""A history of many sessions from the fixture transcripts: copies with fresh ids, older copy by copy.

The first screen of a big history (issue 16) is about order and batches, not size: tests make the batches
small (``services.live.FIRST_BATCH_BYTES``) and copy the real fixture sessions a few times. Each copy gets
fresh session, message and request ids (deduplication must not merge the copies) and its own project folder;
copy ``k``'s files are ``k`` hours older than copy 0's, so "newest first" is well defined.
"""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path

from tests.support.fixtures import FIXTURES


def replicate(dest: Path, copies: int, now: float | None = None) -> list[list[str]]:
    """Write ``copies`` copies of every fixture session under ``dest/projects``; returns the session ids of
    each copy, newest copy first."""
    now = time.time() if now is None else now
    mains = sorted((FIXTURES / "projects").glob("*/*.jsonl"))
    out: list[list[str]] = []
    for copy in range(copies):
        ids = []
        for main in mains:
            sid, new = main.stem, str(uuid.uuid4())
            tag = f"c{copy:03d}".encode()
            files = [(main, dest / "projects" / f"{main.parent.name}-{copy}" / f"{new}.jsonl")]
            sub = main.with_suffix("") / "subagents"
            files += [
                (agent, files[0][1].with_suffix("") / "subagents" / agent.name)
                for agent in sub.glob("*.jsonl")
            ]
            for source, target in files:
                data = source.read_bytes().replace(sid.encode(), new.encode())
                data = data.replace(b'"msg_', b'"msg_' + tag).replace(b'"req_', b'"req_' + tag)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
                stamp = now - 3600 * copy
                os.utime(target, (stamp, stamp))
            ids.append(new)
        out.append(ids)
    return out
