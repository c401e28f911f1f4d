"""Codex CLI as a source: where its rollout files live and how they are named.

``$CODEX_HOME`` (a comma separated list is accepted, as ccusage does), else ``~/.codex``. Codex writes
``sessions/YYYY/MM/DD/rollout-<local start time>-<session id>.jsonl`` and moves a session it archives to
``archived_sessions/``; both are roots, so an archived session is a file that moved, not one that vanished.
Monitoring only: compaction, notes and the output filter are Claude Code features (Codex compacts by itself).
"""

from __future__ import annotations

import os
import time
from collections.abc import Collection, Iterator, Mapping, Sequence
from pathlib import Path

from ctxtop.adapters.tree import walk_dirs
from ctxtop.core.records import MAIN, FileContext
from ctxtop.sources.base import DirsSource, under
from ctxtop.sources.codex.rollout import RolloutParser, session_id_of
from ctxtop.sources.codex.title import session_title
from ctxtop.sources.codex.window import compaction_info

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: importing typing costs the statusline ~5 ms
if TYPE_CHECKING:
    from typing import Any, ClassVar

    from ctxtop.core.compaction import CompactionInfo
    from ctxtop.core.metrics import SessionStats

HOME_ENV = "CODEX_HOME"
SUBDIRS = ("sessions", "archived_sessions")
PREFIX = "rollout-"


def codex_homes(explicit: str | list[str] | tuple[str, ...] | None = None) -> tuple[Path, ...]:
    """The Codex homes to read, in order, without duplicates: ``explicit``, else ``$CODEX_HOME``, else ~/.codex."""
    if isinstance(explicit, str):
        explicit = [explicit]
    if explicit:
        candidates = [p for p in explicit if p]
    else:
        env = os.environ.get(HOME_ENV, "")
        candidates = [p.strip() for p in env.split(",") if p.strip()] or [str(Path.home() / ".codex")]
    seen: set[str] = set()
    out: list[Path] = []
    for raw in candidates:
        path = Path(raw).expanduser()
        key = os.path.realpath(path)
        if key not in seen:
            seen.add(key)
            out.append(path)
    return tuple(out)


def _walk_rollouts(root: Path) -> Iterator[Path]:
    for dirpath, _dirnames, filenames in walk_dirs(root):
        for name in filenames:
            if name.startswith(PREFIX) and name.endswith(".jsonl"):
                yield Path(dirpath) / name


class Codex(DirsSource):
    """The Codex homes in effect (their ``sessions/`` and ``archived_sessions/`` are the roots)."""

    __slots__ = ()
    name: ClassVar[str] = "codex"
    # token_count, turn_context, session_meta and compacted lines share no substring: every line goes to the
    # parser, whose first test is the line's type.
    markers: ClassVar[tuple[bytes, ...]] = ()
    tool_markers: ClassVar[tuple[bytes, ...]] = ()
    title: ClassVar[str] = "Codex CLI homes"
    doctor_key: ClassVar[str] = "codex_homes"
    count_key: ClassVar[str] = "rollouts"
    count_noun: ClassVar[str] = "rollout files"

    @property
    def homes(self) -> tuple[Path, ...]:
        return self.dirs

    @classmethod
    def discover(cls, options: Mapping[str, Any] | None = None) -> Codex:
        return cls(codex_homes((options or {}).get("codex_dirs")))

    def roots(self) -> tuple[Path, ...]:
        return tuple(home / sub for home in self.homes for sub in SUBDIRS)

    def iter_files(self) -> Iterator[Path]:
        for root in self.roots():
            if root.is_dir():
                yield from sorted(_walk_rollouts(root))

    def is_log(self, path: str) -> bool:
        name = os.path.basename(path)
        if not (name.startswith(PREFIX) and name.endswith(".jsonl")):
            return False
        return under(path, self.roots())

    def poll_dirs(self, root: Path, hot: Collection[str]) -> list[str]:
        """The root, and the year/month/day folders of yesterday and today (UTC and local), where Codex adds
        new files; ``archived_sessions/`` is flat. Folders of recently changed files too."""
        dirs = {str(root)}
        if root.name == "sessions":
            now = time.time()
            for stamp in (now - 86400, now):
                for t in (time.gmtime(stamp), time.localtime(stamp)):
                    year, month, day = f"{t.tm_year:04d}", f"{t.tm_mon:02d}", f"{t.tm_mday:02d}"
                    dirs.update((str(root / year), str(root / year / month), str(root / year / month / day)))
        prefix = str(root) + os.sep
        dirs.update(os.path.dirname(p) for p in hot if p.startswith(prefix))
        return sorted(dirs)

    @classmethod
    def context_for(cls, path: Path) -> FileContext:
        # The folder grouping a session's file is its start day, sessions/YYYY/MM/DD (archived: the root).
        day = path.parts[-4:-1]
        folder = "/".join(day) if len(day) == 3 and all(p.isdigit() for p in day) else ""
        return FileContext(session_id_of(path.stem), MAIN, cls.name, folder)

    @classmethod
    def parser(cls, ctx: FileContext, state: str | None) -> RolloutParser:
        return RolloutParser(ctx, state)

    @classmethod
    def compaction(
        cls, stats: SessionStats, files: Sequence[str], window_overrides: Mapping[str, int] | None = None
    ) -> CompactionInfo:
        """Window and compaction of one of this source's sessions (``services.monitor`` asks a source that has
        this method instead of applying Claude Code's rules): see ``window.compaction_info``."""
        model = stats.context_model or (stats.models[0] if stats.models else None)
        return compaction_info(files, model, window_overrides)

    @staticmethod
    def session_title(files: Sequence[str]) -> str | None:
        """The first request typed (``services.live`` asks a source that has this for its sessions' titles)."""
        return session_title(files)

    @classmethod
    def project_cwd(cls, project_dir: str) -> str | None:
        return None  # the folder is a date; the cwd is in session_meta

    def session_path(self, session_id: str, project_dir: str) -> Path | None:
        roots = self.roots()
        if not roots:
            return None
        folder = roots[0].joinpath(*project_dir.split("/")) if project_dir else roots[0]
        return folder / f"{PREFIX}imported-{session_id}.jsonl"
