"""``ctxtop run -- CMD...`` and ``ctxtop filter``: run a command (or read stdin) and print its output filtered.

``run`` passes the environment, working directory and stdin through untouched, merges the command's stderr
into its stdout (so that their order survives), and exits with the command's exit code, 128 + N when a signal
N killed it, after printing what bash prints then ("Segmentation fault (core dumped)"): under the wrap hook
the calling shell sees only ctxtop's exit status, so it would not. Set ``CTXTOP_NO_FILTER=1`` to get the raw
output: the command then writes straight to ctxtop's stdout, nothing is held or cut.

Filtering itself (save the raw output first, describe what to log) is ``ctxtop.services.filtering``, shared
with the PostToolUse hook.
"""

from __future__ import annotations

import argparse
import os
import shlex
import signal
import subprocess
import sys
import threading
from typing import Any

from ctxtop.adapters import filter_rules
from ctxtop.core.filters.generic import is_important
from ctxtop.services.filtering import Filtered, filter_output, log_filtered

MAX_CAPTURE = 64 * 1024 * 1024  # beyond this, a head half and a tail of one to two halves (<= 96 MiB held)
RESCUE_BYTES = 4 * 1024 * 1024  # important lines kept from beyond MAX_CAPTURE
RESCUE_LINE = 4096  # bytes of a line judged when deciding whether to keep it
GRACE_S = 1.0  # how long to wait for the pipe to close once the command has exited
_SHELLS = {"sh", "bash", "zsh", "dash", "ksh", "fish", "busybox"}


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
    """Reads a pipe in a thread, holding at most ``limit`` bytes: head and tail halves beyond that.

    What falls out of the middle is still read line by line, and every line that looks important is kept
    (up to ``rescue_limit`` bytes of them), so a failure in the middle of a huge output is not lost; the
    marker line says exactly which bytes were not kept.
    """

    def __init__(self, stream: Any, limit: int = MAX_CAPTURE, rescue_limit: int = RESCUE_BYTES) -> None:
        self._stream = stream
        self._half = limit // 2
        self._head = bytearray()
        self._tail = bytearray()
        self._dropped = 0  # bytes cut from the middle, starting at byte len(head)
        self._dropped_lines = 0
        self._partial = bytearray()  # an unfinished line at the end of what was cut
        self._rescued: list[bytes] = []
        self._rescued_bytes = 0
        self._rescue_limit = rescue_limit
        self._unrescued = 0  # important lines not kept for lack of room
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
                    self._scan(bytes(self._tail[:cut]))
                    self._dropped += cut
                    del self._tail[:cut]

    def _scan(self, cut: bytes) -> None:
        """Keep the important lines of bytes about to be dropped."""
        lines = cut.split(b"\n")
        self._partial += lines[0]
        if len(lines) == 1:
            del self._partial[RESCUE_LINE:]  # only a bounded prefix of a giant line is judged
            return
        complete = [bytes(self._partial), *lines[1:-1]]
        self._partial = bytearray(lines[-1][:RESCUE_LINE])
        self._dropped_lines += len(complete)
        for line in complete:
            if is_important(line[:RESCUE_LINE].decode("utf-8", "replace")):
                if self._rescued_bytes + len(line) + 1 > self._rescue_limit:
                    self._unrescued += 1
                    continue
                self._rescued.append(line)
                self._rescued_bytes += len(line) + 1

    def data(self) -> bytes:
        with self._lock:
            head = bytes(self._head)
            if not self._dropped:
                return head + bytes(self._tail)
            start, end = len(head), len(head) + self._dropped
            note = (
                f"[ctxtop: {self._dropped} bytes ({self._dropped_lines} lines) of this output were too many to"
                f" hold: bytes {start}-{end - 1} are not kept; the {len(self._rescued)} error lines among them"
                + (f" follow ({self._unrescued} more did not fit)]" if self._unrescued else " follow]")
            )
            rescued = b"".join(line + b"\n" for line in self._rescued)
            end_note = b"[ctxtop: end of the lines kept from the middle]\n" if self._rescued else b""
            sep = b"" if head.endswith(b"\n") or not head else b"\n"
            return head + sep + note.encode() + b"\n" + rescued + end_note + bytes(self._tail)


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
    raw_mode = os.environ.get("CTXTOP_NO_FILTER") == "1"
    try:
        # Unfiltered, the command writes to our stdout itself: nothing is held, so nothing can be cut.
        stdout = None if raw_mode else subprocess.PIPE
        proc = subprocess.Popen(cmd, stdout=stdout, stderr=subprocess.STDOUT)
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
    capture = None if raw_mode else _Capture(proc.stdout)
    status = _wait(proc)
    rc = os.waitstatus_to_exitcode(status)
    report = signal_report(status)
    if capture is None:
        if report:
            _write(report + "\n")
        return rc if rc >= 0 else 128 - rc
    # A background job (`server &`) may keep the pipe open for ever: take what it wrote so far.
    capture.thread.join(timeout=GRACE_S)
    data = capture.data()
    if report:
        data += (b"" if not data or data.endswith(b"\n") else b"\n") + report.encode() + b"\n"
    raw = data.decode("utf-8", "surrogateescape")
    try:
        filtered = filter_output(
            raw, _describe(cmd), source="run", cwd=os.getcwd(), exit_code=rc, **_env_context()
        )
    except Exception:  # noqa: BLE001 - fail open: the raw output is always better than none
        filtered = Filtered(raw, None)
    _write(filtered.text)
    log_filtered(filtered)
    return rc if rc >= 0 else 128 - rc


def _wait(proc: subprocess.Popen[bytes]) -> int:
    """The child's raw wait status (``Popen.wait`` drops the core-dump flag bash reports)."""
    while True:
        try:
            _, status = os.waitpid(proc.pid, 0)
        except KeyboardInterrupt:
            continue  # the child got the same SIGINT from the terminal; report how it ends
        except ChildProcessError:  # reaped elsewhere (SIGCHLD ignored): only the exit code is known
            rc = proc.wait()
            return rc << 8 if rc >= 0 else -rc
        proc.returncode = os.waitstatus_to_exitcode(status)
        return status


def signal_report(status: int) -> str | None:
    """What bash prints when a command it ran is killed by a signal, e.g. "Segmentation fault (core dumped)".

    bash stays silent for SIGINT and SIGPIPE; so does this.
    """
    if not os.WIFSIGNALED(status):
        return None
    sig = os.WTERMSIG(status)
    if sig in (signal.SIGINT, signal.SIGPIPE):
        return None
    try:
        name = signal.strsignal(sig) or f"Signal {sig}"
    except ValueError:
        name = f"Signal {sig}"
    return name + (" (core dumped)" if os.WCOREDUMP(status) else "")


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
