"""Write the history screen's current view to CSV or JSON: the same row shapes as ``ctxtop report``."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from ctxtop.adapters.atomic import write_atomic


def flatten(row: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested dicts become dotted columns; lists become ``;``-joined cells (as ``ctxtop report --csv``)."""
    flat: dict[str, Any] = {}
    for key, value in row.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, f"{name}."))
        elif isinstance(value, list):
            flat[name] = ";".join(json.dumps(v) if isinstance(v, dict) else str(v) for v in value)
        else:
            flat[name] = value
    return flat


def render(rows: list[dict[str, Any]], fmt: str) -> str:
    if fmt == "json":
        return json.dumps(rows, indent=2) + "\n"
    flat = [flatten(r) for r in rows]
    fields: list[str] = []
    for r in flat:
        fields.extend(k for k in r if k not in fields)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=fields)
    writer.writeheader()
    writer.writerows(flat)
    return out.getvalue()


def write(rows: list[dict[str, Any]], path: Path) -> Path:
    """Write ``rows`` as JSON when ``path`` ends in .json, else CSV; returns the absolute path."""
    path = path.expanduser().resolve()
    fmt = "json" if path.suffix.lower() == ".json" else "csv"
    write_atomic(path, render(rows, fmt), mode=0o644)
    return path
