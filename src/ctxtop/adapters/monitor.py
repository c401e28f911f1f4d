"""The world as the CLI and the TUI see it: sources, config, index and compaction settings, wired once."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from ctxtop.adapters import index_home
from ctxtop.adapters.claude_env import for_session
from ctxtop.adapters.config import Config
from ctxtop.adapters.index import Index, Progress, UpdateResult
from ctxtop.adapters.sources import Sources
from ctxtop.core.metrics import SessionStats
from ctxtop.core.report import SessionView


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
    ) -> Monitor:
        config = config or Config.load()
        claude_dirs = claude_dirs or config.get("sources.claude_dirs") or None
        api_logs = api_logs or config.get("sources.api_logs") or None
        sources = Sources.discover(claude_dirs, api_logs)
        path, notice = index_home.locate(cache_dir)
        index = Index(path, price_overrides=config.price_overrides)
        # One index may hold several config dirs: every view shows the sessions of these sources only.
        index.scope = sources.roots()
        return cls(sources, config, index, [notice] if notice else [])

    def refresh(self, only: list[Path] | None = None, progress: Progress | None = None) -> UpdateResult:
        return self.index.update(self.sources, only=only, progress=progress)

    def config_dir_for(self, stats: SessionStats) -> Path:
        dirs = self.sources.claude_dirs
        if len(dirs) > 1:
            path = self.index.transcript_path(stats.session_id)
            if path:
                for d in dirs:
                    if path.startswith(str(d) + os.sep):
                        return d
        return dirs[0] if dirs else Path.home() / ".claude"

    def view(self, stats: SessionStats, observed: dict | None = None) -> SessionView:
        """The session's figures, from Claude Code's own report of it when there is one (statusline)."""
        from ctxtop.adapters import observations

        if observed is None:
            observed = observations.load(stats.session_id)
        info = for_session(
            stats,
            self.config_dir_for(stats),
            self.config.window_overrides,
            env=self._env,
            listed_window=self.index.prices.listed_window,
            observed=observations.as_observed(observed),
        )
        return SessionView(stats, info, self.config.threshold)

    def views(
        self,
        since: float | None = None,
        until: float | None = None,
        project: str | None = None,
        present_only: bool = False,
    ) -> list[SessionView]:
        from ctxtop.adapters import observations

        seen = observations.load_all()
        sessions = self.index.sessions(since, until, project, present_only=present_only)
        return [self.view(s, seen.get(s.session_id, {})) for s in sessions]
