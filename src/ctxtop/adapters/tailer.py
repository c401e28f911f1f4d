"""Read what was appended to a file since last time, by byte offset, in bounded chunks.

The state per file is (device, inode, size, mtime, ctime, offset, fingerprint): ``offset`` is where the first
line not yet consumed starts (a half-written last line is read again, from disk, once its newline arrives).
The file is read again from the start, and the caller told so, when it was:

- truncated (smaller than what was read) or replaced (another inode);
- rewritten in place: the fingerprint of what was read (the whole prefix of a small file, sampled blocks of a
  big one) no longer matches, or the file changed (ctime) without growing.

Only regular files are read: a FIFO, socket or device named ``*.jsonl`` is refused with an ``OSError`` and
never opened in a blocking way. Memory is bounded by the chunk size (plus the longest line, itself bounded by
``MAX_LINE_BYTES``: a longer line is skipped and counted), whatever the file's size; ``max_bytes`` and
``deadline`` bound a read further, leaving the rest for next time.

This is the one safe read path for transcripts: the index, the TUI's tool-output view and the statusline use
``open_regular`` / ``read_appended``.
"""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Callable
from dataclasses import dataclass

CHUNK_BYTES = 8 * 1024 * 1024
"""Bytes read per chunk: a chunk and its lines are in memory at once, never the whole file."""
MAX_LINE_BYTES = 256 * 1024 * 1024
"""A line still without its newline after this many bytes (give or take a chunk) is skipped and counted as
oversized instead of held in memory."""
SMALL_FILE = 256 * 1024
"""Up to this many bytes read, the fingerprint hashes all of them; beyond, ``SAMPLES`` blocks."""
SAMPLES = 16
BLOCK = 4096

LineSink = Callable[[list[bytes], int], object]
"""Receives complete lines (without their newline) and the file offset of the first one (its result unused)."""
BlockSink = Callable[[memoryview, int], object]
"""Receives complete lines as one block (the lines joined by their newlines, the last newline left out: a chunk
of the file as it was read, never copied or split) and the file offset of its first byte (its result unused).
A block holds at least one line (an empty block is one empty line); it is valid only during the call."""


class NotRegularFile(OSError):
    """The path is a FIFO, socket, device or directory: never read (reading a FIFO blocks forever)."""


def open_regular(path: str | os.PathLike[str], *, follow_symlinks: bool = True) -> int:
    """A read-only descriptor on ``path`` if it is a regular file; raises ``OSError`` otherwise.

    ``O_NONBLOCK`` makes opening a FIFO return at once instead of waiting for a writer; the type is then
    checked on the open descriptor (no race with a rename). ``follow_symlinks=False`` adds ``O_NOFOLLOW``,
    for paths another program named (a symlink planted there is refused)."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    if not follow_symlinks:
        flags |= getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(path, flags)
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise NotRegularFile(f"not a regular file ({_kind(mode)})")
    except BaseException:
        os.close(fd)
        raise
    return fd


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISFIFO, "FIFO"), (stat.S_ISSOCK, "socket"), (stat.S_ISDIR, "directory"),
                       (stat.S_ISCHR, "character device"), (stat.S_ISBLK, "block device")):  # fmt: skip
        if test(mode):
            return name
    return "special file"


def _fingerprint(fd: int, offset: int, head: bytes | None = None) -> bytes:
    """A digest of the file's first ``offset`` bytes: all of them for a small file, else the head, the
    ``BLOCK`` bytes just before ``offset`` and ``SAMPLES`` blocks spread evenly in between. A few preads on
    the warm path, never the whole file. ``head``: the file's first bytes as just read (at least ``offset``
    of a small file), hashed instead of read again."""
    import hashlib  # only when a file is read: the warm path never pays for it (~9 ms with OpenSSL)

    h = hashlib.blake2b(digest_size=16)
    h.update(offset.to_bytes(8, "little"))
    if offset <= SMALL_FILE:
        h.update(os.pread(fd, offset, 0) if head is None else memoryview(head)[:offset])
        return h.digest()
    step = (offset - BLOCK) // (SAMPLES + 1)
    for k in range(SAMPLES + 2):
        h.update(os.pread(fd, BLOCK, min(k * step, offset - BLOCK)))
    return h.digest()


@dataclass(slots=True)
class FileState:
    dev: int = 0
    ino: int = 0
    size: int = 0
    """Bytes of the file seen so far (consumed lines plus the half-written last line)."""
    mtime_ns: int = 0
    offset: int = 0
    """Bytes consumed: complete lines only; a half-written last line starts here."""
    partial: bytes = b""
    """Unused (kept for the index's column): a half-written line is read again from disk."""
    fingerprint: bytes = b""
    """See ``_fingerprint``."""
    ctime_ns: int = 0
    """Changes with any write or ``utime``, even one that restores the size and mtime."""

    def same_stat(self, st: os.stat_result) -> bool:
        """Nothing changed since this state was taken (one stat; the warm path)."""
        return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns) == (
            self.dev,
            self.ino,
            self.size,
            self.mtime_ns,
            self.ctime_ns,
        )


@dataclass(slots=True)
class ReadResult:
    lines: list[bytes]
    """The complete lines read, when no ``on_lines`` sink was given (empty otherwise)."""
    state: FileState
    reset: bool
    """True when the file was truncated, replaced or rewritten and was read again from the start."""
    start_offset: int
    """Byte offset of the first line read."""
    bytes_read: int = 0
    """New bytes since the previous state (all of them after a reset)."""
    oversized: int = 0
    """Lines longer than ``MAX_LINE_BYTES``, skipped."""
    complete: bool = True
    """False when ``max_bytes`` or ``deadline`` stopped the read before the end of the file."""


