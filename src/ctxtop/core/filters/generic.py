"""Generic, tool-independent clean-up: ANSI escapes, ``\\r`` progress redraws, what counts as important.

"Important" is deliberately broad: a line that merely mentions an error is kept even when it is noise,
because hiding one real error costs far more than keeping a few harmless lines.
"""

from __future__ import annotations

import re

# CSI (colours, cursor moves), OSC (titles, hyperlinks; BEL or ST terminated), and lone two-byte escapes.
# An OSC/DCS string that is never terminated ends at the line end: a stray ESC ] must not swallow the lines
# after it (a terminal would show them too, once its parser gives up).
_ANSI = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"
    r"|\x1b\][^\x07\x1b\n]*(?:\x07|\x1b\\)?"
    r"|\x1b[PX^_][^\x1b\n]*(?:\x1b\\)?"
    r"|\x1b[@-Z\\-_]"
    r"|\x9b[0-?]*[ -/]*[@-~]"
)

# Rule patterns are matched on a bounded prefix so a megabyte-long line cannot make a regex crawl; the
# error patterns below search a long line window by window instead (see :func:`_search`).
MATCH_PREFIX = 4000
_WINDOW_OVERLAP = 200

# Lines that must reach the model. Deliberately broad: keeping a harmless line costs a few tokens, hiding a
# real error costs a wrong turn. Each group names the tool whose output showed the need.
IMPORTANT = re.compile(
    r"^\[ctxtop: "  # what ctxtop itself says about the output (bytes not captured, signals)
    r"|(?i:\bERR!|\b(?:errors?|warn(?:ing|ings)?|fail(?:s|ed|ure|ures|ing)?|fatal|panic(?:ked)?|exceptions?"
    r"|traceback|abort(?:ed)?|assert(?:ion)?(?:error)?|critical|denied|refused|segmentation fault"
    r"|core dumped|undefined reference|cannot|can't|could not|couldn't|unable to|not found|no such file"
    r"|timed out|timeout|killed|deprecat\w*|conflicts?|unresolved|broken|rejected|crash(?:ed)?)\b)"
    r"|^E\s"  # pytest assertion detail
    r"|^>\s"  # pytest: the failing source line
    r"|^\s*File \".*\", line \d+"  # Python traceback frame
    r"|^\s+at \S.*[:(]\d+"  # JS/Java stack frame
    r"|^\s*[^\s:]+:\d+(?::\d+)?:(?:\s|$)"  # file:line[:col]: diagnostics (gcc, mypy, ruff, go t.Errorf)
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
    # valgrind (every ==PID== line with content: errors, frames, summaries), sanitizer frames and reports,
    # gdb/lldb backtraces.
    r"|^==\d+==\s+\S|^\s*#\d+\s+0x[0-9a-fA-F]+\s|^\s*#\d+\s+\S+\s+\(.*\)\s+at\s|^SUMMARY:\s"
    r"|\bSanitizer\b|^(?:READ|WRITE) of size \d+|\bis located \d+ bytes\b|\bby thread T\d+\b"
    r"|^\s*(?:frame )?#\d+: 0x"
    # Test frameworks' detail lines: jest/vitest, node assert, gtest, TAP, Go, Rust, Catch2.
    r"|^\s*(?:Expected|Received|Actual|Which is|Value of|Difference|Got|Want)\b[^:]{0,30}:"
    r"|^\s*[-+] (?:Expected|Received)\b|^\s*\+ actual - expected|^\s*(?:left|right):\s"
    r"|^\s*(?:not ok|Bail out!)\b|^#\s+(?:fail|todo)\s+\d+"
    r"|^goroutine \d+ \[|^\s+/\S+:\d+(?:\s|$)|^\s*-->\s|^\s*=\s(?:note|help):|^\s*\d+\s+[|+-](?:\s|$)"
    r"|^\s+\|(?:\s|$)|^\s{1,8}\d+: \S+::|^[+-]\s{3,}\S|\bout of bounds\b|\bno such process\b|\binappropriate\b"
    r"|\w\.(?:go|rs|c|cc|cpp|cxx|h|hpp|py|js|mjs|cjs|ts|tsx|jsx|java|kt|rb|swift|cs|php|zig|scala|ex|exs)"
    r":\d+\b"
    # Failures that carry no error keyword: errno texts, HTTP statuses, usage lines, shells.
    r"|(?i:\busage:|\binvalid\b|\bunknown (?:option|command|flag|argument|subcommand)|\bunrecognized\b"
    r"|\bunexpected\b|\bmissing\b|\bmismatch\w*|\bnot permitted\b|\bnot allowed\b|\bforbidden\b"
    r"|\bunauthori[sz]ed\b|\bconnection (?:reset|closed|lost|aborted)\b|\breset by peer\b|\bno space left\b"
    r"|\bread-only file system\b|\bno route to host\b|\bnetwork is unreachable\b|\bname or service not known\b"
    r"|\bresource temporarily unavailable\b|\btoo many open files\b|\bis a directory\b|\bnot a directory\b"
    r"|\bfile exists\b|\bdevice or resource busy\b|\bbad file descriptor\b|\bunbound variable\b"
    r"|\bbad substitution\b|\bambiguous redirect\b|\bsyntax\b|\bleak(?:s|ed)?\b|\bviolat\w*|\bcorrupt\w*"
    r"|\bterminated\b|\bnon-zero\b|\bhung up\b|\bline \d+: )"
    r"|\bE(?:CONN\w+|NOENT|ACCES|PERM|ADDRINUSE|PIPE|TIMEDOUT|NOTFOUND|EXIST|ISDIR|NOTDIR|NOSPC|ROFS|AGAIN"
    r"|MFILE|INVAL|BADF|HOSTUNREACH|NETUNREACH)\b"
    r"|\b[45]\d\d (?:Bad Request|Unauthorized|Payment Required|Forbidden|Not Found|Method Not Allowed"
    r"|Not Acceptable|Request Timeout|Conflict|Gone|Precondition Failed|Payload Too Large|Unprocessable"
    r"|Too Many Requests|Internal Server Error|Not Implemented|Bad Gateway|Service Unavailable|Gateway Timeout)"
)

