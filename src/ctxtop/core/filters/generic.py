"""Generic, tool-independent clean-up: ANSI escapes, ``\\r`` progress redraws, what counts as important.

"Important" is deliberately broad: a line that merely mentions an error is kept even when it is noise,
because hiding one real error costs far more than keeping a few harmless lines.
"""

from __future__ import annotations

import re

# CSI (colours, cursor moves), OSC (titles, hyperlinks; BEL or ST terminated), and lone two-byte escapes.
_ANSI = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)"
    r"|\x1b[PX^_][^\x1b]*\x1b\\"
    r"|\x1b[@-Z\\-_]"
    r"|\x9b[0-?]*[ -/]*[@-~]"
)

# Lines are matched on a bounded prefix so a megabyte-long line cannot make a regex crawl.
MATCH_PREFIX = 4000

IMPORTANT = re.compile(
    r"(?i:\bERR!|\b(?:errors?|warn(?:ing|ings)?|fail(?:s|ed|ure|ures|ing)?|fatal|panic(?:ked)?|exceptions?"
    r"|traceback|abort(?:ed)?|assert(?:ion)?(?:error)?|critical|denied|refused|segmentation fault"
    r"|core dumped|undefined reference|cannot|can't|could not|couldn't|unable to|not found|no such file"
    r"|timed out|timeout|killed|deprecat\w*|conflicts?|unresolved|broken|rejected|crash(?:ed)?)\b)"
    r"|^E\s"  # pytest assertion detail
    r"|^>\s"  # pytest: the failing source line
    r"|^\s*File \".*\", line \d+"  # Python traceback frame
    r"|^\s+at \S.*[:(]\d+"  # JS/Java stack frame
    r"|^[^\s:]+:\d+(?::\d+)?:\s"  # file:line[:col]: diagnostics (gcc, mypy, ruff, grep -n)
    r"|\(\d+,\d+\):\s"  # tsc file(line,col): error
    r"|^\s*\d+:\d+\s+(?:error|warning)\b"  # eslint
    r"|^\s*\^[~^]*\s*$"  # compiler caret line
    r"|^\s*[✗✘×✕❯●]\s"  # failure bullets of jest/vitest
    r"|^-{3,}\s*FAIL|^FAIL\b|^\w*(?:Error|Exception)\b"
    # Exception class names anywhere (``  KeyError: 1``, ``java.lang.NullPointerException``,
    # ``Uncaught TypeError``, ``sqlalchemy.exc.OperationalError``) and the phrases runtimes print.
    r"|(?:^|[\s.:(\[])[A-Z]?\w*(?:Error|Exception|Fault)\b"
    r"|(?i:\bcaused by:|\bexit code \d+|\bexit status [1-9]|\billegal instruction|\bunhandled\b|\buncaught\b"
    r"|\bbus error|\bout of memory|\boom\b|\bstack overflow|\bstack trace)"
)


def is_important(line: str) -> bool:
    """True when ``line`` looks like an error, warning, failure, traceback or diagnostic."""
    return IMPORTANT.search(line[:MATCH_PREFIX]) is not None


def strip_ansi(text: str) -> str:
    """Remove terminal escape sequences and backspace overstrikes."""
    if "\x1b" in text or "\x9b" in text:
        text = _ANSI.sub("", text)
    if "\x08" in text:
        # Overstrike (``x\\bx``) and spinners: each backspace erases the character before it (never a
        # newline). One linear pass per line that has backspaces (a regex loop was quadratic).
        text = "\n".join(_apply_backspaces(line) if "\x08" in line else line for line in text.split("\n"))
    return text


def _apply_backspaces(line: str) -> str:
    out: list[str] = []
    for ch in line:
        if ch == "\x08":
            if out:
                out.pop()
        else:
            out.append(ch)
    return "".join(out)


def collapse_cr(text: str) -> str:
    """Keep what a terminal would show: for each line, the last non-empty ``\\r``-separated redraw."""
    if "\r" not in text:
        return text
    text = text.replace("\r\n", "\n")
    if "\r" not in text:
        return text
    out = []
    for line in text.split("\n"):
        if "\r" in line:
            parts = [p for p in line.split("\r") if p.strip()]
            line = parts[-1] if parts else ""
        out.append(line)
    return "\n".join(out)


_DIGITS = re.compile(r"\d+(?:\.\d+)?")


def shape(line: str) -> str:
    """A line with its numbers blanked, so that progress lines ("12/400", "13/400") compare equal."""
    return _DIGITS.sub("#", line[:MATCH_PREFIX])