def _legacy_fingerprint(fd: int, offset: int) -> bytes:
    """The fingerprint indexes before schema 7 stored: the first 256 bytes and the 64 before ``offset``."""
    return os.pread(fd, min(offset, 256), 0) + os.pread(fd, min(offset, 64), max(offset - 64, 0))


def _must_restart(fd: int, st: os.stat_result, state: FileState) -> bool:
    if (st.st_dev, st.st_ino) != (state.dev, state.ino) or st.st_size < state.size:
        return True  # replaced or truncated
    if state.offset:
        legacy = len(state.fingerprint) != 16  # from an older index: checked its way, once
        check = _legacy_fingerprint if legacy else _fingerprint
        if check(fd, state.offset) != state.fingerprint:
            return True  # what was read is not what the file holds now
    # Changed without growing: rewritten in place with the same size (a big file's samples can miss it).
    # A ctime of 0 is unknown (an older index): size and mtime decide then.
    changed = st.st_mtime_ns != state.mtime_ns or (state.ctime_ns and st.st_ctime_ns != state.ctime_ns)
    return st.st_size == state.size and bool(changed)


def restarts(path: str, state: FileState) -> bool:
    """Reading ``path`` on from ``state`` would start again from its first byte (truncated, replaced,
    rewritten); False when it cannot be opened (the read that follows says why)."""
    try:
        fd = open_regular(path)
    except OSError:
        return False
    try:
        return _must_restart(fd, os.fstat(fd), state)
    finally:
        os.close(fd)


def read_appended(
    path: str,
    state: FileState | None,
    max_bytes: int | None = None,
    *,
    on_lines: LineSink | None = None,
    deadline: float | None = None,
    chunk_bytes: int | None = None,
    on_block: BlockSink | None = None,
) -> ReadResult:
    """Complete new lines since ``state``; raises ``OSError`` if the file cannot be read.

    With ``on_lines``, lines are handed over one chunk at a time (memory stays bounded); with ``on_block``,
    each chunk's lines as one unsplit block (see ``BlockSink``); without either they are collected in
    ``ReadResult.lines``. ``max_bytes`` and ``deadline`` (a ``time.monotonic()`` value) stop
    the read between chunks; what was not consumed is read next time. The read never goes past the size
    the file had when it was opened, so a file that keeps growing cannot keep it busy."""
    chunk_bytes = chunk_bytes or CHUNK_BYTES
    collected: list[bytes] = []
    if on_block is None:
        sink = on_lines if on_lines is not None else (lambda lines, _offset: collected.extend(lines))

        def on_block(block: memoryview, offset: int) -> None:
            sink(bytes(block).split(b"\n"), offset)

    fd = open_regular(path)
    try:
        st = os.fstat(fd)
        reset = False
        if state is None:
            state = FileState()
        elif _must_restart(fd, st, state):
            reset = True
            state = FileState()
        start = state.offset
        end = st.st_size
        if max_bytes is not None:
            end = min(end, start + max(max_bytes, 0))
        pos = consumed = start
        head: bytes | None = None
        pending: list[bytes] = []  # pieces of a line that spans chunks
        pending_len = 0
        skipping = False  # inside a line longer than MAX_LINE_BYTES
        oversized = 0
        complete = True
        while pos < end:
            if deadline is not None and pos > start and time.monotonic() >= deadline:
                complete = False
                break
            data = os.pread(fd, min(chunk_bytes, end - pos), pos)
            if not data:
                break  # shrank while being read: the next read sees the truncation
            if pos == 0 and len(data) <= SMALL_FILE:
                head = data  # a small file's fingerprint hashes its bytes: these, not a second read
            pos += len(data)
            cut = data.rfind(b"\n")
            if cut < 0:
                if not skipping:
                    pending.append(data)
                    pending_len += len(data)
                    if pending_len > MAX_LINE_BYTES:
                        pending, pending_len, skipping = [], 0, True
                continue
            # The chunk's lines go out as one block, a view of the chunk itself (no copy, no split); the
            # piece after the last newline waits.
            chunk_start = pos - len(data)
            body = 0
            if skipping or pending:
                first = data.find(b"\n")
                if skipping:
                    # The oversized line ends at the first newline of this chunk.
                    oversized += 1
                    skipping = False
                else:
                    pending.append(data[:first])
                    line = b"".join(pending)
                    pending, pending_len = [], 0
                    on_block(memoryview(line), consumed)
                    del line
                consumed = chunk_start + first + 1
                body = first + 1
            if body <= cut:
                on_block(memoryview(data)[body:cut], consumed)
            consumed = chunk_start + cut + 1
            if cut + 1 < len(data):
                tail = data[cut + 1 :]
                pending.append(tail)
                pending_len = len(tail)
                del tail
            del data
        if pos < st.st_size and pos >= end:
            complete = False
        new_offset = consumed
        if not new_offset:
            fingerprint = b""
        elif head is not None and new_offset <= len(head):
            fingerprint = _fingerprint(fd, new_offset, head)
        else:
            fingerprint = _fingerprint(fd, new_offset)
    finally:
        os.close(fd)
    # A skipped line still waiting for its newline is read (and skipped) again next time.
    new_state = FileState(
        dev=st.st_dev,
        ino=st.st_ino,
        size=pos,
        mtime_ns=st.st_mtime_ns,
        offset=new_offset,
        fingerprint=fingerprint,
        ctime_ns=st.st_ctime_ns,
    )
    previous = 0 if reset else state.size
    return ReadResult(
        lines=collected,
        state=new_state,
        reset=reset,
        start_offset=start,
        bytes_read=max(pos - previous, 0),
        oversized=oversized,
        complete=complete,
    )