# Lines that say something went wrong (not merely a warning): any one of them makes the output "failing"
# even when the exit code is 0 or unknown, so only positively recognised noise is taken out of it.
FAILURE = re.compile(
    r"(?i:\bERR!|\b(?:errors?|fail(?:s|ed|ure|ures|ing)?|fatal|panic(?:ked)?|exceptions?|traceback"
    r"|abort(?:ed)?|assertion|segmentation fault|core dumped|undefined reference|killed|crash(?:ed)?|denied"
    r"|refused|forbidden|unauthori[sz]ed|cannot|could not|unable to|no such file|timed out|usage:"
    r"|invalid argument|reset by peer|connection (?:reset|closed|lost|aborted)|uncaught|unhandled"
    r"|not ok|bail out!|leak(?:s|ed)?|sanitizer|illegal instruction|bus error|out of memory|stack overflow"
    r"|not permitted|no space left|unbound variable|syntax)\b)"
    r"|^\s*File \".*\", line \d+|^\s+at \S.*[:(]\d+|^==\d+== (?:Invalid|Conditional|Use of|Mismatched|Syscall"
    r"|Process terminating|Jump to|Source and destination)|^\s*#\d+\s+0x[0-9a-fA-F]+\s"
    r"|(?:^|[\s.:(\[])[A-Z]?\w*(?:Error|Exception|Fault)\b|^\s*[✗✘×✕●]\s|^FAIL\b|^E\s"
    r"|\b[45]\d\d (?:Bad Request|Unauthorized|Forbidden|Not Found|Conflict|Too Many Requests"
    r"|Internal Server Error|Bad Gateway|Service Unavailable|Gateway Timeout)"
)
# Counts of nothing ("0 errors", "no failures") do not make an output failing.
_NOTHING_WRONG = re.compile(
    r"(?i:\b(?:0|no|zero)\s+(?:errors?|failures?|failed|leaks?(?: are possible)?|exceptions?)\b"
    r"|\berrors?:\s*0\b|\bfailed:\s*0\b|\bERROR SUMMARY: 0 errors\b)"
)

