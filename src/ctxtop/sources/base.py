"""What a log source is: the Source protocol the index, the watcher and doctor iterate, and its helpers.

A source is one tool whose logs ctxtop reads (Claude Code transcripts, ctxtop's API session logs, ...). Its
class holds what the path and the JSON of a log say (``context_for``, ``parser``, ``markers``); an instance
holds the directories in effect (from CLI options, config and environment). Nothing outside ``sources/``
knows a tool's layout or JSON.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from pathlib import Path

from ctxtop.adapters.tree import list_dir, walk_dirs
from ctxtop.core.records import MAIN, FileContext, Parsed

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: importing typing costs the statusline ~5 ms
if TYPE_CHECKING:
    from typing import Any, ClassVar, Protocol, Self
else:
    Protocol = object


class FileParser(Protocol):
    """Turns the lines of one file into facts, in file order; made per read of a file by ``Source.parser``."""

    def parse(self, obj: dict[str, Any], line_key: str) -> list[Parsed]:
        """Facts in one decoded JSON object line. ``line_key`` ("<path>:<byte offset>") is unique per line
        (for request keys when the log has no ids). Raising counts the line as malformed; the read goes on."""
        ...

    @property
    def state(self) -> str | None:
        """What the parser must remember to go on where it stopped (JSON text), or None.

        The index stores it with the file's offset after each read and hands it back to ``Source.parser``
        for the next read of that file; it is dropped whenever the file is read again from its first byte
        (truncated, replaced, rewritten, re-read), so a state never outlives the content it describes."""
        ...


class Source(Protocol):
    """One tool whose logs ctxtop reads; an instance is that tool's directories in effect.

    Instances are picklable (frozen dataclasses of paths): a cold index parses in spawned worker processes."""

    name: ClassVar[str]
    """Stored in the index (files.source, sessions.source) and shown as a session's ``source``; never renamed."""
    markers: ClassVar[tuple[bytes, ...]]
    """A line is parsed only if it contains one of these (one or two, tested on the raw bytes); () = all."""
    tool_markers: ClassVar[tuple[bytes, ...]]
    """Lines that may hold ToolUse/ToolResult facts (read on demand for a session's largest tool outputs);
    () when the source records none."""
    title: ClassVar[str]
    """doctor's heading for the source's directories."""
    doctor_key: ClassVar[str]
    """doctor --json key of the source's directories."""
    count_key: ClassVar[str]
    """doctor --json key of the number of indexed files per directory."""
    count_noun: ClassVar[str]
    """doctor's word for those files ("transcript files")."""

    @classmethod
    def discover(cls, options: Mapping[str, Any]) -> Self:
        """The instance in effect: ``options`` holds CLI/config values by option name; a missing or None value
        means the default (environment variable, then the tool's own default). Missing directories are kept."""
        ...

    def locations(self) -> tuple[Path, ...]:
        """The user-facing directories (what the user configures and doctor lists)."""
        ...

    def roots(self) -> tuple[Path, ...]:
        """The directories holding the log files: views are scoped to them, the watcher watches them, and a
        known file under one that is no longer listed has vanished."""
        ...

    def iter_files(self) -> Iterator[Path]:
        """Every log file under the roots in a stable order; no symlinked directories; a missing root is empty."""
        ...

    def is_log(self, path: str) -> bool:
        """``path`` (absolute) is a log file of this instance: under a root and named like one. No I/O."""
        ...

    def poll_dirs(self, root: Path, hot: Collection[str]) -> list[str]:
        """Folders under ``root`` where a new log file can appear (the watcher's stat poll compares their
        mtimes every couple of seconds, so keep it short); ``hot`` lists the files that changed recently."""
        ...

    @classmethod
    def context_for(cls, path: Path) -> FileContext:
        """Session and chain of a file, from its path alone (``FileContext.source`` is ``cls.name``)."""
        ...

    @classmethod
    def parser(cls, ctx: FileContext, state: str | None) -> FileParser:
        """A parser for one read of the file ``ctx`` describes; ``state`` is what the parser of the previous
        read left (None: the read starts at the file's first byte)."""
        ...

    @classmethod
    def project_cwd(cls, project_dir: str) -> str | None:
        """The working directory a session's folder name stands for, when no line recorded one (or None)."""
        ...

    def session_path(self, session_id: str, project_dir: str) -> Path | None:
        """Where a file of this session would live under the first root (an imported session is filed there
        so that views scope it in), or None when there is no root."""
        ...


