"""A column chart in text cells: one column per value, an optional split per column (e.g. re-read share),
a horizontal reference line (the compaction threshold) and marked columns (compaction boundaries)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from rich.style import Style
from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from ctxtop.core import format as fmt
from ctxtop.core.report import SessionView

EIGHTHS = " ▁▂▃▄▅▆▇█"
GUTTER = 7


@dataclass(frozen=True)
class Series:
    values: Sequence[float]
    lower: Sequence[float] | None = None
    """Share (0..1) of each value drawn in the "lower" colour, from the bottom."""
    marks: frozenset[int] = field(default_factory=frozenset)
    """Indexes of marked columns, drawn with a ◆ under the axis."""
    hline: float | None = None
    hline_label: str = ""
    top_label: Callable[[float], str] = str
    labels: Sequence[str] = ()
    """Optional x labels (first and last are shown after the axis)."""
    tick_labels: bool = False
    """Show the labels on a row of their own under the columns instead, as many as fit (needs a row)."""
    empty_text: str = "no data"


def context_series(view: SessionView, *, with_times: bool = False) -> Series:
    """Context per main-chain turn: re-read share in the lower colour, compactions marked, the threshold."""
    turns = view.stats.per_turn
    return Series(
        values=[t.context for t in turns],
        lower=[(t.reread / t.context) if t.context else 0.0 for t in turns],
        marks=frozenset(i for i, t in enumerate(turns) if t.compacted_before),
        hline=view.threshold_tokens,
        hline_label=f"{view.threshold_pct:g}%",
        top_label=lambda v: fmt.tokens(int(v)),
        labels=[time.strftime("%H:%M", time.localtime(t.ts)) for t in turns] if with_times else (),
        empty_text="No main-chain turns yet.",
    )


def resample(series: Series, width: int) -> tuple[list[float], list[float] | None, set[int], list[int]]:
    """Fit ``values`` into ``width`` columns: the max of each group; a group is marked if any member is."""
    n = len(series.values)
    if n == 0 or width <= 0:
        return [], None, set(), []
    if n <= width:
        idx = [[i] for i in range(n)]
    else:
        idx = [
            list(range(c * n // width, max((c + 1) * n // width, c * n // width + 1))) for c in range(width)
        ]
    values: list[float] = []
    lower: list[float] | None = [] if series.lower is not None else None
    marks: set[int] = set()
    first: list[int] = []
    for c, group in enumerate(idx):
        best = max(group, key=lambda i: series.values[i])
        values.append(float(series.values[best]))
        if lower is not None and series.lower is not None:
            lower.append(float(series.lower[best]))
        if any(i in series.marks for i in group):
            marks.add(c)
        first.append(group[0])
    return values, lower, marks, first


def chart_lines(series: Series, width: int, height: int, style: Callable[[str], Style]) -> list[Text]:
    plot_w = max(width - GUTTER, 1)
    ticks = series.tick_labels and bool(series.labels) and height >= 4
    rows = max(height - (2 if ticks else 1), 1)  # the axis (and the tick labels) take the last rows
    values, lower, marks, first = resample(series, plot_w)
    if not values:
        return [Text(series.empty_text, style("axis"))]
    # Few values get wider columns that fill the width, so a 4-turn session is not four hairlines and a wide
    # pane is not left mostly empty.
    step = max(1, plot_w // len(values))
    # Head-room above the tallest bar and the reference line, so the line never sits on the top label's row.
    top = max(max(values), series.hline or 0) * (1 + 1.5 / rows) or 1.0
    hrow = None if series.hline is None else min(int(series.hline / top * rows * 8) // 8, rows - 1)
    lines: list[Text] = []
    for r in range(rows - 1, -1, -1):  # r = 0 is the bottom row
        line = Text(no_wrap=True, overflow="crop")
        if hrow is not None and r == hrow:
            line.append(series.hline_label.rjust(GUTTER - 1)[: GUTTER - 1] + " ", style("hline"))
        elif r == rows - 1:
            line.append(series.top_label(top).rjust(GUTTER - 1)[: GUTTER - 1] + " ", style("axis"))
        else:
            line.append(" " * GUTTER)
        for c, v in enumerate(values):
            eighths = v / top * rows * 8
            cell = max(0, min(8, round(eighths - r * 8)))
            if cell == 0:
                char, role = ("╌", "hline") if r == hrow else (" ", "axis")
            else:
                share = lower[c] if lower is not None else 0.0
                split = share * eighths
                role = "lower" if r * 8 + cell / 2 < split else "upper"
                if c in marks:
                    role = "mark"
                char = EIGHTHS[cell]
            line.append(char * step, style(role))
        lines.append(line)
    axis = Text(" " * (GUTTER - 1) + "└", style("axis"), no_wrap=True, overflow="crop")
    for c in range(len(values)):
        axis.append(("◆" if c in marks else "─") + "─" * (step - 1), style("mark" if c in marks else "axis"))
    if series.labels and not ticks:
        left, right = series.labels[first[0]], series.labels[first[-1]]
        axis.append(f" {left}" + (f" … {right}" if right != left else ""), style("axis"))
    lines.append(axis)
    if ticks:
        lines.append(Text(_tick_row([series.labels[i] for i in first], step), style("axis"), no_wrap=True))
    return lines


def _tick_row(labels: Sequence[str], step: int) -> str:
    """Labels under their columns, as many as fit with a space between; the last column's label always
    shows, ending at the chart's right edge, so a long range keeps both ends dated."""
    width = GUTTER + len(labels) * step
    row = [" "] * width
    last = len(labels) - 1
    size = max((len(label) for label in labels), default=0) + 1
    every = max(1, -(-size // step))
    end = max(GUTTER, min(GUTTER + last * step, width - len(labels[last])))
    placed = [
        (GUTTER + c * step, labels[c]) for c in range(0, last, every) if GUTTER + c * step + size <= end
    ]
    for at, label in [*placed, (end, labels[last])]:
        row[at : at + len(label)] = label
    return "".join(row).rstrip()


class ColumnChart(Widget):
    COMPONENT_CLASSES = {"chart--upper", "chart--lower", "chart--mark", "chart--hline", "chart--axis"}
    DEFAULT_CSS = """
    ColumnChart { height: 10; }
    ColumnChart > .chart--upper { color: $primary; }
    ColumnChart > .chart--lower { color: $primary-darken-2; }
    ColumnChart > .chart--mark { color: $error; }
    ColumnChart > .chart--hline { color: $warning; }
    ColumnChart > .chart--axis { color: $secondary; }
    """

    series: reactive[Series | None] = reactive(None)

    def _style(self, role: str) -> Style:
        return self.get_component_rich_style(f"chart--{role}", partial=True)

    def render(self) -> Text:
        if self.series is None:
            return Text("")
        region = self.content_region
        lines = chart_lines(self.series, region.width, region.height, self._style)
        return Text("\n").join(lines)
