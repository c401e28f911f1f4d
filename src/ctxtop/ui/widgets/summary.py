"""The strip above the dashboard: today's spend, this week's, active and live sessions, budgets."""

from __future__ import annotations

from decimal import Decimal

from rich.style import Style
from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from ctxtop.core import format as fmt
from ctxtop.ui.messages import Spend


class SummaryStrip(Widget):
    # Component styles are not blended with the background, so the muted colour is $secondary rather than
    # $text-muted (an alpha colour): on a light theme the latter would come out near-white.
    COMPONENT_CLASSES = {"summary--label", "summary--value", "summary--warn", "summary--over"}
    DEFAULT_CSS = """
    SummaryStrip { height: 1; padding: 0 1; }
    SummaryStrip > .summary--label { color: $secondary; }
    SummaryStrip > .summary--value { text-style: bold; }
    SummaryStrip > .summary--warn { color: $warning; text-style: bold; }
    SummaryStrip > .summary--over { color: $error; text-style: bold; }
    """

    spend: reactive[Spend] = reactive(Spend)
    active: reactive[int] = reactive(0)
    live: reactive[int] = reactive(0)
    daily_budget: reactive[float] = reactive(0.0)
    note: reactive[str] = reactive("")

    def _s(self, name: str) -> Style:
        return self.get_component_rich_style(f"summary--{name}", partial=True)

    def render(self) -> Text:
        text = Text(no_wrap=True, overflow="ellipsis")
        label, value = self._s("label"), self._s("value")
        today_style = value
        if self.daily_budget > 0:
            share = self.spend.today / Decimal(str(self.daily_budget))
            today_style = (
                self._s("over") if share >= 1 else self._s("warn") if share >= Decimal("0.7") else value
            )
        text.append("Today ", label)
        text.append(fmt.usd(self.spend.today), today_style)
        if self.daily_budget > 0:
            text.append(f" of {fmt.usd(Decimal(str(self.daily_budget)))}", label)
        text.append("   This week ", label)
        text.append(fmt.usd(self.spend.week), value)
        text.append("   Active ", label)
        text.append(str(self.active), value)
        text.append("   Live ", label)
        text.append(str(self.live), value)
        if self.spend.limits:
            text.append("   Plan ", label)
            text.append(self.spend.limits, value)
        if self.note:
            text.append("   " + self.note, label)
        return text
