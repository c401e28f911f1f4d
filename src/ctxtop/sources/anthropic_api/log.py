"""The API session log: one JSON object per line per Anthropic API request, in ``<log_dir>/<session_id>.jsonl``.

Written by :mod:`ctxtop.api` (through :mod:`ctxtop.sources.anthropic_api.wrapper`) and read by the index. Other
tools may write the same schema (documented in README, "API session log schema"). This module never imports
``anthropic``: the index reads logs without paying for the SDK.

Schema 1 (one JSON object per line; readers must ignore keys they do not know):

- ``type`` "api_request"; ``schema`` 1; ``timestamp`` ISO 8601 UTC with ``Z`` (when the request ended);
  ``session_id``; ``request_id`` (the ``request-id`` response header, or null); ``message_id`` (or null);
  ``model`` (the response's model, else the requested one).
- ``usage``: the response's usage object exactly as the API returned it (``input_tokens``, ``output_tokens``,
  ``cache_read_input_tokens``, ``cache_creation_input_tokens``, ``cache_creation`` {``ephemeral_5m_input_tokens``,
  ``ephemeral_1h_input_tokens``}, ``server_tool_use`` {``web_search_requests``, ``web_fetch_requests``},
  ``service_tier``, ``iterations``, ... with nulls kept); for streams, ``message_start`` usage overwritten by
  the cumulative counts of ``message_delta``. Null when the request failed before any usage was reported.
- ``service_tier`` (copy of ``usage.service_tier``); ``latency_ms`` (float); ``stream`` (bool); ``batch`` (false);
  ``cwd``; ``prompt_parts`` {``system_chars``, ``tools_chars``, ``messages_chars``, ``messages``} (sizes of the
  request's JSON, optional, may be null); ``error`` (exception class name, e.g. "RateLimitError", or null).
- ``compaction``: null, or {``kind``: "server"|"client", ``trigger_tokens``, ``triggered``, ...}. "server" is on
  every request that carried the ``compact_20260112`` edit, with ``triggered`` true when the response shows a
  compaction (a compaction block or a ``usage.iterations`` entry of type "compaction"). "client" is on the
  summariser request of a client-side compaction (its usage is the compaction's cost; also ``pre_tokens``,
  ``summarised_messages``, ``kept_messages``, ``summariser`` true). Count compactions where ``triggered`` is true.

Concurrency: every record is one ``os.write`` of a complete line on a descriptor opened with ``O_APPEND``, so
several processes appending to the same session file never interleave within a line (POSIX appends of a
regular file are atomic with respect to the file offset).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ctxtop.adapters.paths import api_log_dir, ensure_private_dir, open_private

SCHEMA = 1
RECORD_TYPE = "api_request"

# Session ids become file names: keep them to a safe alphabet so an id can never escape the log dir.
_SESSION_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")

# Keys every record carries; the reader rejects lines without them.
REQUIRED_KEYS = ("type", "schema", "timestamp", "session_id", "model", "usage")


def validate_session_id(session_id: str) -> str:
    """Return ``session_id`` if it is usable as a file name, else raise ``ValueError``."""
    if not isinstance(session_id, str) or not _SESSION_ID.match(session_id):
        raise ValueError(f"session_id must match {_SESSION_ID.pattern}: {session_id!r}")
    return session_id


def utc_timestamp(moment: datetime | None = None) -> str:
    """ISO 8601 in UTC with a ``Z`` suffix and millisecond precision."""
    moment = (moment or datetime.now(UTC)).astimezone(UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class ApiLogWriter:
    """Appends records for one session to ``<log_dir>/<session_id>.jsonl`` (dir 0700, file 0600)."""

    def __init__(self, session_id: str, log_dir: Path | str | None = None) -> None:
        self.session_id = validate_session_id(session_id)
        self.log_dir = Path(log_dir).expanduser() if log_dir is not None else api_log_dir()
        self.path = self.log_dir / f"{session_id}.jsonl"
        self._dir_ready = False

    def append(self, record: Mapping[str, Any]) -> None:
        """Write ``record`` as one line with a single ``write`` on an ``O_APPEND`` descriptor."""
        if not self._dir_ready:
            ensure_private_dir(self.log_dir)
            self._dir_ready = True
        data = (json.dumps(record, ensure_ascii=False, separators=(",", ":"), default=str) + "\n").encode()
        # Never through a planted symbolic link, never into a FIFO or another user's file.
        fd = open_private(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            written = os.write(fd, data)
            # A short write on a regular file means a full disk or similar; finishing it keeps the line whole
            # for the reader even if another writer could slip in between (rare, and then one line is lost).
            while written < len(data):
                written += os.write(fd, data[written:])
        finally:
            os.close(fd)


def parse_api_line(line: bytes | str) -> dict[str, Any] | None:
    """Parse one log line into a record dict, or ``None`` if it is not a valid ``api_request`` record."""
    try:
        record = json.loads(line)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(record, dict) or record.get("type") != RECORD_TYPE:
        return None
    if any(key not in record for key in REQUIRED_KEYS):
        return None
    if not isinstance(record["schema"], int) or not isinstance(record["session_id"], str):
        return None
    usage = record["usage"]
    if usage is not None and not isinstance(usage, dict):
        return None
    return record


def iter_api_records(path: Path | str) -> Iterator[dict[str, Any]]:
    """Yield every valid record of the log file ``path``, skipping malformed lines and a half-written last one."""
    for _, record in read_api_records(path):
        yield record


def read_api_records(
    path: Path | str,
    *,
    offset: int = 0,
    on_malformed: Callable[[int, bytes], None] | None = None,
) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(end_offset, record)`` for each complete, valid line of ``path`` from byte ``offset``.

    ``end_offset`` is the byte offset just past the record's newline, so a caller can persist it and resume
    there. A last line without its newline is being written: it is not yielded (resume from the last
    ``end_offset`` to pick it up later). Malformed complete lines are skipped and reported to ``on_malformed``
    with their start offset.
    """
    with open(path, "rb") as fh:
        fh.seek(offset)
        position = offset
        for line in fh:
            if not line.endswith(b"\n"):
                return
            start, position = position, position + len(line)
            if not line.strip():
                continue
            record = parse_api_line(line)
            if record is None:
                if on_malformed is not None:
                    on_malformed(start, line)
                continue
            yield position, record