def resolved_dir(path: Path) -> Path:
    """``path`` absolute with every symbolic link resolved (also when it does not exist yet)."""
    return Path(os.path.realpath(path.expanduser()))


def resolved_file(path: Path) -> Path:
    """``path`` in its resolved directory; the name is kept (it carries the session id and the chain)."""
    return resolved_dir(path.parent) / path.name


class DirsSource:
    """What most sources' instances are: the tuple of directories in effect (``locations()``), compared and
    hashed by value. A plain class, not a dataclass, so that subclasses can declare the protocol's class
    variables as ``ClassVar`` without importing ``typing`` at run time (the statusline's budget)."""

    __slots__ = ("dirs", "given")

    def __init__(self, dirs: Iterable[Path]) -> None:
        # A file is known by its resolved path: a relative or symlinked --claude-dir names the same files
        # (and the same index rows) as the real directory.
        self.given: tuple[Path, ...] = tuple(dirs)
        """The directories as named (``report_fast`` checks they still resolve to ``dirs``)."""
        self.dirs: tuple[Path, ...] = tuple(resolved_dir(d) for d in self.given)

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and isinstance(other, DirsSource) and other.dirs == self.dirs

    def __hash__(self) -> int:
        return hash((type(self), self.dirs))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.dirs!r})"

    def locations(self) -> tuple[Path, ...]:
        return self.dirs


class FlatDirSource(DirsSource):
    """A source whose logs are the ``*.jsonl`` files directly in each of its directories, one session per
    file named by its session id (``<dir>/<session>.jsonl``, the folder's name as the project): what
    ``roots``, ``iter_files``, ``is_log``, ``poll_dirs``, ``context_for`` and ``session_path`` then are."""

    __slots__ = ()
    name: ClassVar[str]

    def roots(self) -> tuple[Path, ...]:
        return self.dirs

    def iter_files(self) -> Iterator[Path]:
        for folder in self.dirs:
            if folder.is_dir():
                # What ``folder.glob("*.jsonl")`` gives, through the index's kept listings.
                yield from sorted(folder / n for n in list_dir(folder) if n.endswith(".jsonl"))

    def is_log(self, path: str) -> bool:
        # Only a directory's own files, as iter_files lists them: one in a subfolder is never a log (it
        # would count as vanished).
        return path.endswith(".jsonl") and os.path.dirname(path) in {str(d) for d in self.dirs}

    def poll_dirs(self, root: Path, hot: Collection[str]) -> list[str]:
        return [str(root)]

    @classmethod
    def context_for(cls, path: Path) -> FileContext:
        return FileContext(path.stem, MAIN, cls.name, path.parent.name)

    def session_path(self, session_id: str, project_dir: str) -> Path | None:
        return self.dirs[0] / f"{session_id}.jsonl" if self.dirs else None


class StatelessParser:
    """A FileParser for sources whose lines stand alone: ``parse(obj, ctx, line_key)`` per line, no state."""

    __slots__ = ("_parse", "_ctx")

    def __init__(self, parse: Callable[[Any, FileContext, str], list[Parsed]], ctx: FileContext) -> None:
        self._parse = parse
        self._ctx = ctx

    def parse(self, obj: dict[str, Any], line_key: str) -> list[Parsed]:
        return self._parse(obj, self._ctx, line_key)

    @property
    def state(self) -> str | None:
        return None


def walk_jsonl(root: Path, skip_dirs: Collection[str] = ()) -> Iterator[Path]:
    """``*.jsonl`` files under ``root`` (symlinked directories are not followed), skipping folders named in
    ``skip_dirs``; unordered (callers sort)."""
    for dirpath, dirnames, filenames in walk_dirs(root):
        if skip_dirs:
            dirnames[:] = [d for d in dirnames if d not in skip_dirs]
        for name in filenames:
            if name.endswith(".jsonl"):
                yield Path(os.path.join(dirpath, name))  # one Path, not two: a big history has thousands


def under(path: str, roots: Collection[Path]) -> bool:
    """``path`` lies inside one of ``roots`` (string prefix test, as the index's scope does)."""
    return any(path.startswith(str(root) + os.sep) for root in roots)
