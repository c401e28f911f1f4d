"""Running a command for ``ctxtop run`` and filtering what it printed: the capture, the exit status and the
filter (``services.filtering``, shared with the PostToolUse hook), without a front end.

The environment, working directory and stdin pass through untouched; the command's stderr is merged into its
stdout (so that their order survives). Its status becomes an exit code, 128 + N when signal N killed it,
with what bash prints then ("Segmentation fault (core dumped)"): under the wrap hook the calling shell sees
only ctxtop's exit status, so it would not. Unfiltered (``raw``), the command writes straight to ctxtop's
stdout: nothing is held, so nothing can be cut.
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ctxtop.adapters import filter_rules
from ctxtop.core.filters.generic import is_important
from ctxtop.services.filtering import Filtered, filter_output

MAX_CAPTURE = 64 * 1024 * 1024  # beyond this, a head half and a tail of one to two halves (<= 96 MiB held)
RESCUE_BYTES = 4 * 1024 * 1024  # important lines kept from beyond MAX_CAPTURE
RESCUE_LINE = 4096  # bytes of a line judged when deciding whether to keep it
GRACE_S = 1.0  # how long to wait for the pipe to close once the command has exited
_SHELLS = {"sh", "bash", "zsh", "dash", "ksh", "fish", "busybox"}


def env_context() -> dict[str, Any]:
    """Session details that the wrap hook passes in the environment."""
    return {
        "session_id": os.environ.get("CTXTOP_SESSION_ID") or None,
        "tool_use_id": os.environ.get("CTXTOP_TOOL_USE_ID") or None,
        "transcript_path": os.environ.get("CTXTOP_TRANSCRIPT_PATH") or None,
    }


def describe(cmd: list[str]) -> str:
    """The command line rules are matched against: the script of ``sh -c SCRIPT``, else the argv joined."""
    if len(cmd) >= 3 and os.path.basename(cmd[0]) in _SHELLS and cmd[1] in ("-c", "-lc", "-ec"):
        return cmd[2]
    return shlex.join(cmd)


class Capture:
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


class NotRun(Exception):
    """The command could not be started; ``exit_code`` is what a shell returns then (127, 126)."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


@dataclass(slots=True)
class Ran:
    exit_code: int
    """The command's exit code, 128 + N when signal N killed it."""
    filtered: Filtered | None
    """What to print and log; None when the command wrote straight to stdout (``raw``)."""
    report: str | None
    """What bash prints about a killing signal (already in ``filtered.text`` when filtered)."""


def run_command(
    cmd: list[str], raw: bool = False, on_start: Callable[[subprocess.Popen[bytes]], None] | None = None
) -> Ran:
    """Run ``cmd`` to its end; ``on_start`` gets the process (to forward signals to it). Raises ``NotRun``."""
    try:
        proc = subprocess.Popen(cmd, stdout=None if raw else subprocess.PIPE, stderr=subprocess.STDOUT)
    except FileNotFoundError:
        raise NotRun(f"{cmd[0]}: command not found", 127) from None
    except PermissionError:
        raise NotRun(f"{cmd[0]}: permission denied", 126) from None
    except OSError as exc:
        raise NotRun(f"{cmd[0]}: {exc.strerror or exc}", 126) from None
    if on_start is not None:
        on_start(proc)
    capture = None if raw else Capture(proc.stdout)
    status = _wait(proc)
    rc = os.waitstatus_to_exitcode(status)
    rc = rc if rc >= 0 else 128 - rc
    report = signal_report(status)
    if capture is None:
        return Ran(rc, None, report)
    # A background job (`server &`) may keep the pipe open for ever: take what it wrote so far.
    capture.thread.join(timeout=GRACE_S)
    data = capture.data()
    if report:
        data += (b"" if not data or data.endswith(b"\n") else b"\n") + report.encode() + b"\n"
    text = data.decode("utf-8", "surrogateescape")
    try:
        filtered = filter_output(
            text, describe(cmd), source="run", cwd=os.getcwd(), exit_code=os.waitstatus_to_exitcode(status),
            **env_context(),
        )  # fmt: skip
    except Exception:  # noqa: BLE001 - fail open: the raw output is always better than none
        filtered = Filtered(text, None)
    return Ran(rc, filtered, report)


def filter_text(raw: str, command: str, save: bool = True, problems: list[str] | None = None) -> Filtered:
    """``raw`` (``ctxtop filter``'s stdin) filtered by the rules for ``command``; the rules' problems are
    appended to ``problems``. Fails open: the raw text."""
    try:
        cfg = filter_rules.load()
        if problems is not None:
            problems.extend(cfg.errors)
        return filter_output(raw, command, source="filter", save=save, cwd=os.getcwd(), config=cfg,
                             **env_context())  # fmt: skip
    except Exception:  # noqa: BLE001 - fail open
        return Filtered(raw, None)


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
