"""``ctxtop run -- CMD...`` and ``ctxtop filter``: run a command (or read stdin) and print its output filtered.

``run`` passes the environment, working directory and stdin through untouched, merges the command's stderr
into its stdout (so that their order survives), and exits with the command's exit code, 128 + N when a signal
N killed it. Set ``CTXTOP_NO_FILTER=1`` to get the raw output through the same path.

The shared helper :func:`filter_output` is also what the PostToolUse hook uses: filter, save the raw output
when anything was removed (before its path is promised in the pointer line), and describe what to log.
"""

from __future__ import annotations

import argparse
import os
import shlex
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass, replace
from typing import Any

from ctxtop.adapters import filter_log, filter_rules, raw_outputs
from ctxtop.core.filters import filter_text
from ctxtop.core.filters.engine import FAILURE_BUDGET_CHARS, FAILURE_SETTINGS
from ctxtop.core.filters.tokens import TOKENIZER, count_tokens

MAX_CAPTURE = 64 * 1024 * 1024  # bytes of output held in memory: head and tail halves beyond this
GRACE_S = 1.0  # how long to wait for the pipe to close once the command has exited
_SHELLS = {"sh", "bash", "zsh", "dash", "ksh", "fish", "busybox"}


@dataclass(slots=True)
class Filtered:
    text: str
    record: dict[str, Any] | None  # what to log (tokens not yet counted); None when nothing changed
    raw: str = ""


def filter_output(
    raw: str,
    command: str,
    *,
    source: str,
    save: bool = True,
    session_id: str | None = None,
    tool_use_id: str | None = None,
    transcript_path: str | None = None,
    cwd: str | None = None,
    exit_code: int | None = None,
    config: filter_rules.FilterConfig | None = None,
) -> Filtered:
    """Filter ``raw``; when lines were removed the raw output is saved first, else the text passes unchanged."""
    cfg = config or filter_rules.load()
    if cfg.excluded(command):
        return Filtered(raw, None)
    path = raw_outputs.new_path(session_id) if save else None
    result = filter_text(raw, command, cfg.rules, cfg.settings, raw_path=str(path) if path else None)
    if exit_code not in (None, 0) and len(result.text) > FAILURE_BUDGET_CHARS:
        # Claude Code keeps only ~10,000 characters of a failing command's output, cut in the middle, which
        # could hide a failure: elide harder (important lines are still all kept).
        tight = replace(FAILURE_SETTINGS, min_chars=cfg.settings.min_chars)
        result = filter_text(raw, command, cfg.rules, tight, raw_path=str(path) if path else None)
    if not result.changed:
        return Filtered(raw, None)
    if result.lossy and path is not None:
        try:
            raw_outputs.save(path, raw)
        except OSError:
            # The pointer line would name a file that does not exist: give the raw output instead.
            return Filtered(raw, None)
    record = {
        "source": source,
        "session_id": session_id,
        "tool_use_id": tool_use_id,
        "transcript_path": transcript_path,
        "cwd": cwd,
        "command": command,
        "exit_code": exit_code,
        "rules": list(result.rules),
        "raw_chars": len(raw),
        "filtered_chars": len(result.text),
        "raw_lines": result.raw_lines,
        "kept_lines": result.kept_lines,
        "raw_path": str(path) if result.lossy and path else None,
    }
    return Filtered(result.text, record, raw)


def log_filtered(filtered: Filtered) -> None:
    """Count tokens and append the record to the filter log; never raises."""
    if filtered.record is None:
        return
    try:
        record = dict(filtered.record)
        record["raw_tokens"] = count_tokens(filtered.raw)
        record["filtered_tokens"] = count_tokens(filtered.text)
        record["tokenizer"] = TOKENIZER
        filter_log.append(record)
    except Exception:  # noqa: BLE001 - accounting must never break the command's output
        pass


def _env_context() -> dict[str, Any]:
    """Session details that the wrap hook passes in the environment."""
    return {
        "session_id": os.environ.get("CTXTOP_SESSION_ID") or None,
        "tool_use_id": os.environ.get("CTXTOP_TOOL_USE_ID") or None,
        "transcript_path": os.environ.get("CTXTOP_TRANSCRIPT_PATH") or None,
    }


