"""Write the history screen's current view to CSV or JSON: the same row shapes as ``ctxtop report``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ctxtop.adapters.atomic import write_atomic
from ctxtop.core import report


def render(rows: list[dict[str, Any]], fmt: str) -> str:
    return report.to_json(rows) if fmt == "json" else report.to_csv(rows)


def write(rows: list[dict[str, Any]], path: Path) -> Path:
    """Write ``rows`` as JSON when ``path`` ends in .json, else CSV; returns the absolute path."""
    path = path.expanduser().resolve()
    fmt = "json" if path.suffix.lower() == ".json" else "csv"
    write_atomic(path, render(rows, fmt), mode=0o644)
    return path
