"""``ctxtop statusline``: one line for Claude Code's ``statusLine`` (its JSON arrives on stdin).

Every refresh first keeps what Claude Code reported (``ctxtop.sources.claude_code.observations``), then prints fill,
room before compaction, re-reads and cost computed by the same ``SessionView`` the report and the TUI use.

Within a time budget whatever the input: stdin is read with a deadline and a size cap; a transcript that is
not a regular file is never opened; the index update runs in a worker thread, and when it does not finish in
time (a first read of a huge transcript) the line degrades to Claude Code's own figures. Any error prints a
short fallback and exits 0, so Claude Code's status line never shows a traceback. With ``--then CMD`` (what
``claude install --statusline`` writes when you already had a statusline) your command runs first with the
same input and its output is kept, ctxtop's segment after it.

A refresh whose transcript, settings and window facts did not change since the last full render is answered
by ``ctxtop.statusline_fast`` before this module (or anything heavier) is imported; every full render here
leaves that cache behind for the next refresh.
"""

from __future__ import annotations

import json
import os
import sys
import time

from ctxtop import statusline_fast as fast
from ctxtop.services.statusline import claude_figures, render_and_keep

TYPE_CHECKING = False
if TYPE_CHECKING:  # argparse is not imported on the hook/statusline fast path
    import argparse
    from collections.abc import Callable

BUDGET = fast.BUDGET
STDIN_LIMIT = fast.STDIN_LIMIT


read_stdin = fast.read_stdin


def _run_user_command(command: str, raw: bytes, deadline: float) -> str:
    """The user's own statusline: same input, its first line kept; never more than the budget allows."""
    return fast._user_command(command, raw, deadline)


def run(args: argparse.Namespace) -> int:
    started = time.monotonic()
    deadline = started + BUDGET
    then = getattr(args, "then", None)
    line = ""
    payload: dict = {}
    pending, fast.PENDING = fast.PENDING, None
    if pending is not None:  # the fast path read the input already (and had no cached answer)
        raw, started = pending
        deadline = started + BUDGET
    try:
        if pending is None:
            raw = read_stdin(started + BUDGET / 3)
        data = json.loads(raw) if raw.strip() else {}
        payload = data if isinstance(data, dict) else {}
        prefix = _run_user_command(then, raw, started + BUDGET / 2) if then else ""
        from ctxtop.sources.claude_code import observations

        observations.record(payload)
        line = _join(
            prefix,
            _within(
                lambda: render_and_keep(payload, getattr(args, "cache_dir", None), then),
                deadline,
                payload,
                prefix,
            ),  # fmt: skip
        )
    except Exception as exc:  # noqa: BLE001 - a status line must never fail loudly
        line = f"ctxtop: {type(exc).__name__}"
    sys.stdout.write(line + "\n")
    sys.stdout.flush()
    return 0


_join = fast.join


def _within(compute: Callable[[], str], deadline: float, payload: dict, prefix: str) -> str:
    """``compute()`` in a worker thread; past ``deadline``, Claude Code's own figures and exit at once."""
    import threading

    result: list[str] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            result.append(compute())
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    worker = threading.Thread(target=work, daemon=True)
    worker.start()
    worker.join(max(deadline - time.monotonic(), 0.0))
    if result:
        return result[0]
    if errors:
        raise errors[0]
    # The worker may hold the index mid-transaction: leave without waiting (SQLite rolls it back).
    sys.stdout.write(_join(prefix, claude_figures(payload)) + "\n")
    sys.stdout.flush()
    os._exit(0)
