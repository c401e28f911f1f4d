"""JSON for files ctxtop edits but does not own: numbers come back exactly as they were written.

Python's ``json`` turns ``1e400`` into ``inf`` and writes it back as ``Infinity``, which Claude Code's parser
rejects (and with it every rule in the file); it also accepts ``NaN``/``Infinity``, which are not JSON. Here a
number keeps its source text (an ``int``/``float`` subclass, so code reading the value still sees a number)
and :func:`dumps` writes that text back verbatim; ``NaN``/``Infinity`` are refused with their line and column.
"""

from __future__ import annotations

import json
import re
import secrets
from typing import Any


class _Remembered:
    """A number that remembers its source text; mixed in before ``int`` or ``float``."""

    text: str

    def __new__(cls, text: str) -> Any:
        number = super().__new__(cls, text)  # type: ignore[call-arg]  # int.__new__ or float.__new__ (the mixin sees object)
        number.text = text
        return number

    def __deepcopy__(self, memo: dict[int, Any]) -> Any:
        return self  # immutable

    def __copy__(self) -> Any:
        return self


class RawInt(_Remembered, int):
    """An integer as written (JSON forbids leading zeros, but ``-0`` stays ``-0``)."""


class RawFloat(_Remembered, float):
    """A float as written: ``1e400`` stays ``1e400``, ``1.10`` stays ``1.10``."""


class _Constant(Exception):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


def _refuse(name: str) -> Any:
    raise _Constant(name)


def _position(text: str, name: str) -> int:
    """Offset of the first ``NaN``/``Infinity`` outside a string (the one the parser stopped at)."""
    i, in_string = 0, False
    while i < len(text):
        char = text[i]
        if in_string:
            if char == "\\":
                i += 2
                continue
            in_string = char != '"'
        elif char == '"':
            in_string = True
        elif text.startswith(name, i):
            return i
        i += 1
    return 0


def loads(text: str) -> Any:
    """Parse ``text``; numbers become :class:`RawInt`/:class:`RawFloat`. Raises ``json.JSONDecodeError``."""
    try:
        return json.loads(text, parse_int=RawInt, parse_float=RawFloat, parse_constant=_refuse)
    except _Constant as exc:
        raise json.JSONDecodeError(
            f"{exc.name} is not a JSON number", text, _position(text, exc.name)
        ) from None


def _mark(value: Any, numbers: dict[str, str], nonce: str) -> Any:
    if isinstance(value, _Remembered):
        key = f"@{nonce}:{len(numbers)}@"
        numbers[key] = value.text
        return key
    if isinstance(value, dict):
        return {k: _mark(v, numbers, nonce) for k, v in value.items()}
    if isinstance(value, list):
        return [_mark(v, numbers, nonce) for v in value]
    return value


def dumps(value: Any, indent: str | int | None = 2) -> str:
    """``json.dumps`` that writes remembered numbers as they were read; refuses a non-finite plain float."""
    numbers: dict[str, str] = {}
    # A random marker per call cannot occur in the document, so replacing it touches nothing else.
    nonce = secrets.token_hex(8)
    text = json.dumps(_mark(value, numbers, nonce), indent=indent, ensure_ascii=False, allow_nan=False)
    # A lone surrogate (read from a "\ud800" escape) cannot be written as UTF-8: write the escape back.
    text = _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
    if not numbers:
        return text
    return re.sub(rf'"(@{nonce}:\d+@)"', lambda m: numbers[m.group(1)], text)


_SURROGATE = re.compile("[\ud800-\udfff]")