def _describe(cmd: list[str]) -> str:
    """The command line rules are matched against: the script of ``sh -c SCRIPT``, else the argv joined."""
    if len(cmd) >= 3 and os.path.basename(cmd[0]) in _SHELLS and cmd[1] in ("-c", "-lc", "-ec"):
        return cmd[2]
    return shlex.join(cmd)


class _Capture:
    """Reads a pipe in a thread, holding at most ``limit`` bytes (head and tail halves beyond that)."""

    def __init__(self, stream: Any, limit: int = MAX_CAPTURE) -> None:
        self._stream = stream
        self._half = limit // 2
        self._head = bytearray()
        self._tail = bytearray()
        self._dropped = 0
        self._lock = threading.Lock()
        self.thread = threading.Thread(target=self._pump, daemon=True)
        self.thread.start()

    def _pump(self) -> None:
        read = getattr(self._stream, "read1", self._stream.read)
        while True:
            try:
                chunk = read(65536)
            except (OSError, ValueError):
                return
            if not chunk:
                return
            with self._lock:
                if len(self._head) < self._half:
                    take = self._half - len(self._head)
                    self._head += chunk[:take]
                    chunk = chunk[take:]
                self._tail += chunk
                if len(self._tail) > 2 * self._half:
                    cut = len(self._tail) - self._half
                    self._dropped += cut
                    del self._tail[:cut]

    def data(self) -> bytes:
        with self._lock:
            head = bytes(self._head)
            if self._dropped:
                head += f"\n[ctxtop: {self._dropped} bytes not captured]\n".encode()
            return head + bytes(self._tail)


def _write(text: str) -> None:
    out = sys.stdout.buffer
    out.write(text.encode("utf-8", "surrogateescape"))
    out.flush()


def run(args: argparse.Namespace) -> int:
    """Run ``args.cmd``, print its output filtered, return its exit code (128 + N for signal N)."""
    cmd = list(args.cmd or [])
    if cmd and cmd[0] == "--":
        cmd = cmd[1:]
    if not cmd:
        print("usage: ctxtop run -- CMD [ARG...]", file=sys.stderr)
        return 2
    try:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    except FileNotFoundError:
        print(f"ctxtop run: {cmd[0]}: command not found", file=sys.stderr)
        return 127
    except PermissionError:
        print(f"ctxtop run: {cmd[0]}: permission denied", file=sys.stderr)
        return 126
    except OSError as exc:
        print(f"ctxtop run: {cmd[0]}: {exc.strerror or exc}", file=sys.stderr)
        return 126

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
    capture = _Capture(proc.stdout)
    while True:
        try:
            rc = proc.wait()
            break
        except KeyboardInterrupt:
            continue  # the child got the same SIGINT from the terminal; report how it ends
    # A background job (`server &`) may keep the pipe open for ever: take what it wrote so far.
    capture.thread.join(timeout=GRACE_S)
    data = capture.data()
    raw = data.decode("utf-8", "surrogateescape")
    text = raw
    if os.environ.get("CTXTOP_NO_FILTER") != "1":
        try:
            filtered = filter_output(
                raw, _describe(cmd), source="run", cwd=os.getcwd(), exit_code=rc, **_env_context()
            )
            text = filtered.text
        except Exception:  # noqa: BLE001 - fail open: the raw output is always better than none
            filtered = Filtered(raw, None)
        _write(text)
        log_filtered(filtered)
    else:
        _write(text)
    return rc if rc >= 0 else 128 - rc


def filter_stdin(args: argparse.Namespace) -> int:
    """Filter stdin to stdout; ``--command`` picks the rules, ``--no-save`` skips saving the raw output."""
    raw = sys.stdin.buffer.read().decode("utf-8", "surrogateescape")
    try:
        cfg = filter_rules.load()
        for problem in cfg.errors:
            print(f"ctxtop: {problem}", file=sys.stderr)
        filtered = filter_output(
            raw,
            args.command or "",
            source="filter",
            save=not args.no_save,
            cwd=os.getcwd(),
            config=cfg,
            **_env_context(),
        )
    except Exception:  # noqa: BLE001 - fail open
        filtered = Filtered(raw, None)
    _write(filtered.text)
    log_filtered(filtered)
    return 0
