"""``hooks.log`` in the data dir: one JSON line per hook run that failed open (a timeout or an error), so a
let-through prompt or an unfiltered output can be told from a decision (``{"ts", "event", "outcome",
"detail"}``). Written by ``ctxtop.commands.hook``, read by ``ctxtop doctor``."""

from __future__ import annotations

import json
import os
import time

FAIL_OPEN_LOG = "hooks.log"
FAIL_OPEN_LOG_MAX = 256 * 1024
"""Past this size the log is moved to ``hooks.log.1`` (one generation kept)."""


def note(event: str, outcome: str, detail: str = "") -> None:
    """Append one line (file 0600, dir 0700); never raises."""
    try:
        from ctxtop.adapters import paths

        folder = paths.ensure_private_dir(paths.data_dir())
        path = folder / FAIL_OPEN_LOG
        try:
            if path.stat().st_size > FAIL_OPEN_LOG_MAX:
                os.replace(path, folder / (FAIL_OPEN_LOG + ".1"))
        except FileNotFoundError:
            pass
        line = json.dumps({"ts": time.time(), "event": event, "outcome": outcome, "detail": detail[:300]})
        fd = paths.open_private(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            os.write(fd, (line + "\n").encode())
        finally:
            os.close(fd)
    except Exception:  # noqa: BLE001 - the log is a diagnosis, never a reason to fail
        pass


def since(ts: float) -> list[dict]:
    """The entries from ``ts`` on; damaged lines are skipped."""
    from ctxtop.adapters import paths

    out = []
    for name in (FAIL_OPEN_LOG + ".1", FAIL_OPEN_LOG):
        try:
            text = paths.read_private(paths.data_dir() / name).decode("utf-8", "replace")
        except OSError:
            continue
        for line in text.splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if isinstance(entry, dict) and isinstance(entry.get("ts"), int | float) and entry["ts"] >= ts:
                out.append(entry)
    return out
