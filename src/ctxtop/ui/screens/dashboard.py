"""The live dashboard: every session active in the last N hours, newest activity first."""

from __future__ import annotations

from rich.text import Text
from textual import getters
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.widgets import DataTable, Footer, ProgressBar, Static

from ctxtop.core import format as fmt
from ctxtop.core.alerts import badge_reasons
from ctxtop.core.report import SessionView
from ctxtop.core.session_ids import short_id, short_ids
from ctxtop.ui.app import CtxtopApp
from ctxtop.ui.messages import IndexProgressed, SessionPreviewLoaded
from ctxtop.ui.widgets.chart import ColumnChart, context_series
from ctxtop.ui.widgets.gauge import Gauge
from ctxtop.ui.widgets.session_table import SessionTable
from ctxtop.ui.widgets.summary import SummaryStrip

AGE_TICK = 30.0
"""Seconds between re-renders of the "Last" column (and sessions leaving the window) when nothing changes."""


class DashboardScreen(Screen):
    app = getters.app(CtxtopApp)  # self.app typed as ctxtop's App (Textual's getter; asserts the type)
    CSS_PATH = "dashboard.tcss"
    BINDINGS = [
        Binding("enter", "open", "Detail", priority=False),
        Binding("n", "notes", "Notes"),
        Binding("c", "compact", "Compact now"),
        Binding("a", "acknowledge", "Acknowledge alerts", show=False),
    ]

    def compose(self) -> ComposeResult:
        with Horizontal(id="top"):
            yield Static("ctxtop", id="brand")
            yield SummaryStrip(id="summary")
        with Horizontal(id="indexing"):
            # The bar is mounted while indexing only: a ProgressBar left in the DOM ticks every second.
            yield Static("Indexing history…", id="indexing-label")
        yield Static("", id="alerts")
        yield Static("", id="empty")
        yield SessionTable(id="sessions")
        with Vertical(id="preview"):
            yield Static("", id="preview-title")
            yield Gauge(id="preview-gauge")
            yield ColumnChart(id="preview-chart")
        yield Static("", id="legend")
        yield Footer()

    preview_id: str | None = None
    indexing = False

    def on_mount(self) -> None:
        self.query_one("#indexing").display = False
        self.query_one("#preview").display = False
        self.query_one(SessionTable).focus()
        self.set_interval(AGE_TICK, self.age_tick)
        self.render_rows()

    def on_resize(self) -> None:
        if self.query_one(SessionTable).setup_columns(self.size.width):
            self.render_rows()

    # ------------------------------------------------------------------ data

    def sessions_changed(self, ids: set[str], initial: bool) -> None:
        self.render_rows()
        if self.preview_id and (initial or self.preview_id in ids):
            self.app.engine.request_preview(self.preview_id)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        sid = event.row_key.value if event.row_key is not None else None
        if sid and sid != self.preview_id:
            self.preview_id = sid
            self.app.engine.request_preview(sid)

    def preview_loaded(self, message: SessionPreviewLoaded) -> None:
        view = message.view
        if message.session_id != self.preview_id or view is None:
            return
        try:
            self._show_preview(view)
        except NoMatches:
            pass  # a preview that arrives while the app shuts down, its widgets already gone

    def _show_preview(self, view: SessionView) -> None:
        box = self.query_one("#preview")
        box.display = self.size.height >= 24
        s = view.stats
        compactions = len(s.compactions)
        plural = "" if compactions == 1 else "s"
        line = Text(no_wrap=True, overflow="ellipsis")
        config = self.app.config
        reasons = badge_reasons(view, self.app.badges_for(view), config.get("budgets.session_usd"),
                                float(config.get("budgets.soft_pct")) / 100)  # fmt: skip
        if reasons:
            # Why the row carries ▲: the table has room for the mark only.
            line.append(f"▲ {reasons} · ", "bold")
        title = self.app.titles.get(s.session_id)
        line.append(f"{short_id(s.session_id)} {fmt.project(s.cwd, 40)}")
        if title:
            line.append(f" · {title}")
        line.append(f" · {s.turns} turns · {compactions} compaction{plural} · "
                    f"cache {fmt.pct(s.cache_share_of_rereads)} of re-reads · Enter: detail")  # fmt: skip
        self.query_one("#preview-title", Static).update(line)
        self.query_one("#preview-gauge", Gauge).view = view
        self.query_one("#preview-chart", ColumnChart).series = context_series(view)

    def index_progressed(self, message: IndexProgressed) -> None:
        box = self.query_one("#indexing")
        done = message.files >= message.total_files
        box.display = not done
        # The rows are redrawn only when the note above them changes: progress comes ten times a second,
        # and on a big history redrawing every row each time slowed the indexing it reports on.
        redraw = self.indexing == done
        self.indexing = not done
        bars = self.query(ProgressBar)
        if done:
            bars.remove()
        else:
            if not bars:
                box.mount(ProgressBar(id="progress", show_eta=False, total=max(message.bytes_total, 1)))
            self.query_one(ProgressBar).update(total=max(message.bytes_total, 1), progress=message.bytes_done)
            self.query_one("#indexing-label", Static).update(
                f"Indexing {message.files:,}/{message.total_files:,} files "
                f"({_size(message.bytes_done)} of {_size(message.bytes_total)}), newest first…"
            )
        if redraw:
            self.render_rows()

    def age_tick(self) -> None:
        """Time passed, nothing else: the "Last" cells that read differently now, unless a session left the
        window (then every row again). Nothing but the time changed, so nothing else is worked out again: on a
        big history this tick is most of what an idle dashboard does."""
        app = self.app
        table = self.query_one(SessionTable)
        views = app.dashboard_views()
        if [v.stats.session_id for v in views] != table.order:
            self.render_rows()
            return
        table.show_ages(views, app.clock())
        self._summarize(views)

    def render_rows(self) -> None:
        app = self.app
        table = self.query_one(SessionTable)
        table.setup_columns(self.size.width or app.size.width)
        now = app.clock()
        views = app.dashboard_views()
        shorts = short_ids(v.stats.session_id for v in views)
        rows = [
            (
                v.stats.session_id,
                table.cells(v, app.live.get(v.stats.session_id), app.badges_for(v), now,
                            app.titles.get(v.stats.session_id), shorts[v.stats.session_id]),
            )
            for v in views
        ]  # fmt: skip
        table.show(rows)
        banner = self.query_one("#alerts", Static)
        banner.display = bool(app.unacknowledged)
        if app.unacknowledged:
            count = len(app.unacknowledged)
            more = f" (+{count - 1} more)" if count > 1 else ""
            banner.update(f"▲ {app.unacknowledged[-1]}{more} · a: acknowledge")
        self._summarize(views)
        hours = app.config.get("ui.active_hours")
        empty = self.query_one("#empty", Static)
        legend = self.query_one("#legend", Static)
        if self.indexing and not views:
            note = "Indexing your history: the most recent sessions appear first."
        elif not app.loaded:
            note = "Reading the index…"
        elif not views:
            note = "No sessions yet. Run `ctxtop doctor` to see where ctxtop looks for transcripts."
        elif app.recent_only:
            note = f"No session active in the last {hours:g} h: showing the most recent ones."
        else:
            note = ""
        empty.update(note)
        empty.display = bool(note)
        legend.update(
            f"┃ {app.config.threshold:g}% threshold  ┇ Claude Code compacts  ● busy ◆ waiting ○ idle  "
            f"▲ alert  · last {hours:g} h"
        )

    def _summarize(self, views: list[SessionView]) -> None:
        app = self.app
        summary = self.query_one(SummaryStrip)
        summary.spend = app.spend
        summary.active = (
            0 if app.recent_only else sum(1 for v in views if (v.stats.last_ts or 0) >= app._cutoff())
        )
        summary.live = len(app.live)
        summary.daily_budget = float(app.config.get("budgets.daily_usd"))

    # ------------------------------------------------------------------ actions

    def current_session(self) -> str | None:
        return self.query_one(SessionTable).selected_session

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value:
            self.app.open_detail(event.row_key.value)

    def action_open(self) -> None:
        sid = self.current_session()
        if sid:
            self.app.open_detail(sid)

    def action_notes(self) -> None:
        self.app.open_notes(self.current_session())

    def action_compact(self) -> None:
        self.app.compact_now(self.current_session())

    def action_acknowledge(self) -> None:
        self.app.acknowledge_alerts()


def _size(n: int) -> str:
    """Bytes as the indexing line shows them: MB below a gigabyte, else GB."""
    return f"{n / 1e6:.1f} MB" if n < 1e9 else f"{n / 1e9:.2f} GB"
