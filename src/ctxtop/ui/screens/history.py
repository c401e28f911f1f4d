"""History: past sessions and totals by day, project or model for a date range, with a cost chart."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import getters, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Input, Label, Select, Static

from ctxtop.core import format as fmt
from ctxtop.core import report
from ctxtop.core.report import TIME_GROUPS, SessionView
from ctxtop.services import export
from ctxtop.ui.app import CtxtopApp
from ctxtop.ui.messages import HistoryLoaded
from ctxtop.ui.widgets.chart import ColumnChart, Series

GROUPS = (("Sessions", "session"), ("Day", "day"), ("Week", "week"), ("Month", "month"), ("Project", "project"),
          ("Model", "model"), ("Tool (re-reads)", "tool"))  # fmt: skip
DEFAULT_DAYS = 30

# (key, title, right-aligned) per grouping; the sort key of a row is its raw value for that column.
SESSION_COLUMNS = (("last", "Last activity", False), ("project", "Project", False), ("model", "Model", False),
                   ("turns", "Turns", True), ("tokens", "Tokens", True), ("cost", "Cost", True),
                   ("fill", "Fill", True), ("reread", "Re-read", True))  # fmt: skip
TOTAL_COLUMNS = (("key", "", False), ("sessions", "Sessions", True), ("requests", "Requests", True),
                 ("tokens", "Tokens", True), ("cost", "Cost", True))  # fmt: skip
# Grouped by tool: what each tool's outputs cost in re-reads, per project (the same rows as `report tools`).
TOOL_COLUMNS = (("key", "Project · tool", False), ("sessions", "Sessions", True), ("items", "Items", True),
                ("tokens", "Re-read tokens", True), ("cost", "Re-read cost", True))  # fmt: skip


def _day(ts: float) -> str:
    return datetime.fromtimestamp(ts).strftime("%Y-%m-%d")


def _parse_day(text: str) -> float | None:
    text = text.strip()
    if not text:
        return None
    return time.mktime(datetime.strptime(text, "%Y-%m-%d").timetuple())


def _default_sort(group_by: str) -> str:
    return "last" if group_by == "session" else ("key" if group_by in TIME_GROUPS else "cost")


def _in_group(view: SessionView, group_by: str, key: str) -> bool:
    """Whether a session belongs to the row ``key`` of a grouping (the rule ``report.group`` counts by)."""
    s = view.stats
    return any(report._key(group_by, b.day, b.model, s.cwd) == key for b in s.buckets.values())


class HistoryScreen(Screen):
    app = getters.app(CtxtopApp)  # self.app typed as ctxtop's App (Textual's getter; asserts the type)
    CSS_PATH = "history.tcss"
    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("g", "next_group", "Group by"),
        Binding("o", "next_sort", "Sort"),
        Binding("O", "reverse_sort", "Reverse", show=False),
        Binding("e", "export", "Export"),
        # One key, two footer labels: check_action shows the one that applies.
        Binding("a", "hide_archived", "Hide archived"),
        Binding("a", "show_archived", "Show archived"),
        Binding("enter", "open", "Detail", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.group_by = "session"
        self.sort_column = "last"
        self.sort_reverse = True
        self.rows: list[dict[str, Any]] = []
        self.message: HistoryLoaded | None = None
        self.drill: tuple[str, str] | None = None
        self._drilled_from = "session"  # the grouping Esc goes back to (a tool row drills into its project)
        """(grouping, key) of the day, project or model row Enter drilled into: its sessions are shown."""
        self.present_only = False
        """Archived requests (transcripts Claude Code deleted) left out, as ``report --present-only``."""

    def compose(self) -> ComposeResult:
        now = self.app.clock()
        # From, To and Group by are where the user left them the last time (``h`` opens a new screen).
        kept = self.app.history_state
        self.group_by = kept.get("group_by", "session")
        self.present_only = kept.get("present_only") == "yes"
        self.sort_column = _default_sort(self.group_by)
        with Horizontal(id="controls"):
            yield Label("From", classes="control-label")
            yield Input(kept.get("since", _day(now - DEFAULT_DAYS * 86400)), placeholder="YYYY-MM-DD",
                        id="since", max_length=10)  # fmt: skip
            yield Label("to", classes="control-label")
            yield Input(kept.get("until", _day(now)), placeholder="YYYY-MM-DD", id="until", max_length=10)
            yield Label("Group by", classes="control-label")
            yield Select(GROUPS, value=self.group_by, allow_blank=False, id="group")
            yield Static("", id="totals")
        yield Static("Cost per day", classes="section-title", id="chart-title")
        yield ColumnChart(id="cost-chart")
        yield DataTable(id="history", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#history", DataTable).focus()
        self.load()

    # ------------------------------------------------------------------ loading

    def _range(self) -> tuple[float | None, float | None] | None:
        try:
            since = _parse_day(self.query_one("#since", Input).value)
            until = _parse_day(self.query_one("#until", Input).value)
        except ValueError:
            self.notify("Dates are YYYY-MM-DD.", severity="warning")
            return None
        return since, (until + 86400 if until is not None else None)

    def load(self) -> None:
        rng = self._range()
        if rng is not None:
            self.app.engine.request_history(rng[0], rng[1], self.group_by, self.present_only)

    def _remember(self) -> None:
        self.app.history_state = {
            "since": self.query_one("#since", Input).value,
            "until": self.query_one("#until", Input).value,
            "group_by": self.group_by,
            "present_only": "yes" if self.present_only else "",
        }

    def on_input_submitted(self, _event: Input.Submitted) -> None:
        self._remember()
        self.load()
        # Back to the table, so g, o, e and Enter act on it instead of typing into the date.
        self.query_one("#history", DataTable).focus()

    def on_select_changed(self, event: Select.Changed) -> None:
        if event.value != self.group_by and event.value is not Select.NULL:
            self.group_by = str(event.value)
            self.drill = None
            self.sort_column = _default_sort(self.group_by)
            self.sort_reverse = True
            self._remember()
            self.load()

    def sessions_changed(self, _ids: set[str], initial: bool) -> None:
        if initial:
            self.load()

    def history_loaded(self, message: HistoryLoaded) -> None:
        if message.group_by != self.group_by or message.present_only != self.present_only:
            return
        self.message = message
        if message.group_by == "session":
            views = [v for v in message.views if self.drill is None or _in_group(v, *self.drill)]
            self.rows = [self._session_row(v) for v in views]
        elif message.group_by == "tool":
            self.rows = [
                {"_key": f"{r.project}\x00{r.kind}\x00{r.group}", "_export": r.as_dict(), "_project": r.project,
                 "key": f"{fmt.project(r.project, 40)} · {r.name}", "sessions": r.sessions, "items": r.items,
                 "tokens": r.reread_tokens, "cost": r.reread_cost}
                for r in message.rollup
            ]  # fmt: skip
        else:
            label = {"day": "date"}.get(message.group_by, message.group_by)
            self.rows = [
                {
                    "_key": t.key,
                    "_export": t.as_dict(label),
                    "key": t.key,
                    "sessions": t.sessions,
                    "requests": t.requests,
                    "tokens": t.tokens.total,
                    "cost": t.cost,
                }  # fmt: skip
                for t in message.totals
            ]
        views = [v for v in message.views if self.drill is None or _in_group(v, *self.drill)]
        total = sum((v.stats.cost_usd or Decimal(0) for v in views), Decimal(0))
        scope = f"{self.drill[0]} {self.drill[1]} · esc: all · " if self.drill else ""
        archived = " · archived hidden" if self.present_only else ""
        self.query_one("#totals", Static).update(f"{scope}{len(views)} sessions · {fmt.usd(total)}{archived}")
        self._chart(message)
        self._fill_table()

    def _session_row(self, view: SessionView) -> dict[str, Any]:
        s = view.stats
        # A session whose transcript Claude Code deleted keeps its totals: marked at the project's end.
        project = (s.cwd or "?") + (" · transcript deleted" if s.transcript_deleted else "")
        return {"_key": s.session_id, "_export": view.as_dict(), "last": s.last_ts or 0, "project": project,
                "model": fmt.model(s.context_model or (s.models[0] if s.models else None)), "turns": s.turns,
                "tokens": s.tokens.total, "cost": s.cost_usd or Decimal(0), "fill": view.fill or 0.0,
                "reread": s.reread_ratio}  # fmt: skip

    def _chart(self, message: HistoryLoaded) -> None:
        days = {t.key: t.cost for t in message.daily}
        if message.since is not None and message.until is not None:
            start = datetime.fromtimestamp(message.since)
            n = max(1, min(366, round((message.until - message.since) / 86400)))
            keys = [(start + timedelta(days=i)).strftime("%Y-%m-%d") for i in range(n)]
        else:
            keys = sorted(days)
        self.query_one(ColumnChart).series = Series(
            values=[float(days.get(k, 0)) for k in keys], labels=[k[5:] for k in keys], tick_labels=True,
            top_label=lambda v: f"${v:,.0f}" if v >= 10 else f"${v:.2f}", empty_text="No spend in this range.",
        )  # fmt: skip
        # The numbers behind the bars: the peak day and the range's total.
        title = "Cost per day"
        if days and any(days.values()):
            peak = max(days, key=lambda k: days[k])
            title += (
                f" · peak {fmt.usd(days[peak])} on {peak} · total {fmt.usd(sum(days.values(), Decimal(0)))}"
            )
        self.query_one("#chart-title", Static).update(title)

    def _columns(self) -> tuple[tuple[str, str, bool], ...]:
        if self.group_by == "session":
            return SESSION_COLUMNS
        if self.group_by == "tool":
            return TOOL_COLUMNS
        title = dict((v, t) for t, v in GROUPS)[self.group_by]
        return (("key", title, False),) + TOTAL_COLUMNS[1:]

    def _fill_table(self) -> None:
        table = self.query_one("#history", DataTable)
        table.clear(columns=True)
        columns = self._columns()
        for key, title, right in columns:
            arrow = (" ▼" if self.sort_reverse else " ▲") if key == self.sort_column else ""
            table.add_column(Text(title + arrow, justify="right" if right else "left"), key=key)
        rows = sorted(self.rows, key=lambda r: r.get(self.sort_column) or 0 if self.sort_column not in
                      ("project", "model", "key") else str(r.get(self.sort_column)), reverse=self.sort_reverse)  # fmt: skip
        for row in rows:
            table.add_row(*(self._cell(k, row[k], right) for k, _, right in columns), key=row["_key"])

    def _cell(self, key: str, value: Any, right: bool) -> Text:
        if key == "last":
            text = time.strftime("%Y-%m-%d %H:%M", time.localtime(value)) if value else "-"
        elif key == "cost":
            text = fmt.usd(value)
        elif key == "tokens":
            text = fmt.tokens(value)
        elif key in ("fill", "reread"):
            text = fmt.pct(value)
        elif key == "project":
            text = fmt.project(value, 48)
        else:
            text = f"{value:,}" if isinstance(value, int) else str(value)
        return Text(text, justify="right" if right else "left", no_wrap=True, overflow="ellipsis")

    # ------------------------------------------------------------------ actions

    def current_session(self) -> str | None:
        if self.group_by != "session":
            return None
        table = self.query_one("#history", DataTable)
        if table.row_count == 0:
            return None
        return str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_open()

    def on_data_table_header_selected(self, event: DataTable.HeaderSelected) -> None:
        key = str(event.column_key.value)
        self.sort_reverse = not self.sort_reverse if key == self.sort_column else True
        self.sort_column = key
        self._fill_table()

    def action_open(self) -> None:
        sid = self.current_session()
        if sid:
            self.app.open_detail(sid)
            return
        table = self.query_one("#history", DataTable)
        if self.group_by != "session" and table.row_count:
            # Drill down: the sessions of that day, project or model (Escape goes back to all of them).
            key = str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)
            if key == "TOTAL":
                return
            # A tool row drills into its project's sessions.
            project = next((r["_project"] for r in self.rows if r["_key"] == key and "_project" in r), None)
            self.drill = ("project", project) if project is not None else (self.group_by, key)
            self._drilled_from = self.group_by
            with self.prevent(Select.Changed):
                self.query_one("#group", Select).value = "session"
            self.group_by = "session"
            self.sort_column = _default_sort("session")
            self.sort_reverse = True
            self.load()

    def action_back(self) -> None:
        if self.drill is not None:
            group = self._drilled_from
            self.drill = None
            with self.prevent(Select.Changed):
                self.query_one("#group", Select).value = group
            self.group_by = group
            self.sort_column = _default_sort(group)
            self.load()
            return
        self.app.pop_screen()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "hide_archived":
            return not self.present_only
        if action == "show_archived":
            return self.present_only
        return True

    def action_hide_archived(self) -> None:
        self._set_present_only(True)

    def action_show_archived(self) -> None:
        self._set_present_only(False)

    def _set_present_only(self, value: bool) -> None:
        self.present_only = value
        self.refresh_bindings()
        self._remember()
        self.load()

    def action_next_group(self) -> None:
        values = [v for _, v in GROUPS]
        select = self.query_one("#group", Select)
        select.value = values[(values.index(self.group_by) + 1) % len(values)]

    def action_next_sort(self) -> None:
        keys = [k for k, _, _ in self._columns()]
        self.sort_column = (
            keys[(keys.index(self.sort_column) + 1) % len(keys)] if self.sort_column in keys else keys[0]
        )
        self._fill_table()

    def action_reverse_sort(self) -> None:
        self.sort_reverse = not self.sort_reverse
        self._fill_table()

    def export_rows(self) -> list[dict[str, Any]]:
        """The current view, in the current order, as ``ctxtop report`` rows."""
        table = self.query_one("#history", DataTable)
        by_key = {r["_key"]: r["_export"] for r in self.rows}
        return [by_key[str(k.value)] for k in table.rows if str(k.value) in by_key]

    def action_export(self) -> None:
        from ctxtop.ui.screens.prompt import PromptScreen

        since = self.query_one("#since", Input).value or "all"
        until = self.query_one("#until", Input).value or "now"
        default = Path.cwd() / f"ctxtop-{self.group_by}-{since}-{until}.csv"

        def chosen(path: str | None) -> None:
            if path:
                self._export(self.export_rows(), Path(path))

        self.app.push_screen(
            PromptScreen("Export the current view (.csv or .json)", str(default), "Export"), chosen
        )

    @work(thread=True, group="export")
    def _export(self, rows: list[dict[str, Any]], path: Path) -> None:
        try:
            written = export.write(rows, path)
        except OSError as exc:
            self.app.call_from_thread(self.notify, f"Export failed: {exc}", severity="error")
            return
        self.app.call_from_thread(
            self.notify, f"Wrote {len(rows)} row{'' if len(rows) == 1 else 's'} to {written}", title="Export"
        )
