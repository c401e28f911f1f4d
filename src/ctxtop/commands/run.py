"""``ctxtop run -- CMD...`` and ``ctxtop filter``: run a command (or read stdin) and print its output filtered.

The capture, exit status and filtering are ``ctxtop.services.run`` (filtering itself, shared with the
PostToolUse hook, is ``ctxtop.services.filtering``). Set ``CTXTOP_NO_FILTER=1`` to get the raw output: the
command then writes straight to ctxtop's stdout, nothing is held or cut.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from typing import Any

from ctxtop.services.filtering import log_filtered
from ctxtop.services.run import NotRun, filter_text, run_command


def _write(text: str) -> None:
    out = sys.stdout.buffer
    out.write(text.encode("utf-8", "surrogateescape"))
    out.flush()


def _forward_signals(proc: Any) -> None:
    def forward(signum: int, _frame: Any) -> None:
        # Terminal signals (INT, QUIT) already reach the child through the process group; these may not.
        try:
            proc.send_signal(signum)
        except OSError:
            pass

    for sig in (signal.SIGTERM, signal.SIGHUP):
        try:
            signal.signal(sig, forward)
        except (ValueError, OSError):
            pass


def run(args: argparse.Namespace) -> int:
    """Run ``args.cmd``, print its output filtered, return its exit code (128 + N for signal N)."""
    cmd = list(args.cmd or [])
    if cmd and cmd[0] == "--":
        cmd = cmd[1:]
    if not cmd:
        print("usage: ctxtop run -- CMD [ARG...]", file=sys.stderr)
        return 2
    try:
        ran = run_command(cmd, os.environ.get("CTXTOP_NO_FILTER") == "1", on_start=_forward_signals)
    except NotRun as exc:
        print(f"ctxtop run: {exc}", file=sys.stderr)
        return exc.exit_code
    if ran.filtered is None:
        if ran.report:
            _write(ran.report + "\n")
    else:
        _write(ran.filtered.text)
        log_filtered(ran.filtered)
    return ran.exit_code


def filter_stdin(args: argparse.Namespace) -> int:
    """Filter stdin to stdout; ``--command`` picks the rules, ``--no-save`` skips saving the raw output."""
    raw = sys.stdin.buffer.read().decode("utf-8", "surrogateescape")
    problems: list[str] = []
    filtered = filter_text(raw, args.command or "", save=not args.no_save, problems=problems)
    for problem in problems:
        print(f"ctxtop: {problem}", file=sys.stderr)
    _write(filtered.text)
    log_filtered(filtered)
    return 0
