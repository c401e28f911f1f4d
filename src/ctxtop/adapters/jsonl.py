"""The one decoder for transcript and API-log lines: what a line means never depends on how it was read.

Claude Code writes its transcripts with Node's ``JSON.stringify`` and reads them back with ``JSON.parse`` (as
ccusage does), so a line is decoded the way ``JSON.parse`` would see it:

- orjson decodes it (strict JSON, UTF-8, nesting up to 1,024 levels); almost every real line stops here;
- a line orjson rejects (or one over ``BIG_LINE``, for which orjson's scratch memory, ~13x the line, is too
  much) is decoded by the standard library, the way Node reads it: invalid UTF-8
  bytes become U+FFFD, a number too large for a double becomes infinity (counted as 0 tokens downstream; an
  integer literal too long for ``int()`` too),
  and a lone surrogate escape (``"\\ud800"``, which ``JSON.stringify`` writes for half a surrogate pair)
  becomes U+FFFD too, since SQLite cannot store it;
- anything else is malformed (``ValueError``): ``NaN``/``Infinity`` literals, a byte-order mark, control
  characters inside strings, trailing garbage, nesting deeper than either decoder allows. ``JSON.parse``
  rejects all of these but the depth, which is checked explicitly on this path (``MAX_DEPTH``, orjson's), so
  that both paths accept exactly the same lines.

Integers wider than 64 bits come out of orjson as floats and of the standard library as ints; token counts
clamp both to 0, so the numbers do not depend on the path either.
"""

from __future__ import annotations

import json
import re
import sys
import threading
from collections import deque
from collections.abc import Callable
from types import FrameType

import orjson

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: importing typing costs the statusline ~5 ms
if TYPE_CHECKING:
    from typing import TypeVar

    import msgspec

    T = TypeVar("T")

MAX_DEPTH = 1024
"""Nested arrays/objects allowed in a line (orjson's own limit)."""
BIG_LINE = 4 * 1024 * 1024
"""Lines longer than this skip orjson: its scratch memory is ~13x the line; the standard library's ~4x."""

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_SLOW = threading.Lock()  # the recursion limit is per interpreter: one slow decode at a time
_NOT_BRACKET = bytes(b for b in range(256) if b not in b"[]{}")


CHECK_MIN_BYTES = 256 * 1024
"""``all_objects`` loads msgspec (~20 ms) only for a batch of lines at least this big: a statusline's or a live
tail's few lines go by ``decode_line`` alone."""
_check_object = None
"""msgspec's decoder of "any JSON object" (``_checker``), once loaded."""


def _checker() -> msgspec.json.Decoder:
    global _check_object
    if _check_object is None:
        import msgspec

        class _Object(msgspec.Struct):
            """Any JSON object: a line is checked against it without building anything (every field is
            skipped, yet validated)."""

        _check_object = msgspec.json.Decoder(_Object)
    return _check_object


def _stack_depth() -> int:
    frame: FrameType | None = sys._getframe()
    depth = 0
    while frame is not None:
        frame, depth = frame.f_back, depth + 1
    return depth


# msgspec nests as deep as the recursion limit lets it; on CPython 3.11 that limit also bounds C code, so it can
# be set to keep msgspec below MAX_DEPTH. From 3.12 C recursion has a fixed limit of its own (deeper than 1,024
# levels): there every line goes by decode_line.
_BOUNDED = sys.version_info < (3, 12) and sys.implementation.name == "cpython"


def all_objects(lines: list[bytes]) -> bool:
    """Every line is a JSON object that ``decode_line`` accepts, checked in one pass in C, nothing built.

    msgspec is never more lenient than ``decode_line`` (tests mutate real lines to show it) but stricter on
    a few things ``decode_line`` rescues or skips: lone surrogate escapes, nesting beyond ~1,000 levels, blank
    lines. False then (or for a small batch, before msgspec is loaded), and the caller goes line by line with
    ``decode_line``."""
    if not checks(sum(map(len, lines))):
        return False
    check = _checker().decode
    return _checked(lambda: deque(map(check, lines), 0)) is not None


