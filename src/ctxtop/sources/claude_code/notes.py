"""What the compaction notes read of a Claude Code transcript: its decoded lines (the tail, skipping kinds that
never carry working state) and the session's title (from the head).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from ctxtop.core import notes as core_notes

TAIL_BYTES = 48 * 1024 * 1024
# Record kinds that never carry working state; skipped before JSON decoding (they can be large).
_SKIP_MARKERS = (b'"type":"progress"', b'"type":"file-history-snapshot"', b'"type":"queue-operation"')


def iter_transcript(path: Path, max_bytes: int = TAIL_BYTES) -> Iterator[dict[str, Any]]:
    """Decoded lines of a transcript, streamed; undecodable lines (a last line being written) are skipped.

    Only the last ``max_bytes`` are read: parsing runs at roughly 100 MB/s and the hook has one second, so
    for a giant transcript the recent state (and the task reminders Claude Code repeats) beats no notes.
    """
    with open(path, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        if size > max_bytes:
            fh.seek(size - max_bytes)
            fh.readline()  # the rest of a cut line
        for line in fh:
            head = line[:400]
            if any(marker in head for marker in _SKIP_MARKERS):
                continue
            try:
                obj = json.loads(line)
            except ValueError:
                continue
            if isinstance(obj, dict):
                yield obj


HEAD_BYTES = 256 * 1024


def session_title(paths: Sequence[str]) -> str | None:
    """The title of a session from the head of its main transcript (``core.notes.session_title``): the
    summary Claude Code wrote, else the first request typed."""
    for path in paths[:1]:
        try:
            with open(path, "rb") as fh:
                head = fh.read(HEAD_BYTES)
        except OSError:
            return None
        records = []
        for line in head.splitlines():
            if (
                b'"type":"user"' in line[:400]
                or b'"summary"' in line[:400]
                or b'"type": "user"' in line[:400]
            ):
                try:
                    obj = json.loads(line)
                except ValueError:
                    continue
                if isinstance(obj, dict):
                    records.append(obj)
        return core_notes.session_title(records)
    return None
