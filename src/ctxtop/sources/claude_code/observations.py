"""What Claude Code itself reported for a session: the statusLine input, latest refresh per session.

``ctxtop statusline`` receives, on every refresh, Claude Code's own figures: ``context_window``
(``context_window_size``, ``used_percentage``, ``current_usage``), ``cost``, ``rate_limits`` (five-hour and
seven-day use with reset times, where the account has them), ``exceeds_200k_tokens``, ``model``, ``version``
and ``session_id``. The latest one per session is kept in ``<data dir>/observed/<session>.json`` (dir 0700,
files 0600, replaced atomically: a reader sees the old file or the new one). Every surface prefers a fresh
observation to its own inference (``ctxtop.core.window.resolve_window``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from ctxtop.adapters import paths
from ctxtop.core.window import Observed
from ctxtop.statusline_fast import read_private, safe_id

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

FRESH_SECONDS = 15 * 60
"""An observation older than this is not used for the plan limits (they move by the minute)."""


def observed_dir() -> Path:
    return paths.data_dir() / "observed"


def record(payload: dict[str, Any], now: float | None = None, directory: Path | None = None) -> Path | None:
    """Keep what Claude Code reported; returns the file written, or None when nothing could be kept."""
    from ctxtop.statusline_fast import record_observation  # the one writer: the fast path records with it

    written = record_observation(payload, now, str(directory or observed_dir()))
    return Path(written) if written else None


def load(session_id: str, directory: Path | None = None) -> dict[str, Any] | None:
    """The latest observation of ``session_id``, or None."""
    if not safe_id(session_id):
        return None
    return _read((directory or observed_dir()) / f"{session_id}.json")


def load_all(directory: Path | None = None) -> dict[str, dict[str, Any]]:
    """Every session's latest observation, by session id."""
    folder = directory or observed_dir()
    out: dict[str, dict[str, Any]] = {}
    try:
        names = os.listdir(folder)
    except OSError:
        return out
    for name in names:
        if name.endswith(".json") and not name.startswith("."):
            data = _read(folder / name)
            # Only ``<session>.json`` is the session's (as ``record`` names it, ``load`` reads it and the kept
            # rows and outputs are checked by): a copy under another name is not, whatever it says inside.
            if data is not None and data.get("session_id") == name[:-5]:
                out[name[:-5]] = data
    return out


def _read(path: Path) -> dict[str, Any] | None:
    raw = read_private(str(path), 1_000_000)
    if raw is None:
        return None
    try:
        data = json.loads(raw)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def as_observed(data: dict[str, Any] | None) -> Observed | None:
    """The window facts of an observation (None when it carries no window)."""
    if not data:
        return None
    cw = data.get("context_window")
    if not isinstance(cw, dict):
        return None
    window = cw.get("context_window_size")
    if isinstance(window, bool) or not isinstance(window, int) or window <= 0:
        return None
    model = data.get("model")
    model_id = model.get("id") if isinstance(model, dict) else None
    used = cw.get("used_percentage")
    ts = data.get("observed_at")
    return Observed(
        window,
        model_id if isinstance(model_id, str) else None,
        float(ts) if isinstance(ts, int | float) else 0.0,
        float(used) if isinstance(used, int | float) and not isinstance(used, bool) else None,
    )
