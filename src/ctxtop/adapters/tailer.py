"""Read what was appended to a file since last time, by byte offset.

The state per file is (device, inode, size, offset, partial): ``partial`` holds the bytes of a last line whose
newline has not arrived yet. A file that shrank below the offset was truncated, one with another inode was
replaced (rotated): both are read again from the start, and the caller is told so it can drop what it had
counted from that file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

HEAD = 256
TAIL = 64


def _fingerprint(fh, offset: int) -> bytes:  # type: ignore[no-untyped-def]
    """The file's first bytes and the bytes just before ``offset``: if either changed while the inode stayed,
    the file was rewritten in place and must be read again from the start."""
    fh.seek(0)
    head = fh.read(min(offset, HEAD))
    fh.seek(max(offset - TAIL, 0))
    return head + fh.read(min(offset, TAIL))


@dataclass(slots=True)
class FileState:
    dev: int = 0
    ino: int = 0
    size: int = 0
    mtime_ns: int = 0
    offset: int = 0
    """Bytes consumed: complete lines only; ``partial`` starts here."""
    partial: bytes = b""
    fingerprint: bytes = b""
    """See ``_fingerprint``."""


@dataclass(slots=True)
class ReadResult:
    lines: list[bytes]
    state: FileState
    reset: bool
    """True when the file was truncated or replaced and was read again from the start."""
    start_offset: int
    """Byte offset of ``lines[0]`` in the file."""


def read_appended(path: str, state: FileState | None, max_bytes: int | None = None) -> ReadResult:
    """Complete new lines since ``state``; raises OSError if the file cannot be read."""
    with open(path, "rb") as fh:
        st = os.fstat(fh.fileno())
        reset = False
        if state is None:
            state = FileState()
        elif (st.st_dev, st.st_ino) != (state.dev, state.ino) or st.st_size < state.offset + len(
            state.partial
        ):
            reset = True
            state = FileState()
        elif state.offset and state.fingerprint and _fingerprint(fh, state.offset) != state.fingerprint:
            reset = True
            state = FileState()
        start = state.offset + len(state.partial)
        fh.seek(start)
        remaining = st.st_size - start
        if max_bytes is not None:
            remaining = min(remaining, max_bytes)
        data = fh.read(remaining) if remaining > 0 else b""
    buf = state.partial + data if state.partial else data
    cut = buf.rfind(b"\n")
    if cut < 0:
        lines: list[bytes] = []
        partial = buf
        consumed = 0
    else:
        lines = buf[:cut].split(b"\n")
        partial = buf[cut + 1 :]
        consumed = cut + 1
    new_offset = state.offset + consumed
    fingerprint = state.fingerprint
    if consumed:
        with open(path, "rb") as fh:
            fingerprint = _fingerprint(fh, new_offset)
    new_state = FileState(
        dev=st.st_dev,
        ino=st.st_ino,
        size=start + len(data),
        mtime_ns=st.st_mtime_ns,
        offset=new_offset,
        partial=partial,
        fingerprint=fingerprint,
    )
    return ReadResult(lines=lines, state=new_state, reset=reset, start_offset=state.offset)