def _checked(check: Callable[[], T]) -> T | None:
    """``check()`` under a recursion limit that leaves msgspec fewer levels than ``MAX_DEPTH``; None when
    it finds anything msgspec rejects."""
    import msgspec

    with _SLOW:
        limit = sys.getrecursionlimit()
        # Room for fewer levels than MAX_DEPTH below this frame: a deeper line fails here, and decode_line
        # (which checks MAX_DEPTH itself) has the last word on it.
        sys.setrecursionlimit(_stack_depth() + MAX_DEPTH - 24)
        try:
            return check()
        except (msgspec.DecodeError, msgspec.ValidationError, RecursionError):
            return None
        finally:
            sys.setrecursionlimit(limit)


def checks(size: int) -> bool:
    """A batch of ``size`` bytes is checked in C (``all_objects``, ``block_objects``) rather than line by line."""
    return _BOUNDED and (_check_object is not None or size >= CHECK_MIN_BYTES)


def block_objects(block: memoryview, lines: int) -> bool:
    """Every one of the ``lines`` lines of ``block`` (lines joined by newlines, see ``tailer.BlockSink``) is
    a JSON object that ``decode_line`` accepts: ``all_objects`` without splitting the block first.

    msgspec decodes the block as newline-delimited JSON in one C call, which by itself would also take two
    objects on one line, or one object over two. So every line must also start with ``{`` and end with
    ``}``: no JSON value can then span a line break (inside an object or array, ``}`` and ``{`` cannot
    meet across one without a comma, and strings hold no raw newline), each line is one or more whole
    objects, and as many objects as lines means exactly one each. False for anything else (a blank line, a
    space or ``\r`` at a line's edge, a small block before msgspec is loaded): the caller splits the block and
    goes line by line."""
    if not block or not checks(len(block)):
        return False  # an empty block is one empty line
    from stringzilla import Str

    text = Str(block)
    if not (block[0] == 0x7B and block[-1] == 0x7D and text.count(b"}\n{") == lines - 1):
        return False
    decode_lines = _checker().decode_lines
    return _checked(lambda: len(decode_lines(block))) == lines


def _reject_constant(name: str) -> object:
    raise ValueError(f"{name} is not JSON")


def _integer(text: str) -> int | float:
    """An integer literal as ``JSON.parse`` reads it: one too long for ``int()`` (over 4,300 digits, CPython's
    limit) is a double too, so infinity (and 0 tokens downstream), not a malformed line."""
    try:
        return int(text)
    except ValueError:
        return float(text)


_STRICT = json.JSONDecoder(parse_constant=_reject_constant, parse_int=_integer)


def _scrub(value: object) -> object:
    """``value`` with every lone surrogate in its strings (keys included) replaced by U+FFFD."""
    if isinstance(value, str):
        return _LONE_SURROGATE.sub("\ufffd", value)
    if isinstance(value, dict):
        return {_scrub(k): _scrub(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v) for v in value]
    return value


def _depth(raw: bytes) -> int:
    """How deeply arrays and objects nest in ``raw`` (brackets inside strings do not count)."""
    brackets = _STRING.sub(b"", raw).translate(None, _NOT_BRACKET)
    depth = deepest = 0
    for b in brackets:
        if b in b"[{":
            depth += 1
            if depth > deepest:
                deepest = depth
        else:
            depth -= 1
    return deepest


def _slow(raw: bytes) -> object:
    if raw.count(b"[") + raw.count(b"{") > MAX_DEPTH and _depth(raw) > MAX_DEPTH:
        raise ValueError("nested too deeply")
    text = raw.decode("utf-8", "replace")
    with _SLOW:
        limit = sys.getrecursionlimit()
        # Room for MAX_DEPTH levels wherever this runs from (the C scanner counts against this limit).
        sys.setrecursionlimit(limit + 2 * MAX_DEPTH + 100)
        try:
            value = _STRICT.decode(text)
            # Only a surrogate escape can leave a lone surrogate behind: other rescued lines are not walked.
            if _SURROGATE_ESCAPE.search(text):
                value = _scrub(value)
        finally:
            sys.setrecursionlimit(limit)
    return value


def decode_line(raw: bytes) -> object:
    """The JSON value of one line; raises ``ValueError`` when the line is malformed (see the module doc)."""
    if len(raw) <= BIG_LINE:
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            pass
    return _slow(raw)
