"""The ctxtop TUI: a live dashboard of Claude Code / API sessions, session detail, history, settings, notes.

The app owns no I/O: an ``Engine`` on a worker thread owns the index and the file watcher and posts batched
messages; settings, notes and exports are written from thread workers. The world is injected (a Monitor
factory, the config dir, a clock) so tests run on temporary directories with a fixed time.
"""

from __future__ import annotations

import copy
import time
from collections import deque
from collections.abc import Callable, Iterable
from pathlib import Path

from textual import work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen
from textual.theme import Theme

from ctxtop.adapters.config import Config
from ctxtop.core.alerts import Alert, AlertTracker, badges
from ctxtop.core.report import SessionView
from ctxtop.core.session_ids import short_id
from ctxtop.services.live import RECENT_FALLBACK, Engine, MonitorFactory
from ctxtop.sources.claude_code.live import LiveSession
from ctxtop.ui import messages as m
from ctxtop.ui.themes import bundled_theme_dir, load_themes

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ctxtop.services.export_otlp import BackgroundExport

DEFAULT_THEME = "ctxtop-dark"


class CtxtopApp(App[None]):
    TITLE = "ctxtop"
    CSS_PATH = "app.tcss"
    ENABLE_COMMAND_PALETTE = True
    BINDINGS = [
        Binding("q", "quit", "Quit"),
        Binding("question_mark", "toggle_keys", "Keys", key_display="?"),
        Binding("d", "dashboard", "Dashboard", show=False),
        Binding("h", "history", "History"),
        Binding("s", "settings", "Settings"),
        Binding("ctrl+r", "refresh", "Re-index", show=False),
    ]

    def __init__(
        self,
        monitor_factory: MonitorFactory,
        *,
        config_dir: Path,
        clock: Callable[[], float] = time.time,
        watch: bool = True,
        theme: str | None = None,
        claude_dirs: list[str] | None = None,
        engine_options: dict | None = None,
    ) -> None:
        super().__init__()
        self.config_dir = Path(config_dir)
        self.config = Config.load(self.config_dir / "config.toml")
        self.clock = clock
        self.fixed_theme = theme
        self.claude_dirs = claude_dirs
        self._monitor_factory = monitor_factory
        self.exporter: BackgroundExport | None = None
        """The OTLP export running beside the engine (``[export] tui = "on"``)."""
        # The engine posts plain events from its thread; each reaches the app as the Textual message wrapping it.
        self.engine = Engine(
            monitor_factory,
            copy.deepcopy(self.config),
            lambda event: self.post_message(m.wrap(event)),
            clock=clock,
            watch=watch,
            **(engine_options or {}),
        )
        self.views: dict[str, SessionView] = {}
        self.live: dict[str, LiveSession] = {}
        self.spend = m.Spend()
        self.recent_only = False
        self.loaded = False
        self.alerts = AlertTracker()
        self.alert_log: list[str] = []
        self.unacknowledged: list[str] = []
        """Alerts shown in the dashboard's banner until the user acknowledges them (``a``)."""
        self.titles: dict[str, str] = {}
        """Session titles (Claude Code's summary, else the first request), by session id."""
        self.theme_problems: list[str] = []
        self.config_problems: list[str] = []
        """Config values not understood (the file's and an unknown theme), notified once at start."""
        self.own_themes: list[str] = []
        self.history_state: dict[str, str] = {}
        """History's From, To and Group by, kept across visits."""
        self._applied_theme = ""
        """The theme applied from the config at start or picked since: a theme change to another is saved."""
        self.updates = 0
        """How many ``SessionsUpdated`` batches were applied (tests and the benchmark wait on it)."""
        self.last_update_at = 0.0
        self.render_log: deque[tuple[float, dict[str, int]]] = deque(maxlen=1000)
        """(when the screen was refreshed after a batch, requests per session in it): for benchmarks/live.py."""

    # ------------------------------------------------------------------ start and stop

    def on_mount(self) -> None:
        self._load_themes()
        from ctxtop.ui.screens.dashboard import DashboardScreen

        self.push_screen(DashboardScreen())
        if self.config_problems:
            # One notification for all of them, as for broken themes: a file of typos must not bury the screen.
            self.notify("\n".join(self.config_problems), title="Config values not understood",
                        severity="warning", timeout=15)  # fmt: skip
        self.theme_changed_signal.subscribe(self, self._theme_changed)
        self.run_worker(self.engine.run, thread=True, exclusive=True, group="engine", name="engine")
        if self.config.get("export.tui") == "on":
            self._start_export()

    def _start_export(self) -> None:
        """The OTLP export beside the engine: its own thread and index connection, woken after each update."""
        from ctxtop.services.export_otlp import BackgroundExport

        def notify(text: str, problem: bool) -> None:
            self.call_from_thread(self.notify, text, severity="warning" if problem else "information")

        config = copy.deepcopy(self.config)
        self.exporter = BackgroundExport(lambda: self._monitor_factory(config), notify)
        self.exporter.start()

    def _load_themes(self) -> None:
        themes, problems = load_themes([bundled_theme_dir(), self.config_dir / "themes"])
        for theme in themes:
            self.register_theme(theme)
        self.own_themes = sorted(theme.name for theme in themes)
        """ctxtop's bundled themes and the user's: each gets its own palette entry."""
        self.theme_problems = problems
        if problems:
            # One notification for all broken files: a directory of typos must not bury the screen.
            self.notify("\n".join(problems) + "\nThese themes were skipped.", title="Broken theme files",
                        severity="warning", timeout=15)  # fmt: skip
        wanted = self.fixed_theme or self.config.get("ui.theme")
        fallback = DEFAULT_THEME if DEFAULT_THEME in self.available_themes else "textual-dark"
        problem = self.config.choice_problem("ui.theme", self.available_themes, fallback)
        self.config_problems = list(self.config.problems)
        if problem and self.fixed_theme is None:
            # Said once (on mount), and the file is left as the user wrote it (the theme may come later).
            self.config_problems.append(problem)
        self.theme = wanted if wanted in self.available_themes else fallback
        self._applied_theme = self.theme

    def _theme_changed(self, theme: Theme) -> None:
        # Only a theme the user picked is saved: the one applied at start (perhaps a fallback for an unknown
        # name in the file) is not a change, and writing it would overwrite what the user wrote.
        if self.fixed_theme is None and theme.name != self._applied_theme:
            self._applied_theme = theme.name
            self.save_setting("ui.theme", theme.name)

    def on_unmount(self) -> None:
        self.engine.stop()
        if self.exporter is not None:
            self.exporter.stop()

    # ------------------------------------------------------------------ data from the engine

    def on_sessions_updated(self, message: m.SessionsUpdated) -> None:
        if self.exporter is not None:
            self.exporter.wake()
        if message.initial:
            self.views = {v.stats.session_id: v for v in message.views}
        else:
            for view in message.views:
                self.views[view.stats.session_id] = view
        if message.initial:
            self.recent_only = message.recent_only
        elif self.recent_only and any((v.stats.last_ts or 0) >= self._cutoff() for v in message.views):
            # A session became active: the "most recent" stand-ins give way to it.
            self.recent_only = False
        self.spend = message.spend
        baseline = not self.loaded or message.initial
        self.loaded = True
        soft = float(self.config.get("budgets.soft_pct")) / 100
        found = self.alerts.update(message.views, session_budget=self.config.get("budgets.session_usd"),
                                   expiry_usd=self.config.get("alerts.cache_expiry_usd"), baseline=baseline,
                                   soft=soft)  # fmt: skip
        found += self.alerts.update_day(message.spend.day, message.spend.today,
                                        self.config.get("budgets.daily_usd"), baseline=baseline, soft=soft)  # fmt: skip
        found += self.alerts.update_limits(message.spend.limit_alerts, baseline=baseline)
        self.titles.update(message.titles)
        self._raise(found)
        self.updates += 1
        self.last_update_at = time.monotonic()
        self._tell_screens("sessions_changed", {v.stats.session_id for v in message.views}, message.initial)
        requests = {v.stats.session_id: v.stats.requests for v in message.views}
        self.call_after_refresh(lambda: self.render_log.append((time.monotonic(), requests)))

    def _raise(self, found: list[Alert]) -> None:
        """Each alert: the log, the banner until acknowledged, one notification (and the bell if set)."""
        for alert in found:
            self.alert_log.append(alert.message)
            self.unacknowledged.append(alert.message)
            self.notify(alert.message, title="ctxtop", severity=alert.severity, timeout=12)
        if found and self.config.get("alerts.bell") == "on":
            self.bell()

    def on_findings_updated(self, message: m.FindingsUpdated) -> None:
        found = self.alerts.update_findings(message.verdicts, message.anomalies, baseline=message.initial)
        self._raise(found)

    def on_compaction_lost_tasks(self, message: m.CompactionLostTasks) -> None:
        from ctxtop.core.alerts import compaction_alert

        alert = compaction_alert(
            message.session_id, message.cwd, message.score, message.tasks, message.notes_reinjected
        )
        self._raise([alert])

    def on_live_changed(self, message: m.LiveChanged) -> None:
        self.live = message.live
        self._tell_screens("sessions_changed", set(message.live), False)

    def on_index_progressed(self, message: m.IndexProgressed) -> None:
        self._tell_screens("index_progressed", message)

    def on_session_detail_loaded(self, message: m.SessionDetailLoaded) -> None:
        self._tell_screens("detail_loaded", message)

    def on_session_preview_loaded(self, message: m.SessionPreviewLoaded) -> None:
        self._tell_screens("preview_loaded", message)

    def on_history_loaded(self, message: m.HistoryLoaded) -> None:
        self._tell_screens("history_loaded", message)

    def on_engine_failed(self, message: m.EngineFailed) -> None:
        self.notify(message.error, title="ctxtop could not read the index", severity="error", timeout=20)

    def _tell_screens(self, method: str, *args: object) -> None:
        for screen in self.screen_stack:
            handler = getattr(screen, method, None)
            if handler is not None:
                handler(*args)

    # ------------------------------------------------------------------ what screens ask for

    def dashboard_views(self) -> list[SessionView]:
        """Sessions of the dashboard, newest activity first: active in the window, or the most recent ones."""
        cutoff = self._cutoff()
        views = sorted(self.views.values(), key=lambda v: -(v.stats.last_ts or 0))
        if self.recent_only:
            return views
        active = [v for v in views if (v.stats.last_ts or 0) >= cutoff or v.stats.session_id in self.live]
        if not active and views:
            # Every session aged out while ctxtop ran: keep the most recent ones rather than an empty screen.
            self.recent_only = True
            return views[:RECENT_FALLBACK]
        return active

    def _cutoff(self) -> float:
        return self.clock() - float(self.config.get("ui.active_hours")) * 3600

    def badges_for(self, view: SessionView) -> list[str]:
        return badges(
            view, self.config.get("budgets.session_usd"), self.config.get("alerts.cache_expiry_usd"),
            float(self.config.get("budgets.soft_pct")) / 100,
        )  # fmt: skip

    # ------------------------------------------------------------------ settings

    def save_setting(self, key: str, value: object) -> None:
        """Validate (raises ValueError), apply live, and write the TOML from a thread worker."""
        before = copy.deepcopy(self.config.raw(key))
        self.config.set(key, value)
        if self.config.raw(key) == before:
            return  # what the file already says (an invalid value there is replaced: the user typed this one)
        self._write_config(copy.deepcopy(self.config), key)
        if key == "ui.theme" and value in self.available_themes and self.theme != value:
            self._applied_theme = str(value)
            self.theme = str(value)
        if key.startswith("sources."):
            if self.claude_dirs and key == "sources.claude_dirs":
                self.notify("--claude-dir on the command line wins over this setting until ctxtop restarts.",
                            severity="warning", timeout=8)  # fmt: skip
            self.engine.reconfigure(copy.deepcopy(self.config), reopen=True)
        elif key in ("compaction.threshold", "ui.active_hours"):
            self.engine.reconfigure(copy.deepcopy(self.config))
        else:
            self._tell_screens("sessions_changed", set(self.views), True)

    @work(thread=True, group="config", exclusive=False)
    def _write_config(self, config: Config, key: str) -> None:
        try:
            path = config.save([key])
        except OSError as exc:
            self.call_from_thread(self.notify, f"Could not save settings: {exc}", severity="error")
            return
        self.post_message(m.SettingsSaved(str(path)))

    def on_settings_saved(self, message: m.SettingsSaved) -> None:
        self._tell_screens("settings_saved", message.path)

    # ------------------------------------------------------------------ actions

    def acknowledge_alerts(self) -> None:
        self.unacknowledged.clear()
        self._tell_screens("sessions_changed", set(), False)

    def action_toggle_keys(self) -> None:
        if self.screen.query("HelpPanel"):
            self.action_hide_help_panel()
        else:
            self.action_show_help_panel()

    def _switch_to(self, screen_type: type[Screen]) -> None:
        for screen in self.screen_stack:
            if isinstance(screen, screen_type):
                while self.screen is not screen:
                    self.pop_screen()
                return
        self.push_screen(screen_type())

    def action_dashboard(self) -> None:
        from ctxtop.ui.screens.dashboard import DashboardScreen

        self._switch_to(DashboardScreen)

    def action_history(self) -> None:
        from ctxtop.ui.screens.history import HistoryScreen

        self._switch_to(HistoryScreen)

    def action_settings(self) -> None:
        from ctxtop.ui.screens.settings import SettingsScreen

        self._switch_to(SettingsScreen)

    def action_refresh(self) -> None:
        self.engine.refresh_all()
        self.notify("Re-reading every source file…", timeout=3)

    def open_detail(self, session_id: str) -> None:
        from ctxtop.ui.screens.detail import DetailScreen

        self.push_screen(DetailScreen(session_id))

    def open_notes(self, session_id: str | None) -> None:
        from ctxtop.ui.screens.notes import NotesScreen

        if not session_id:
            self.notify("Select a session first.", severity="warning")
            return
        if self._compacts_itself(session_id):
            return
        self.push_screen(NotesScreen(session_id))

    def compact_now(self, session_id: str | None) -> None:
        from ctxtop.ui.screens.compact import start_compact

        if not session_id:
            self.notify("Select a session first.", severity="warning")
            return
        if self._compacts_itself(session_id):
            return
        start_compact(self, session_id)

    def _compacts_itself(self, session_id: str) -> bool:
        """The session's tool compacts by itself (Codex): notes and Compact now are Claude Code features."""
        view = self.views.get(session_id)
        if view is None or view.compaction.threshold_applies:
            return False
        self.notify(f"{view.compaction.reason}: notes and Compact now are for Claude Code sessions.",
                    severity="warning", timeout=6)  # fmt: skip
        return True

    def selected_session(self, screen: Screen | None = None) -> str | None:
        getter = getattr(screen or self.screen, "current_session", None)
        return getter() if getter else None

    def _on_screen(self, screen_type_name: str, action: str) -> Callable[[], None]:
        """A palette entry that opens a screen (history, settings) and runs one of its actions there."""

        def run() -> None:
            getattr(self, f"action_{screen_type_name}")()
            self.call_after_refresh(lambda: self.screen.run_action(action))

        return run

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        # Textual's own "Keys" and "Theme" entries would duplicate ours (ours name every theme).
        yield from (c for c in super().get_system_commands(screen) if c.title not in ("Keys",))
        yield SystemCommand("Dashboard", "Live sessions (d)", self.action_dashboard)
        yield SystemCommand(
            "History", "Past sessions and totals by day, project, model (h)", self.action_history
        )
        yield SystemCommand("Settings", "Threshold, budgets, theme, sources (s)", self.action_settings)
        yield SystemCommand("Re-index", "Read every source file again (ctrl+r)", self.action_refresh)
        yield SystemCommand("Keys", "Show the key bindings (?)", self.action_toggle_keys)
        if self.unacknowledged:
            yield SystemCommand("Acknowledge alerts", "Clear the dashboard's alert banner (a)",
                                self.acknowledge_alerts)  # fmt: skip
        yield SystemCommand("Export history", "Write the history view to CSV or JSON (h, then e)",
                            self._on_screen("history", "export"))  # fmt: skip
        yield SystemCommand("Install into Claude Code", "Compaction settings and hooks, diff first (s, then i)",
                            self._on_screen("settings", "install"))  # fmt: skip
        # The palette is a screen of its own: the session is the one selected on the screen below it.
        sid = self.selected_session(screen)
        if sid:
            yield SystemCommand(
                "Session detail", f"Open session {short_id(sid)} (enter)", lambda: self.open_detail(sid)
            )
            yield SystemCommand(
                "Notes", f"Compaction notes of {short_id(sid)} (n)", lambda: self.open_notes(sid)
            )
            yield SystemCommand("Compact now", f"Send /compact with the notes to {short_id(sid)} (c)",
                                lambda: self.compact_now(sid))  # fmt: skip
        # The screen's own keys (sort, group by, save notes, ...), so every action has an entry.
        covered = {"back", "notes", "compact", "open", "export", "install", "quit"}
        for binding in getattr(screen, "BINDINGS", ()):
            if not isinstance(binding, Binding) or not binding.description or binding.action in covered:
                continue
            key = binding.key_display or binding.key
            yield SystemCommand(binding.description, f"{binding.description} on this screen ({key})",
                                lambda action=binding.action: screen.run_action(action))  # fmt: skip
        for name in self.own_themes:
            label = name.removeprefix("ctxtop-")
            yield SystemCommand(f"Theme: {label}", f"Switch to the {name} theme",
                                lambda name=name: self.save_setting("ui.theme", name))  # fmt: skip
