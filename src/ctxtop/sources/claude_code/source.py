"""Claude Code as a log source: ``<config dir>/projects/<project>/<session>.jsonl`` and subagent files."""

from __future__ import annotations

import os
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from pathlib import Path

from ctxtop.core.records import MAIN, FileContext
from ctxtop.sources.base import DirsSource, FileParser, StatelessParser, under, walk_jsonl
from ctxtop.sources.claude_code import layout
from ctxtop.sources.claude_code.transcript import parse_claude

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, ClassVar

    from ctxtop.core.breakdown import Event

SUBAGENTS = "subagents"
"""``<project>/<session>/subagents/agent-<id>.jsonl``: a subagent's transcript, part of the session."""
TOOL_RESULTS = "tool-results"
"""``<project>/<session>/tool-results/``: outputs Claude Code persisted to files, never transcripts."""


def _parts(path: Path) -> tuple[str, ...]:
    return path.parts


class ClaudeCode(DirsSource):
    """The Claude Code config dirs in effect (``--claude-dir``, ``$CLAUDE_CONFIG_DIR``, ``~/.claude``...)."""

    __slots__ = ()
    name: ClassVar[str] = "claude"
    # The requests and compact boundaries. Tool results, the bulk of a history's bytes, are read on demand
    # for one session (Index.tool_outputs), never at index time.
    markers: ClassVar[tuple[bytes, ...]] = (b'"usage"', b"compact_boundary")
    tool_markers: ClassVar[tuple[bytes, ...]] = (b'"tool_',)
    title: ClassVar[str] = "Claude Code config dirs"
    doctor_key: ClassVar[str] = "claude_config_dirs"
    count_key: ClassVar[str] = "transcripts"
    count_noun: ClassVar[str] = "transcript files"

    @property
    def config_dirs(self) -> tuple[Path, ...]:
        return self.dirs

    @classmethod
    def discover(cls, options: Mapping[str, Any]) -> ClaudeCode:
        return cls(tuple(layout.claude_config_dirs(options.get("claude_dirs") or None)))

    def roots(self) -> tuple[Path, ...]:
        return tuple(d / "projects" for d in self.config_dirs)

    def iter_files(self) -> Iterator[Path]:
        for projects in self.roots():
            if projects.is_dir():
                # Path order by its parts (what Path's own comparison compares), 4x faster than comparing Paths.
                yield from sorted(walk_jsonl(projects, skip_dirs=(TOOL_RESULTS,)), key=_parts)

    def is_log(self, path: str) -> bool:
        return (
            path.endswith(".jsonl")
            and f"{os.sep}{TOOL_RESULTS}{os.sep}" not in path
            and under(path, self.roots())
        )

    def poll_dirs(self, root: Path, hot: Collection[str]) -> list[str]:
        """The root, its project dirs, and the subagents dirs of hot sessions."""
        folders = [str(root)]
        try:
            folders += [e.path for e in os.scandir(root) if e.is_dir(follow_symlinks=False)]
        except OSError:
            return folders
        prefix = str(root) + os.sep
        for path in hot:
            if path.startswith(prefix) and path.endswith(".jsonl"):
                sub = os.path.join(path[: -len(".jsonl")], SUBAGENTS)
                if os.path.isdir(sub):
                    folders.append(sub)
        return folders

    @staticmethod
    def config_dir_of(transcript: Path) -> Path:
        """The config dir a main transcript lives in: ``<dir>/projects/<project>/<session>.jsonl``."""
        return transcript.parent.parent.parent

    @staticmethod
    def session_files(transcript: Path) -> list[Path]:
        """A main transcript and its subagents' (``<session>/subagents/agent-*.jsonl``), in that order."""
        files = [transcript]
        subagents = transcript.with_suffix("") / SUBAGENTS
        if subagents.is_dir():
            files.extend(p for p in sorted(subagents.glob("agent-*.jsonl")) if p.is_file())
        return files

    @classmethod
    def context_for(cls, path: Path) -> FileContext:
        stem = path.stem
        parent = path.parent
        if parent.name == SUBAGENTS and stem.startswith("agent-"):
            # <project>/<session>/subagents/agent-<id>.jsonl
            session = parent.parent
            return FileContext(session.name, stem[len("agent-") :], cls.name, session.parent.name)
        return FileContext(stem, MAIN, cls.name, parent.name)

    @classmethod
    def parser(cls, ctx: FileContext, state: str | None) -> FileParser:
        return _TranscriptParser(parse_claude, ctx)

    @classmethod
    def project_cwd(cls, project_dir: str) -> str | None:
        return decode_project_dir(project_dir)

    @staticmethod
    def context_events(lines: Sequence[Any], session_id: str) -> list[Event]:
        """A main transcript's decoded lines as breakdown events (``services.context_io`` asks a source that
        has this method; a source without one has no context breakdown)."""
        from ctxtop.sources.claude_code.context import (
            claude_events,  # tiktoken-free, but not for the statusline
        )

        return claude_events(lines)

    @staticmethod
    def session_title(files: Sequence[str]) -> str | None:
        """The summary Claude Code wrote, else the first request typed (``files``: the main transcript)."""
        from ctxtop.sources.claude_code.notes import session_title  # core.notes: not for the statusline

        return session_title(files)

    def session_path(self, session_id: str, project_dir: str) -> Path | None:
        if not self.config_dirs:
            return None
        return self.config_dirs[0] / "projects" / project_dir / f"{session_id}.jsonl"


class _TranscriptParser(StatelessParser):
    """``parse_claude`` per line, and the index's narrow decode of a line's bytes (``index_lines``)."""

    __slots__ = ()

    def index_reader(self) -> Callable[..., tuple[int, float | None]]:
        """``index_lines.index_block`` with this file's context: the facts of many marker lines of a block
        in one call (msgspec is loaded only by the index's big reads)."""
        from functools import partial

        from ctxtop.sources.claude_code.index_lines import index_block

        return partial(index_block, self._ctx)


def decode_project_dir(name: str) -> str:
    """Claude Code's project dir name is the cwd with every non-alphanumeric char as '-' (lossy)."""
    return name.replace("-", "/") if name.startswith("-") else name
