"""Find the files ctxtop reads: Claude Code transcripts (subagents included) and API session logs."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ctxtop.adapters import paths
from ctxtop.core.records import MAIN, FileContext


@dataclass(frozen=True, slots=True)
class Sources:
    """The directories to read. Built once from CLI options / config and passed everywhere (injectable)."""

    claude_dirs: tuple[Path, ...]
    api_log_dirs: tuple[Path, ...]

    def __post_init__(self) -> None:
        # A file is known by its resolved path: a relative or symlinked --claude-dir names the same files
        # (and the same index rows) as the real directory.
        object.__setattr__(self, "claude_dirs", tuple(resolved_dir(d) for d in self.claude_dirs))
        object.__setattr__(self, "api_log_dirs", tuple(resolved_dir(d) for d in self.api_log_dirs))

    @classmethod
    def discover(cls, claude_dirs: list[str] | None = None, api_logs: str | None = None) -> Sources:
        logs = Path(api_logs).expanduser() if api_logs else paths.api_log_dir()
        return cls(tuple(paths.claude_config_dirs(claude_dirs)), (logs,))

    def roots(self) -> tuple[str, ...]:
        """The directories whose files are this set of sources: what a view is scoped to."""
        return tuple(str(d / "projects") for d in self.claude_dirs) + tuple(str(d) for d in self.api_log_dirs)


def resolved_dir(path: Path) -> Path:
    """``path`` absolute with every symbolic link resolved (also when it does not exist yet)."""
    return Path(os.path.realpath(path.expanduser()))


def resolved_file(path: Path) -> Path:
    """``path`` in its resolved directory; the name is kept (it carries the session id and the chain)."""
    return resolved_dir(path.parent) / path.name


def context_for(path: Path, source: str) -> FileContext:
    """Session and chain of a file, from its place in the tree."""
    stem = path.stem
    if source == "api":
        return FileContext(session_id=stem, chain=MAIN, source="api")
    parent = path.parent
    if parent.name == "subagents" and stem.startswith("agent-"):
        return FileContext(session_id=parent.parent.name, chain=stem[len("agent-") :], source="claude")
    return FileContext(session_id=stem, chain=MAIN, source="claude")


def _walk_jsonl(root: Path) -> Iterator[Path]:
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        # tool-results/ holds persisted outputs, never transcripts.
        dirnames[:] = [d for d in dirnames if d != "tool-results"]
        for name in filenames:
            if name.endswith(".jsonl"):
                yield Path(dirpath) / name


def iter_files(sources: Sources) -> Iterator[tuple[Path, str]]:
    """Every (path, source) to index, transcripts first, in a stable order."""
    for config in sources.claude_dirs:
        projects = config / "projects"
        if projects.is_dir():
            for path in sorted(_walk_jsonl(projects)):
                yield path, "claude"
    for logs in sources.api_log_dirs:
        if logs.is_dir():
            for path in sorted(logs.glob("*.jsonl")):
                yield path, "api"


def decode_project_dir(name: str) -> str:
    """Claude Code's project dir name is the cwd with every non-alphanumeric char as '-' (lossy)."""
    return name.replace("-", "/") if name.startswith("-") else name
