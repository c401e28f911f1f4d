"""A context-fill gauge with ctxtop's threshold and Claude Code's compaction point marked.

``gauge_cells`` is pure (one role per cell) so both the dashboard's table cells and the detail screen's big
gauge draw the same bar; colours come from component classes styled with theme variables.
"""

from __future__ import annotations

from collections.abc import Callable

from rich.style import Style
from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from ctxtop.core import format as fmt
from ctxtop.core.report import SessionView

FILL, TRACK, THRESHOLD, COMPACT = "█", " ", "┃", "┇"
WARN_AT = 0.85
"""Share of the threshold from which the fill turns to the warning colour."""


def level(view: SessionView) -> str:
    """ "ok", "warn" or "over": how close the session is to its first compaction limit."""
    used = view.stats.context_tokens
    if used is None or not view.window:
        return "ok"
    limits = [x for x in (view.threshold_tokens, view.compaction.compact_at) if x]
    if not limits:
        return "ok"
    first = min(limits)
    if used >= first:
        return "over"
    return "warn" if used >= first * WARN_AT else "ok"


def gauge_cells(view: SessionView, width: int) -> list[tuple[str, str]]:
    """(character, role) per cell; roles: fill-ok/fill-warn/fill-over, track, threshold, compact."""
    if width <= 0:
        return []
    window = view.window
    if not window:
        return [(TRACK, "track")] * width
    used = min((view.context_tokens or 0) / window, 1.0)
    # Any context at all shows at least one cell: an empty bar would read as "nothing".
    filled = max(round(used * width), 1 if used > 0 else 0)
    fill_role = f"fill-{level(view)}"
    cells = [(FILL, fill_role) if i < filled else (TRACK, "track") for i in range(width)]

    def mark(tokens: int | None, char: str, role: str) -> None:
        if tokens is None:
            return
        col = min(int(tokens / window * width), width - 1)
        cells[col] = (char, role)

    # The compaction point first: where both fall on one cell, the threshold (the user's own) wins.
    mark(view.compaction.compact_at, COMPACT, "compact")
    mark(view.threshold_tokens, THRESHOLD, "threshold")
    return cells


def gauge_text(cells: list[tuple[str, str]], style_for: Callable[[str], Style]) -> Text:
    text = Text(no_wrap=True, overflow="crop")
    run, role = "", None
    for char, r in cells:
        if r != role and run:
            text.append(run, style_for(role or ""))
            run = ""
        role = r
        run += char
    if run:
        text.append(run, style_for(role or ""))
    return text


GAUGE_ROLES = ("fill-ok", "fill-warn", "fill-over", "track", "threshold", "compact")

GAUGE_CSS = """
{name} > .gauge--fill-ok {{ color: $primary; }}
{name} > .gauge--fill-warn {{ color: $warning; }}
{name} > .gauge--fill-over {{ color: $error; }}
{name} > .gauge--track {{ background: $panel; }}
{name} > .gauge--threshold {{ color: $warning; background: $panel; text-style: bold; }}
{name} > .gauge--compact {{ color: $error; background: $panel; text-style: bold; }}
"""


def gauge_component_classes() -> set[str]:
    return {f"gauge--{r}" for r in GAUGE_ROLES}


class Gauge(Widget):
    """The big gauge of the session detail: the bar, then what the marks mean and the room left."""

    COMPONENT_CLASSES = gauge_component_classes() | {"gauge--label", "gauge--dim"}
    DEFAULT_CSS = """
    Gauge { height: 2; }
    Gauge > .gauge--label { text-style: bold; }
    Gauge > .gauge--dim { color: $secondary; }
    """ + GAUGE_CSS.format(name="Gauge")

    view: reactive[SessionView | None] = reactive(None, layout=False)

    def _style(self, role: str) -> Style:
        return self.get_component_rich_style(f"gauge--{role}", partial=True)

    def render(self) -> Text:
        view = self.view
        if view is None:
            return Text("")
        width = self.content_region.width or self.size.width
        pct = fmt.pct(view.fill, 1)
        bar_width = max(width - len(pct) - 1, 1)
        line = gauge_text(gauge_cells(view, bar_width), self._style)
        line.append(" " + pct, self.get_component_rich_style("gauge--label", partial=True))
        line.append("\n")
        line.append_text(self.legend(view))
        return line

    @staticmethod
    def _past(view: SessionView) -> str:
        """What the context is past: Claude Code's compaction point (it will compact), or only the threshold."""
        compact_at, used = view.compaction.compact_at, view.stats.context_tokens
        if compact_at is not None and used is not None and used >= compact_at:
            return "past Claude Code's compaction point by"
        return "past the threshold by"

    def legend(self, view: SessionView) -> Text:
        dim = self.get_component_rich_style("gauge--dim", partial=True)
        text = Text(no_wrap=True, overflow="ellipsis")
        used = view.stats.context_tokens
        text.append(f"{fmt.tokens(used)} of {fmt.tokens(view.window)}  ", dim)
        # The room left comes first: it is the number that matters, and narrow panes cut the end of the line.
        room = view.room_before_compaction
        if room is not None and view.window:
            style = self._style("fill-over" if room <= 0 else "fill-ok")
            label = "room left" if room > 0 else self._past(view)
            text.append(f"{label} {fmt.tokens(abs(room))} ({abs(room) / view.window * 100:.1f}%)  ", style)
        if view.threshold_tokens is not None:
            text.append(THRESHOLD, self._style("threshold"))
            text.append(f" threshold {view.threshold_pct:g}% ({fmt.tokens(view.threshold_tokens)})  ", dim)
        if view.compaction.compact_at is not None:
            text.append(COMPACT, self._style("compact"))
            text.append(f" Claude Code compacts at {fmt.tokens(view.compaction.compact_at)}", dim)
        elif not view.compaction.threshold_applies:
            text.append(view.compaction.reason, dim)  # a tool that compacts by itself (Codex)
        else:
            # The full reason is long (see `ctxtop doctor`); a legend line has room for the gist only.
            gist = "auto-compact off" if not view.compaction.enabled else "no proactive compaction"
            text.append(f"Claude Code: {gist}", dim)
        return text
