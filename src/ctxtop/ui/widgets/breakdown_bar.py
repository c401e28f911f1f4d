"""What fills the window now: one stacked bar of the breakdown's kinds, then a legend with their tokens.

The segments are whole cells apportioned like the tokens (largest remainder), so the bar and the legend tell
the same story; colours come from component classes styled with theme variables.
"""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from ctxtop.core.breakdown import KIND_TITLES, KINDS, Breakdown, apportion
from ctxtop.core.format import tokens as short_tokens

BLOCK = "█"


class BreakdownBar(Widget):
    COMPONENT_CLASSES = {f"breakdown--{k}" for k in KINDS} | {"breakdown--dim"}
    DEFAULT_CSS = """
    BreakdownBar { height: 2; }
    BreakdownBar > .breakdown--base { color: $secondary; }
    BreakdownBar > .breakdown--tool { color: $primary; }
    BreakdownBar > .breakdown--mcp { color: $accent; }
    BreakdownBar > .breakdown--user { color: $success; }
    BreakdownBar > .breakdown--attachment { color: $warning; }
    BreakdownBar > .breakdown--summary { color: $error; }
    BreakdownBar > .breakdown--assistant { color: $foreground-muted; }
    BreakdownBar > .breakdown--unattributed { color: $panel-lighten-2; }
    BreakdownBar > .breakdown--dim { color: $secondary; }
    """

    breakdown: reactive[Breakdown | None] = reactive(None, layout=False)

    def _style(self, kind: str):  # type: ignore[no-untyped-def]
        return self.get_component_rich_style(f"breakdown--{kind}", partial=True)

    def render(self) -> Text:
        bd = self.breakdown
        if bd is None or not bd.context:
            return Text("No main-chain request to break down.", self._style("dim"))
        kinds = bd.by_kind()
        width = max((self.content_region.width or self.size.width), 1)
        cells = apportion(width, list(kinds.values()))
        text = Text(no_wrap=True, overflow="crop")
        for kind, n in zip(kinds, cells, strict=True):
            text.append(BLOCK * n, self._style(kind))
        text.append("\n")
        legend = Text(no_wrap=True, overflow="ellipsis")
        for kind, tokens in sorted(kinds.items(), key=lambda kv: -kv[1]):
            legend.append(BLOCK + " ", self._style(kind))
            legend.append(f"{KIND_TITLES[kind]} {short_tokens(tokens)} ({tokens / bd.context * 100:.0f}%)  ")
        text.append_text(legend)
        return text
