"""The filter log: one JSON line per output the filter shortened, read by ``ctxtop report noise`` and the index.

Files: ``<data_dir>/filter-log/YYYY-MM-DD.jsonl`` (UTC day of ``ts``), 0600 in a 0700 directory. Each record is
appended with one ``write`` on an ``O_APPEND`` descriptor, so concurrent hooks never interleave lines.

Record (format version 1; readers must ignore unknown keys and skip lines that do not parse)::

    {
      "v": 1,
      "ts": "2026-11-23T03:04:05.123Z",   # UTC, when the output was filtered
      "source": "post-tool-use",          # or "run" (ctxtop run / wrap mode) or "filter" (stdin)
      "session_id": "c45af7b1-...",       # Claude Code session, null when unknown
      "tool_use_id": "toolu_...",         # null when unknown
      "transcript_path": "/home/u/.claude/projects/-x/c45af7b1-....jsonl",  # null when unknown
      "cwd": "/home/u/project",
      "command": "pytest -q",
      "exit_code": 1,                      # null for post-tool-use (Claude Code only sends successes)
      "rules": ["pytest"],                 # rules that matched
      "raw_chars": 48210, "raw_tokens": 13012,            # what the command printed
      "filtered_chars": 2890, "filtered_tokens": 790,     # what the model received instead
      "raw_lines": 900, "kept_lines": 41,
      "tokenizer": "cl100k_base",          # tokens are tiktoken cl100k counts; null counts mean "not counted"
      "raw_path": "/home/u/.local/share/ctxtop/raw-outputs/20261123T030405Z-c45af7b1-1a2b3c4d.txt"
    }
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ctxtop.adapters import paths

VERSION = 1


def log_dir() -> Path:
    return paths.data_dir() / "filter-log"


def append(record: dict[str, Any], folder: Path | None = None, now: float | None = None) -> Path:
    """Append one record (``v`` and ``ts`` are filled in when missing); returns the file written."""
    folder = folder or log_dir()
    now = now if now is not None else time.time()
    rec: dict[str, Any] = {
        "v": VERSION,
        "ts": datetime.fromtimestamp(now, UTC).isoformat(timespec="milliseconds")[:-6] + "Z",
    }
    rec.update(record)
    day = rec["ts"][:10]
    paths.ensure_private_dir(folder)
    path = folder / f"{day}.jsonl"
    line = (json.dumps(rec, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8", "replace")
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o600)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)
    return path


def read(folder: Path | None = None, since: str | None = None, until: str | None = None) -> Iterator[dict]:
    """Records from the files whose UTC day is within [since - 1 day, until + 1 day] (callers filter exactly)."""
    folder = folder or log_dir()
    try:
        files = sorted(folder.glob("*.jsonl"))
    except OSError:
        return
    for path in files:
        day = path.stem
        if since and day < _shift(since, -1) or until and day > _shift(until, 1):
            continue
        try:
            fh = path.open("r", encoding="utf-8", errors="replace")
        except OSError:
            continue
        with fh:
            for line in fh:
                try:
                    rec = json.loads(line)
                except ValueError:
                    continue  # a torn last line from a killed hook
                if isinstance(rec, dict) and rec.get("v") == VERSION:
                    yield rec


def _shift(day: str, days: int) -> str:
    try:
        d = datetime.strptime(day, "%Y-%m-%d").timestamp() + days * 86400
    except ValueError:
        return day
    return datetime.fromtimestamp(d).strftime("%Y-%m-%d")
