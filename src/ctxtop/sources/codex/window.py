"""The context window Codex ran a session with, as its own log says: ``model_context_window`` of the latest
``token_count`` event (258,400 for gpt-5-codex on Codex 0.169.0: 95% of the model's 272,000, the share Codex
lets the context use). The fill ctxtop shows is the latest request's prompt over it; Codex's own "% context
left" first takes a 12,000-token baseline off both, so it reads a little lower.

Read from the end of the file on demand (at most ``MAX_SCAN`` bytes back) and remembered per (path, size,
mtime), so a view never rescans a file that did not change.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from functools import lru_cache

from ctxtop.core.compaction import CompactionInfo

RECORDED = "recorded by Codex (token_count model_context_window)"
COMPACTS_ITSELF = "Codex compacts by itself"

CHUNK = 8 * 1024
"""The first block read back from the end (the latest token_count is usually within the last lines); each
further block doubles, up to 1 MB."""
MAX_SCAN = 4 * 1024 * 1024
"""A window further back than this is not looked for (a long turn's output can sit between two events)."""
_NEEDLE = b'"model_context_window"'


def recorded_window(path: str) -> int | None:
    """``model_context_window`` of the last ``token_count`` event in the rollout at ``path``, or None."""
    try:
        info = os.stat(path)
    except OSError:
        return None
    return _scan(path, info.st_size, info.st_mtime_ns)


@lru_cache(maxsize=512)
def _scan(path: str, size: int, mtime_ns: int) -> int | None:
    try:
        fh = open(path, "rb")  # noqa: SIM115 - closed below; the loop reads backwards
    except OSError:
        return None
    with fh:
        end = size
        carry = b""
        chunk = CHUNK
        while end > 0 and size - end < MAX_SCAN:
            start = max(0, end - chunk)
            chunk = min(chunk * 2, 1024 * 1024)
            fh.seek(start)
            block = fh.read(end - start) + carry
            lines = block.split(b"\n")
            # The first piece may be the tail of a line that starts in the next block back.
            carry = lines[0] if start > 0 else b""
            for raw in reversed(lines[1:] if start > 0 else lines):
                if _NEEDLE in raw:
                    window = _window_of(raw)
                    if window is not None:
                        return window
            end = start
    return None


def _window_of(raw: bytes) -> int | None:
    try:
        obj = json.loads(raw)
    except ValueError:
        return None  # a half-written line, or text that merely mentions the field
    payload = obj.get("payload") if isinstance(obj, dict) else None
    if not (
        isinstance(payload, dict) and obj.get("type") == "event_msg" and payload.get("type") == "token_count"
    ):
        return None
    info = payload.get("info")
    window = info.get("model_context_window") if isinstance(info, dict) else None
    return window if type(window) is int and window > 0 else None


def compaction_info(
    files: Sequence[str], model: str | None, overrides: Mapping[str, int] | None = None
) -> CompactionInfo:
    """A Codex session's window and compaction, for every view: the window its newest rollout recorded (else
    the user's ``[windows]`` override for the model); no compaction point and no ctxtop threshold, since Codex
    compacts by itself and ctxtop has no hook into it."""
    window = source = None
    for path in sorted(files, key=_mtime, reverse=True):
        window = recorded_window(path)
        if window is not None:
            source = RECORDED
            break
    if window is None and model:
        best = max(
            (p for p in (overrides or {}) if model.lower().startswith(p.lower())), key=len, default=None
        )
        if best is not None:
            window, source = (overrides or {})[best], "ctxtop config [windows]"
    label = source or "not recorded by Codex"
    return CompactionInfo(
        None, label, None, False, None, COMPACTS_ITSELF,
        context_window=window, context_window_source=label, threshold_applies=False,
    )  # fmt: skip


def _mtime(path: str) -> float:
    try:
        return os.stat(path).st_mtime
    except OSError:
        return 0.0
