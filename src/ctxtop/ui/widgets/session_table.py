"""The dashboard's table: one row per session, newest activity first, updated in place."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rich.style import Style
from rich.text import Text
from textual.widgets import DataTable

from ctxtop.core import format as fmt
from ctxtop.core.report import SessionView
from ctxtop.core.session_ids import short_id
from ctxtop.sources.claude_code.live import LiveSession
from ctxtop.ui.widgets.gauge import GAUGE_CSS, gauge_cells, gauge_component_classes, gauge_text

LIVE_GLYPHS = {"busy": "●", "waiting": "◆", "idle": "○"}
BADGE_GLYPH = "▲"


@dataclass(frozen=True, slots=True)
class Layout:
    project: int
    model: int
    bar: int
    session: int = 0
    """Width of the short-id column (0: not shown, under 100 columns)."""

    @classmethod
    def for_width(cls, width: int) -> Layout:
        # Fixed columns: status 2, re-read 7, cost 8, burn 7, last 4; 8 columns x 2 cells of padding; from 100
        # columns on, the short session id (8 + 2), which tells two sessions of one repo apart.
        session = 8 if width >= 100 else 0
        free = max(width - 2 - 7 - 8 - 7 - 4 - 16 - 2 - (session + 2 if session else 0), 30)
        model = 10 if free >= 60 else 9
        bar = max(10, min(40, int((free - model) * 0.36)))
        project = free - model - bar - 5
        if project < 16:
            # Narrow panes (80 columns): a project you can recognise beats a longer gauge.
            give = max(min(16 - project, bar - 6), 0)
            bar, project = bar - give, project + give
        project = max(project, 8)
        if project > 48:
            # Wide screens: a longer path is not more useful, a longer gauge is.
            bar = min(bar + project - 48, 60)
            project = 48
        return cls(project=project, model=model, bar=bar, session=session)


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _same(a: Text | None, b: Text) -> bool:
    """Two cells look the same (Rich's ``Text ==`` ignores the base style, e.g. a cost turning red)."""
    return (
        a is not None
        and a == b
        and (a.style, a.justify, a.overflow, a.no_wrap, a.end)
        == (b.style, b.justify, b.overflow, b.no_wrap, b.end)
    )


class SessionTable(DataTable):
    COMPONENT_CLASSES = gauge_component_classes() | {
        "sessions--busy", "sessions--waiting", "sessions--idle", "sessions--badge", "sessions--dim",
        "sessions--warn", "sessions--over",
    }  # fmt: skip
    DEFAULT_CSS = """
    SessionTable > .sessions--busy { color: $success; }
    SessionTable > .sessions--waiting { color: $warning; }
    SessionTable > .sessions--idle { color: $secondary; }
    SessionTable > .sessions--badge { color: $error; text-style: bold; }
    SessionTable > .sessions--dim { color: $secondary; }
    SessionTable > .sessions--warn { color: $warning; }
    SessionTable > .sessions--over { color: $error; text-style: bold; }
    """ + GAUGE_CSS.format(name="SessionTable")

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            cursor_type="row", zebra_stripes=False, cursor_foreground_priority="renderable", **kwargs
        )
        self.layout_spec = Layout.for_width(100)
        self._order: list[str] = []
        self._shown: dict[str, dict[str, Text]] = {}
        """The cells on screen, by session: a cell is updated only when it changed."""
        self._follow: str | None = None
        """The session to select again once the rows are back (columns rebuilt on a resize empty the table)."""

    def style_for(self, role: str) -> Style:
        name = f"gauge--{role}" if f"gauge--{role}" in self.COMPONENT_CLASSES else f"sessions--{role}"
        return self.get_component_rich_style(name, partial=True)

    def setup_columns(self, width: int) -> bool:
        spec = Layout.for_width(width)
        if spec == self.layout_spec and self.columns:
            return False
        self.layout_spec = spec
        self._follow = self._selected_key() or self._follow
        self.clear(columns=True)
        self._order = []
        self._shown = {}
        columns = [("status", "", 2)]
        if spec.session:
            columns.append(("session", "Session", spec.session))
        for key, label, w in (
            *columns, ("project", "Project · title" if spec.project >= 24 else "Project", spec.project),
            ("model", "Model", spec.model),
            ("context", "Context", spec.bar + 5), ("reread", "Re-read", 7), ("cost", "Cost", 8),
            ("burn", "Burn/h", 7), ("last", "Last", 4),
        ):  # fmt: skip
            self.add_column(Text(label, justify="right" if key in ("reread", "cost", "burn", "last") else "left"),
                            key=key, width=w)  # fmt: skip
        return True

    def cells(
        self,
        view: SessionView,
        live: LiveSession | None,
        badges: list[str],
        now: float,
        title: str | None = None,
        short: str | None = None,
    ) -> dict[str, Text]:
        """The row's cells; ``short``: the session's id as shown, unique among the rows (``core.session_ids``)."""
        s = view.stats
        spec = self.layout_spec
        style = self.style_for
        status = Text(no_wrap=True)
        if live is not None:
            role = live.status if live.status in LIVE_GLYPHS else "busy"
            status.append(LIVE_GLYPHS.get(live.status, "●"), style(role))
        else:
            status.append(" ")
        status.append(BADGE_GLYPH if badges else " ", style("badge"))
        bar = gauge_text(gauge_cells(view, spec.bar), style)
        level_role = "over" if "threshold" in badges else None
        bar.append(f" {fmt.pct(view.fill):>4}", style(level_role) if level_role else Style())
        cost_role = "over" if "budget" in badges else None
        cost = Text(fmt.usd(s.cost_usd), style(cost_role) if cost_role else Style(), justify="right")
        last = self._age(view, now)
        project = Text(no_wrap=True, overflow="ellipsis", end="")
        if title and spec.project >= 24:
            # The project's last part and the title: two sessions of one repo no longer look the same.
            name = fmt.project(
                (s.cwd or "?").rstrip("/").rsplit("/", 1)[-1], max(12, min(spec.project // 2, 28))
            )
            project.append(name)
            rest = spec.project - len(name) - 3
            if rest > 3:
                project.append(" · ", style("dim"))
                project.append(title if len(title) <= rest else title[: rest - 1] + "…", style("dim"))
        else:
            project.append(fmt.project(s.cwd, spec.project))
        cells = {"status": status}
        if spec.session:
            cells["session"] = Text(short or short_id(s.session_id), style("dim"))
        return cells | {
            "project": project,
            "model": Text(
                _clip(fmt.model(s.context_model or (s.models[0] if s.models else None)), spec.model),
                style("dim"),
            ),  # fmt: skip
            "context": bar,
            "reread": Text(fmt.pct(s.reread_ratio), justify="right"),
            "cost": cost,
            "burn": Text(
                fmt.usd(s.burn_usd_per_hour) if s.burn_usd_per_hour else "-", style("dim"), justify="right"
            ),  # fmt: skip
            "last": last,
        }

    def _age(self, view: SessionView, now: float) -> Text:
        last_ts = view.stats.last_ts
        return Text(fmt.age(now - last_ts) if last_ts else "-", self.style_for("dim"), justify="right")

    @property
    def order(self) -> list[str]:
        """The sessions shown, top to bottom."""
        return list(self._order)

    def show_ages(self, views: list[SessionView], now: float) -> None:
        """Only the "Last" column, for ``now``: the rows are those shown (``order``), nothing else changed."""
        for view in views:
            key = view.stats.session_id
            shown = self._shown.get(key)
            if shown is None:
                continue
            last = self._age(view, now)
            if not _same(shown.get("last"), last):
                self.update_cell(key, "last", last)
                shown["last"] = last

    def show(self, rows: list[tuple[str, dict[str, Text]]]) -> None:
        """Show ``rows`` (key, cells) in this order, updating cells in place when the order is unchanged."""
        order = [key for key, _ in rows]
        if order == self._order:
            # Only the cells that changed: on a big history most rows are the same from one batch to the next.
            for key, cells in rows:
                shown = self._shown.get(key, {})
                for column, value in cells.items():
                    if not _same(shown.get(column), value):
                        self.update_cell(key, column, value)
                self._shown[key] = cells
            return
        self._shown = dict(rows)
        # The selection follows the session, not the row number, whatever moved it.
        selected = self._selected_key() or self._follow
        self.clear()
        for key, cells in rows:
            self.add_row(*cells.values(), key=key)
        self._order = order
        if selected in order:
            self.move_cursor(row=order.index(selected), animate=False)
            self._follow = None

    def _selected_key(self) -> str | None:
        if not self._order or self.cursor_row < 0 or self.cursor_row >= len(self._order):
            return None
        return self._order[self.cursor_row]

    @property
    def selected_session(self) -> str | None:
        return self._selected_key()
