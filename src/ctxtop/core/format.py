"""Text for people: short token counts, money, percentages, ages. Pure functions (no Textual)."""

from __future__ import annotations

import os
from decimal import Decimal

from ctxtop.core.pricing import fmt_usd


def tokens(n: int | None) -> str:
    if n is None:
        return "-"
    sign = "-" if n < 0 else ""
    n = abs(n)
    if n >= 1_000_000:
        return f"{sign}{n / 1_000_000:.2f}M"
    if n >= 10_000:
        return f"{sign}{n / 1000:.0f}K"
    if n >= 1000:
        return f"{sign}{n / 1000:.1f}K"
    return f"{sign}{n}"


def usd(value: Decimal | None, places: int = 2) -> str:
    return fmt_usd(value, places)


def pct(value: float | None, places: int = 0) -> str:
    return "-" if value is None else f"{value * 100:.{places}f}%"


def age(seconds: float | None) -> str:
    """ "now", "42s", "7m", "3h", "2d" for how long ago something happened."""
    if seconds is None:
        return "-"
    s = max(0, int(seconds))
    if s < 10:
        return "now"
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m"
    if s < 86400:
        return f"{s // 3600}h"
    return f"{s // 86400}d"


def ago(seconds: float | None) -> str:
    """ "just now", "7m ago": ``age`` in a sentence."""
    text = age(seconds)
    return "just now" if text == "now" else text if text == "-" else f"{text} ago"


def project(path: str | None, width: int) -> str:
    """A project path shortened from the left, home as ``~``: the end of a path is what tells them apart."""
    if not path:
        return "?"
    home = os.path.expanduser("~")
    text = "~" + path[len(home) :] if home != "/" and path.startswith(home + os.sep) else path
    if len(text) <= width:
        return text
    return "…" + text[-(width - 1) :]


def model(name: str | None) -> str:
    """``claude-opus-4-6`` -> ``opus-4-6``; dates dropped."""
    if not name:
        return "?"
    short = name.removeprefix("claude-")
    parts = short.split("-")
    if len(parts) > 1 and parts[-1].isdigit() and len(parts[-1]) == 8:
        short = "-".join(parts[:-1])
    return short
