"""Monitor and view: the one place a session's figures are worked out for every surface.

The report, the TUI, the statusline and doctor all open a ``Monitor`` and ask it for ``view(stats)``; the
fill, window, compaction point, room and limits they show therefore come from one call with one set of inputs
(config, settings layers, environment, what Claude Code reported to its statusline).
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from ctxtop.adapters import index_home
from ctxtop.adapters.config import Config
from ctxtop.adapters.index import Index, Progress, UpdateResult
from ctxtop.core.compaction import CompactionInfo
from ctxtop.core.metrics import SessionStats
from ctxtop.core.report import SessionView
from ctxtop.sources.claude_code import layout
from ctxtop.sources.claude_code.env import for_session
from ctxtop.sources.claude_code.source import ClaudeCode
from ctxtop.sources.registry import KINDS, Sources, kind

R = TypeVar("R")


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
        self._settings_files: dict[str, list[str]] = {}
        """The settings files of each working directory whose rows were keyed (kept outputs name them for
        ``report_fast``, which re-stamps them)."""
        self._observed: tuple[str, set[str]] | None = None
        """The observation files listed for this run's row keys (folder, names)."""

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
        return self._config_dir(stats.session_id)

    def _config_dir(self, session_id: str) -> Path:
        claude = self.sources.of(ClaudeCode)
        dirs = claude.config_dirs if claude is not None else ()
        if len(dirs) > 1:
            path = self.index.transcript_path(session_id)
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

    def session_rows(
        self,
        since: float | None = None,
        until: float | None = None,
        project: str | None = None,
        present_only: bool = False,
    ) -> list[bytes]:
        """The rows of ``report sessions --json`` (``views(...)``'s ``as_dict()``), each as the report prints
        it inside its list: orjson, indented two spaces deeper.

        A session whose stats, flags and row inputs (``_row_inputs``) are as when its row was last rendered
        is served the stored bytes, decoding nothing; the others are rendered and stored for the next run.
        Unfiltered, the whole output is kept too (``index_rows.store_output``), for ``report_fast``."""
        from ctxtop.adapters import index_rows
        from ctxtop.sources.claude_code import observations

        seen = observations.load_all()
        self._observed = None  # listed again by this call's first row key
        common = _common_inputs(self)
        settings: dict[tuple[str, str | None], str] = {}

        def work() -> tuple[list[bytes], bool]:
            listed = index_rows.stored(self.index, since)
            inputs = {s.session_id: self._row_inputs(s.session_id, s.source, s.cwd, common, seen, settings)
                      for s in listed if s.inputs is not None}  # fmt: skip
            fresh = [
                s.session_id
                for s in listed
                if s.inputs is None or s.inputs != inputs[s.session_id] or (present_only and s.archived)
            ]
            rendered = self._render_rows(fresh, present_only, common, seen, settings)
            out: list[bytes] = []
            keys: list[tuple[str, str | None, str | None]] = []  # (session, cwd, inputs) of each row printed
            for s in listed:
                if s.session_id in rendered:
                    row = rendered[s.session_id]
                    if row is None:
                        continue  # left out (nothing present, or no stats any more)
                    row_inputs, cwd, first_ts, body = row
                elif s.body is not None:
                    row_inputs, cwd, first_ts, body = inputs[s.session_id], s.cwd, s.first_ts, s.body
                else:
                    continue
                if until is not None and (first_ts or 0) >= until:
                    continue
                if project and project.lower() not in (cwd or "").lower():
                    continue
                out.append(body)
                keys.append((s.session_id, cwd, row_inputs))
            keep = [
                (sid, row[0], *row[1:])
                for sid, row in rendered.items()
                if row is not None and row[0] is not None
            ]
            stored = index_rows.store(self.index, keep)
            if stored and since is None and until is None and not project and not present_only:
                from ctxtop import report_fast

                # The whole output too, for report_fast to print while nothing changes.
                stored = index_rows.store_output(
                    self.index,
                    report_fast.SESSIONS_JSON,
                    self._output_checks(keys),
                    report_fast.joined(out),
                )
            return out, stored

        # One read snapshot: the rows stored carry the stats they were rendered from, or none is.
        return self._snapshot(work)

    def kept_output(
        self, name: str, render: Callable[[], tuple[bytes, list[tuple[str, str | None, str | None]]]]
    ) -> bytes:
        """``render()``'s output, kept as report ``name`` (``report_fast.output_name``) for ``report_fast`` to
        print while nothing changes. ``render`` returns the bytes and the (session, cwd, row inputs) of the
        sessions they show with inputs of their own (``row_keys``); it runs in one read snapshot of the index,
        the one the output is kept from (or nothing is, when another process wrote the index meanwhile)."""
        from ctxtop.adapters import index_rows

        def work() -> tuple[bytes, bool]:
            body, keys = render()
            return body, index_rows.store_output(self.index, name, self._output_checks(keys), body)

        return self._snapshot(work)

    def _output_checks(self, keys: list[tuple[str, str | None, str | None]]) -> dict | None:
        """``report_fast.output_checks`` of an output's row keys; None when one has no inputs (not to keep)."""
        from ctxtop import report_fast

        keyed = [(sid, cwd, key) for sid, cwd, key in keys if key is not None]
        return report_fast.output_checks(keyed, self._settings_files) if len(keyed) == len(keys) else None

    def _snapshot(self, work: Callable[[], tuple[R, bool]]) -> R:
        """``work()`` in one read snapshot of the index: what it wrote is committed when it says so beside its
        result (False: another process wrote the index meanwhile, and it is rolled back)."""
        conn = self.index.conn
        conn.execute("BEGIN")
        try:
            result, keep = work()
            conn.execute("COMMIT" if keep else "ROLLBACK")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        return result

    def row_keys(self, views: list[SessionView]) -> list[tuple[str, str | None, str | None]]:
        """(session, cwd, ``_row_inputs``) of each view: what a kept output showing them is checked by."""
        from ctxtop.sources.claude_code import observations

        seen = observations.load_all()
        self._observed = None
        common = _common_inputs(self)
        settings: dict[tuple[str, str | None], str] = {}
        return [
            (v.stats.session_id, v.stats.cwd,
             self._row_inputs(v.stats.session_id, v.stats.source, v.stats.cwd, common, seen, settings))
            for v in views
        ]  # fmt: skip

    def _render_rows(
        self,
        session_ids: list[str],
        present_only: bool,
        common: str,
        seen: dict[str, dict],
        settings: dict[tuple[str, str | None], str],
    ) -> dict[str, tuple[str | None, str | None, float | None, bytes] | None]:
        """(inputs, cwd, first_ts, body) of each session rendered now (None: not listed); inputs None for a
        row not to store (the present part of a partly archived session is computed, never cached)."""
        import orjson

        from ctxtop.sources.claude_code.env import settings_snapshot

        out: dict[str, tuple[str | None, str | None, float | None, bytes] | None] = dict.fromkeys(session_ids)
        if not session_ids:
            return out
        by_id: dict[str, SessionStats] = {}
        for i in range(0, len(session_ids), 500):
            chunk = session_ids[i : i + 500]
            by_id.update((s.session_id, s) for s in self.index.sessions(ids=chunk, present_only=present_only))
        with settings_snapshot():
            for sid in session_ids:
                stats = by_id.get(sid)
                if stats is None:
                    continue
                view = self.view(stats, seen.get(sid, {}))
                body = b"  " + orjson.dumps(view.as_dict(), option=orjson.OPT_INDENT_2).replace(
                    b"\n", b"\n  "
                )
                partial = present_only and bool(stats.archived_requests or self._partly_archived(sid))
                inputs = (
                    None
                    if partial
                    else self._row_inputs(sid, stats.source, stats.cwd, common, seen, settings)
                )
                out[sid] = (inputs, stats.cwd, stats.first_ts, body)
        return out

    def _partly_archived(self, session_id: str) -> bool:
        row = self.index.conn.execute(
            "SELECT archived FROM sessions WHERE session_id=?", (session_id,)
        ).fetchone()
        return bool(row and row[0])

    def _row_inputs(
        self,
        session_id: str,
        source: str | None,
        cwd: str | None,
        common: str,
        seen: dict[str, dict],
        settings: dict[tuple[str, str | None], str],
    ) -> str:
        """Everything a session's row is rendered from besides its stats (``report_fast.row_inputs``): the
        settings files the settings reader reads for it, its observation file, and for a source that decides
        its own window, its files as they are now."""
        from ctxtop import report_fast
        from ctxtop.sources.claude_code import observations
        from ctxtop.sources.claude_code.env import settings_files

        config_dir = str(self._config_dir(session_id))
        key = (config_dir, cwd)
        if key not in settings:
            files = [str(f) for f in settings_files(Path(config_dir), cwd)]
            self._settings_files[f"{config_dir}\0{cwd or ''}"] = (
                files  # for report_fast, which knows no layout
            )
            settings[key] = report_fast.settings_key(files)
        extra = []
        # Before sources were recorded, ctxtop read only Claude Code (as ``Index._compute`` says).
        if getattr(kind(source or KINDS[0].name), "compaction", None) is not None:
            extra = [repr(report_fast.stamp(path)) for path in self.index.session_files(session_id)]
        if self._observed is None:  # once per call of session_rows or row_keys, not per session (~35 us)
            folder = str(observations.observed_dir())
            self._observed = (folder, report_fast.observed_names(folder))
        folder, names = self._observed
        observed = report_fast.observed_key(folder, session_id, names)
        return report_fast.row_inputs(common, config_dir, settings[key], observed, extra)

    def remember_fast(self, options: dict) -> None:
        """Leave in the index what ``report_fast`` checks, so that the next ``report sessions --json`` with
        these ``options`` can answer from the stored rows without this machinery (when nothing changed)."""
        from ctxtop import report_fast
        from ctxtop.adapters import paths
        from ctxtop.adapters.index import _genai_stamp
        from ctxtop.sources.claude_code import observations

        claude = self.sources.of(ClaudeCode)
        dirs = [str(d) for d in claude.config_dirs] if claude is not None else []
        quiet = not (self.config.problems or self.notices or self.index.notices)
        # Each source's directories as named, with what they resolved to: a symlink pointed elsewhere since
        # names other files.
        links = [[os.path.expanduser(str(g)), str(r)] for s in self.sources.sources
                 for g, r in zip(getattr(s, "given", ()), getattr(s, "dirs", ()), strict=True)]  # fmt: skip
        named = all(hasattr(s, "given") for s in self.sources.sources)
        if not quiet or not dirs or not named:
            return  # the full command says something the fast path would not, or decides otherwise
        genai = _genai_stamp()
        genai_path = genai.rsplit(":", 2)[0] if genai.count(":") >= 2 else None
        if report_fast.genai_stamp(genai_path) != genai:
            return
        config_file = str(self.config.path or paths.config_file())
        conn = self.index.conn
        schema = conn.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
        record = {
            "schema": schema[0] if schema else None, "genai_path": genai_path, "genai": genai,
            "config_file": config_file, "key": report_fast.record_key(options, config_file, genai),
            "roots": list(self.sources.roots()),
            "observed_dir": str(observations.observed_dir()), "common": _common_inputs(self),
            "links": links,
        }  # fmt: skip
        from ctxtop.statusline_fast import dumps

        text = dumps(record)
        row = conn.execute("SELECT value FROM meta WHERE key=?", (report_fast.RECORD,)).fetchone()
        if row is not None and row[0] == text:
            return
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError:
            return  # busy: the next full run leaves it
        try:
            conn.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (report_fast.RECORD, text))
            conn.execute("COMMIT")
        except sqlite3.Error:
            conn.execute("ROLLBACK")


ROW_ENV_PREFIXES = ("CLAUDE", "ANTHROPIC", "DISABLE_")
"""The environment variables a row can depend on: Claude Code's window and compaction settings all start so
(``core.compaction``, ``core.window``); the rest of the environment (PWD, SHLVL...) never changes a row."""


def _common_inputs(monitor: Monitor) -> str:
    """What every row of this run is rendered from besides its session: ctxtop's own code, the config, the
    price data, the sources and the environment. A digest."""
    import json

    from ctxtop import report_fast
    from ctxtop.adapters.index import _genai_stamp

    config = monitor.config
    env = sorted((k, v) for k, v in monitor._env.items() if k.startswith(ROW_ENV_PREFIXES))
    text = json.dumps(
        [report_fast.code_stamp(), config.threshold, config.window_overrides, config.price_overrides,
         _genai_stamp(), monitor.sources.roots(), env],
        sort_keys=True,
        default=str,
    )  # fmt: skip
    return report_fast.digest(text)
