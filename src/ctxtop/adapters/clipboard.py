"""Put text on the clipboard by every means this machine has, and say honestly which ones worked.

A tmux buffer can be read back, so it is verified; ``wl-copy``, ``xclip``, ``xsel`` and ``pbcopy`` report
through their exit code; OSC 52 (the terminal escape the TUI sends) cannot be confirmed at all, so the caller
reports it as sent, not as copied.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass

from ctxtop.adapters import tmux

# name, argv, when it can work (an env var that must be set, or None)
_TOOLS = (
    ("wl-copy", ["wl-copy"], "WAYLAND_DISPLAY"),
    ("xclip", ["xclip", "-selection", "clipboard", "-in"], "DISPLAY"),
    ("xsel", ["xsel", "--clipboard", "--input"], "DISPLAY"),
    ("pbcopy", ["pbcopy"], None),
)


@dataclass(frozen=True, slots=True)
class Attempt:
    method: str
    ok: bool
    detail: str
    """What happened, in words for the user ("verified", "exit status 1", "not installed"...)."""


def _tool(name: str, argv: list[str], text: str) -> Attempt:
    try:
        done = subprocess.run(argv, input=text.encode("utf-8"), capture_output=True, timeout=3, check=False)
    except (OSError, subprocess.SubprocessError) as exc:
        return Attempt(name, False, f"failed to run ({exc.__class__.__name__})")
    if done.returncode != 0:
        err = done.stderr.decode("utf-8", "replace").strip().splitlines()
        return Attempt(name, False, f"exit status {done.returncode}" + (f": {err[0][:80]}" if err else ""))
    return Attempt(name, True, "exit status 0")


def copy(text: str, env: dict[str, str] | None = None) -> list[Attempt]:
    """Try each clipboard this session can reach; one :class:`Attempt` per method tried. Blocking."""
    env = dict(os.environ if env is None else env)
    attempts: list[Attempt] = []
    if env.get("TMUX") and tmux.available():
        attempts.append(_tmux_buffer(text))
    for name, argv, needs in _TOOLS:
        if needs and not env.get(needs):
            continue
        if shutil.which(argv[0]) is None:
            continue
        attempts.append(_tool(name, argv, text))
    return attempts


def _tmux_buffer(text: str) -> Attempt:
    error = tmux.set_buffer(text)
    if error:
        return Attempt("tmux buffer", False, error)
    back = tmux.show_buffer()
    if back != text:
        return Attempt("tmux buffer", False, "the buffer did not read back the same")
    return Attempt("tmux buffer", True, "verified (paste with prefix ])")
