"""Monitor and view: the one place a session's figures are worked out for every surface.

The report, the TUI, the statusline and doctor all open a ``Monitor`` and ask it for ``view(stats)``; the
fill, window, compaction point, room and limits they show therefore come from one call with one set of inputs
(config, settings layers, environment, what Claude Code reported to its statusline).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from ctxtop.adapters import index_home
from ctxtop.adapters.config import Config
from ctxtop.adapters.index import Index, Progress, UpdateResult
from ctxtop.core.compaction import CompactionInfo
from ctxtop.core.metrics import SessionStats
from ctxtop.core.report import SessionView
from ctxtop.sources.claude_code import layout
from ctxtop.sources.claude_code.env import for_session
from ctxtop.sources.claude_code.source import ClaudeCode
from ctxtop.sources.registry import Sources, kind


@dataclass
class Monitor:
    sources: Sources
    config: Config
    index: Index
    notices: list[str] = field(default_factory=list)
    """Things the user should know about opening the index (it moved, or could not be moved)."""

    def __post_init__(self) -> None:
        # One snapshot of the environment per monitor: Claude Code sessions started from this shell see it.
        self._env = dict(os.environ)

    @classmethod
    def open(
        cls,
        claude_dirs: list[str] | None = None,
        api_logs: str | None = None,
        cache_dir: str | None = None,
        config: Config | None = None,
        codex_dirs: list[str] | None = None,
    ) -> Monitor:
        config = config or Config.load()
        claude_dirs = claude_dirs or config.get("sources.claude_dirs") or None
        api_logs = api_logs or config.get("sources.api_logs") or None
        codex_dirs = codex_dirs or config.get("sources.codex_dirs") or None
        sources = Sources.discover(
            {"claude_dirs": claude_dirs, "api_logs": api_logs, "codex_dirs": codex_dirs}
        )
        return cls._with_index(sources, config, cache_dir)

    @classmethod
    def for_transcript(
        cls, transcript: Path, cache_dir: str | None = None, config: Config | None = None
    ) -> Monitor:
        """The monitor of the one config dir a transcript lives in (``<dir>/projects/<project>/<id>.jsonl``).

        What the statusline opens: Claude Code names the transcript, so no other source is looked at.
        """
        sources = Sources((ClaudeCode((ClaudeCode.config_dir_of(transcript),)),))
        return cls._with_index(sources, config or Config.load(), cache_dir)

    @classmethod
    def _with_index(cls, sources: Sources, config: Config, cache_dir: str | None) -> Monitor:
        path, notice = index_home.locate(cache_dir)
        index = Index(path, price_overrides=config.price_overrides)
        # One index may hold several config dirs: every view shows the sessions of these sources only.
        index.scope = sources.roots()
        return cls(sources, config, index, [notice] if notice else [])

    def close(self) -> None:
        self.index.close()

    def refresh(self, only: list[Path] | None = None, progress: Progress | None = None) -> UpdateResult:
        return self.index.update(self.sources, only=only, progress=progress)

    def refresh_session(self, transcript: Path, session_id: str) -> SessionStats | None:
        """Index one transcript and its subagents' (nothing else), then the session's stats if it has any."""
        self.refresh(only=ClaudeCode.session_files(transcript))
        found = self.index.sessions(ids=[session_id])
        return found[0] if found else None

    def config_dir_for(self, stats: SessionStats) -> Path:
        claude = self.sources.of(ClaudeCode)
        dirs = claude.config_dirs if claude is not None else ()
        if len(dirs) > 1:
            path = self.index.transcript_path(stats.session_id)
            if path:
                for d in dirs:
                    if path.startswith(str(d) + os.sep):
                        return d
        return dirs[0] if dirs else layout.claude_config_dirs()[0]

    def compaction(
        self, stats: SessionStats, observed: dict | None = None, version: str | None = None
    ) -> CompactionInfo:
        """Window and compaction point as Claude Code applies them to this session.

        ``observed`` is what Claude Code last reported to its statusline for it (loaded when None);
        ``version`` the Claude Code version that is running it now, when known (else the transcript's).
        """
        from ctxtop.sources.claude_code import observations

        # A source whose tool decides its own window and compaction says so itself (Codex: the window its
        # log records, no threshold); Claude Code's rules below are for Claude Code's sessions.
        own = getattr(kind(stats.source), "compaction", None)
        if own is not None:
            return own(stats, self.index.session_files(stats.session_id), self.config.window_overrides)
        if observed is None:
            observed = observations.load(stats.session_id)
        return for_session(
            stats,
            self.config_dir_for(stats),
            self.config.window_overrides,
            env=self._env,
            listed_window=self.index.prices.listed_window,
            observed=observations.as_observed(observed),
            version=version,
        )

    def compacts_itself(self, session_id: str) -> str | None:
        """Why ctxtop's notes, Compact now and context breakdown do not apply to this session: its tool
        compacts by itself (Codex); None when they apply (or the index does not know the session)."""
        stats = self.index.session(session_id)
        if stats is None:
            return None
        info = self.compaction(stats)
        if info.threshold_applies:
            return None
        return f"{info.reason}: notes, Compact now and the context breakdown are for Claude Code sessions"

    def view(
        self, stats: SessionStats, observed: dict | None = None, version: str | None = None
    ) -> SessionView:
        """The session's figures: fill, window, compaction point and room, with ctxtop's threshold."""
        return SessionView(stats, self.compaction(stats, observed, version), self.config.threshold)

    def views(
        self,
        since: float | None = None,
        until: float | None = None,
        project: str | None = None,
        present_only: bool = False,
    ) -> list[SessionView]:
        from ctxtop.sources.claude_code import observations
        from ctxtop.sources.claude_code.env import settings_snapshot

        seen = observations.load_all()
        sessions = self.index.sessions(since, until, project, present_only=present_only)
        with settings_snapshot():  # settings files looked at once per (config dir, cwd), not per session
            return [self.view(s, seen.get(s.session_id, {})) for s in sessions]
