"""``ctxtop hook EVENT``: Claude Code hook entry point. Reads the hook's JSON on stdin, always exits 0.

Fail open is owned here, for every event: any exception, unreadable input, input over ``MAX_INPUT_BYTES``
(read no further) or a run over ``BUDGET_S`` seconds (``EVENT_BUDGETS_S`` for the events allowed more; counted
from process start) ends the process with status 0 and nothing on stdout, which Claude Code takes as "no
change"; a timeout or an error is noted in the data dir's ``hooks.log``. Handlers live in their own modules, imported lazily so each event pays only for its own
imports; each is ``handler(payload: dict) -> str | None`` and the string, if any, is printed as the reply.
Work that may run after the reply (logging, accounting) is registered with :func:`defer`; it runs in a
forked, detached child with stdio on /dev/null, so Claude Code gets the reply and the exit at once and the
child is not bound by the budget (where fork is unavailable it runs inline, within the budget).
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import threading
import time
from collections.abc import Callable
from typing import IO, Any

from ctxtop.adapters import hook_log  # small: it imports paths only when a note is written

TYPE_CHECKING = False
if TYPE_CHECKING:  # argparse is not imported on the hook/statusline fast path
    import argparse

BUDGET_S = 1.0
MAX_INPUT_BYTES = 4 * 1024 * 1024
"""Hook input beyond this is not read at all: the hook answers "no change" at once (Claude Code's own inputs
are far smaller: it sends PostToolUse at most 30,000 characters of output)."""

HANDLERS: dict[str, tuple[str, str]] = {
    "pre-compact": ("ctxtop.commands.hook_compact", "pre_compact"),
    "session-start": ("ctxtop.commands.hook_compact", "session_start"),
    "post-tool-use": ("ctxtop.commands.hook_filter", "post_tool_use"),
    "pre-tool-use": ("ctxtop.commands.hook_filter", "pre_tool_use"),
    "user-prompt-submit": ("ctxtop.commands.hook_budget", "user_prompt_submit"),
}

EVENT_BUDGETS_S = {"user-prompt-submit": 4.0}
"""Events allowed more than ``BUDGET_S``: the budget hook reads the session's new transcript lines and prices
them before the prompt is sent, which a loaded machine cannot promise in 1 s (measured: a cold first run
takes 0.8 s at load 6). Claude Code's own timeout for ctxtop's hooks is ``HOOK_TIMEOUT_S`` (5 s)."""

_deferred: list[Callable[[], None]] = []
_event: list[str] = [""]
_out_lock = threading.Lock()


def defer(fn: Callable[[], None]) -> None:
    """Run ``fn`` after the reply is written (see the module docstring); its errors are ignored."""
    _deferred.append(fn)


def _run_deferred() -> None:
    tasks = list(_deferred)
    if not tasks:
        return
    if hasattr(os, "fork"):
        pid = os.fork()
        if pid != 0:
            return
        # Child: detach from Claude Code's pipes so that it does not wait for us, then do the work.
        try:
            os.setsid()
            null = os.open(os.devnull, os.O_RDWR)
            for fd in (0, 1, 2):
                os.dup2(null, fd)
            for fn in tasks:
                try:
                    fn()
                except Exception:  # noqa: BLE001
                    pass
        finally:
            os._exit(0)
    for fn in tasks:
        try:
            fn()
        except Exception:  # noqa: BLE001
            pass


def _process_start() -> float:
    """Seconds on the monotonic clock when this process started (Linux), else now."""
    try:
        with open("/proc/self/stat", "rb") as fh:
            start_ticks = int(fh.read().rsplit(b")", 1)[1].split()[19])
        with open("/proc/uptime", "rb") as fh:
            uptime = float(fh.read().split()[0])
        age = uptime - start_ticks / os.sysconf("SC_CLK_TCK")
        return time.monotonic() - max(0.0, min(age, max(BUDGET_S, *EVENT_BUDGETS_S.values())))
    except (OSError, ValueError, IndexError):
        return time.monotonic()


def _give_up() -> None:
    # Holding the lock means a reply is never cut in half: it is either fully written or not at all.
    with _out_lock:
        try:
            hook_log.note(_event[0], "timeout", f"no answer within the hook's {_budget[0]:g} s")
            sys.stderr.flush()
        finally:
            os._exit(0)


_budget: list[float] = [BUDGET_S]


def _read_bounded(stream: IO[Any]) -> str | None:
    """The whole input if it is at most ``MAX_INPUT_BYTES`` (characters for a text stream), else None."""
    binary = getattr(stream, "buffer", None)
    source = binary if binary is not None else stream
    data = source.read(MAX_INPUT_BYTES + 1)
    if len(data) > MAX_INPUT_BYTES:
        return None
    if isinstance(data, bytes):
        return data.decode("utf-8", "replace")
    return data


def run(args: argparse.Namespace, stdin: IO[Any] | None = None, budget: float | None = None) -> int:
    """Dispatch ``args.event``; always returns 0."""
    if budget is None:
        budget = EVENT_BUDGETS_S.get(args.event, BUDGET_S)
    _event[0], _budget[0] = args.event, budget
    remaining = budget - (time.monotonic() - _process_start())
    timer = threading.Timer(max(0.05, remaining), _give_up)
    timer.daemon = True
    timer.start()
    try:
        text = _read_bounded(stdin if stdin is not None else sys.stdin)
        if text is None:
            return 0
        payload = json.loads(text) if text.strip() else {}
        if not isinstance(payload, dict):
            return 0
        module_name, func_name = HANDLERS[args.event]
        handler = getattr(importlib.import_module(module_name), func_name)
        reply = handler(payload)
        if reply:
            with _out_lock:
                sys.stdout.write(reply if reply.endswith("\n") else reply + "\n")
                sys.stdout.flush()
        timer.cancel()
        _run_deferred()
    except BaseException as exc:  # noqa: BLE001 - fail open, including SystemExit/KeyboardInterrupt from handlers
        hook_log.note(args.event, "error", f"{type(exc).__name__}: {exc}")
    finally:
        timer.cancel()
        _deferred.clear()
    return 0