# Positively recognised noise: progress bars and counters, downloads, build steps, passing tests. Outside
# what a rule drops, a failing output only loses runs of lines that all match this.
NOISE = re.compile(
    r"\d{1,3}(?:\.\d+)?\s?%|\b\d+\s*/\s*\d+\b|\b(?:eta|ETA)\b|\d\s*[kKMG]i?B/s\b|\d\s*[kKMG]i?B\b"
    r"|[━█▉▊▋▌▍▎▏■#=]{4,}|\[[=#>\-. ]{5,}\]|^[.·•]+\s*$"
    r"|\b(?:PASS(?:ED)?|ok|OK|done|Done|success)\b|[✓✔√]"
    r"|^\s*(?:Downloading|Downloaded|Fetching|Fetched|Compiling|Building|Built|Installing|Installed"
    r"|Resolving|Receiving|Unpacking|Collecting|Linking|Checking|Processing|Extracting|Updating|Preparing"
    r"|Setting up|Get:\d+|Hit:\d+|Progress)\b"
)


# Beyond the first MATCH_PREFIX characters of a line (minified code, a JSON blob, a log line without
# newlines) the full patterns would cost seconds per megabyte; these words are found at C speed instead.
_FAILURE_WORDS = (
    "error", "fail", "fatal", "panic", "exception", "traceback", "abort", "assert", "denied", "refused",
    "segmentation fault", "core dumped", "cannot", "could not", "unable to", "no such file", "timed out",
    "killed", "forbidden", "usage:", "sanitizer", "leak", "uncaught", "unhandled", "not ok", "reset by peer",
    "invalid argument", "out of memory",
)  # fmt: skip
_WARNING_WORDS = ("warn", "deprecat", "not found", "invalid", "missing", "unexpected")


def _words_beyond(line: str, words: tuple[str, ...]) -> bool:
    rest = line[MATCH_PREFIX - _WINDOW_OVERLAP :].lower()
    return any(w in rest for w in words)


def _search(pattern: re.Pattern[str], line: str, words: tuple[str, ...]) -> bool:
    """``pattern`` in the line's first MATCH_PREFIX characters, or one of ``words`` anywhere after them."""
    if pattern.search(line[:MATCH_PREFIX]) is not None:
        return True
    return len(line) > MATCH_PREFIX and _words_beyond(line, words)


def is_important(line: str) -> bool:
    """True when ``line`` looks like an error, warning, failure, traceback or diagnostic (at any column)."""
    return _search(IMPORTANT, line, _FAILURE_WORDS + _WARNING_WORDS)


def is_failure(line: str) -> bool:
    """True when ``line`` says something failed (warnings and "0 errors" do not count)."""
    if not _search(FAILURE, line, _FAILURE_WORDS):
        return False
    head = line[:MATCH_PREFIX]
    if _NOTHING_WRONG.search(head) is None:
        return True
    return _search(FAILURE, _NOTHING_WRONG.sub("", head), ()) or (
        len(line) > MATCH_PREFIX and _words_beyond(line, _FAILURE_WORDS)
    )


def is_noise(line: str) -> bool:
    """True when ``line`` is recognisably progress, download, build-step or passing-test chatter."""
    return not line.strip() or NOISE.search(line[:MATCH_PREFIX]) is not None


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
    """Keep what a terminal would show: for each line, the last non-empty ``\\r``-separated redraw.

    A redraw that was overwritten but is itself an error line (``error: disk full\\rRetrying 2/5``) is kept
    too, as a line of its own before the final one: the terminal showed it, and the model must see it.
    """
    if "\r" not in text:
        return text
    text = text.replace("\r\n", "\n")
    if "\r" not in text:
        return text
    out: list[str] = []
    for line in text.split("\n"):
        if "\r" in line:
            parts = [p for p in line.split("\r") if p.strip()]
            if not parts:
                line = ""
            else:
                out.extend(p for p in parts[:-1] if is_important(p))
                line = parts[-1]
        out.append(line)
    return "\n".join(out)


_DIGITS = re.compile(r"\d+(?:\.\d+)?")


def shape(line: str) -> str:
    """A line with its numbers blanked, so that progress lines ("12/400", "13/400") compare equal."""
    return _DIGITS.sub("#", line[:MATCH_PREFIX])
