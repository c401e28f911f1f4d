"""Filter one command's output: the use case ``ctxtop run``, ``ctxtop filter`` and the PostToolUse hook share.

``filter_output`` filters, saves the raw output when anything was removed (before its path is promised in the
pointer line) and describes what to log; ``log_filtered`` counts tokens and appends the filter-log record.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ctxtop.adapters import filter_log, filter_rules, raw_outputs
from ctxtop.core.filters import filter_text
from ctxtop.core.filters.tokens import TOKENIZER, count_tokens


@dataclass(slots=True)
class Filtered:
    text: str
    record: dict[str, Any] | None  # what to log (tokens not yet counted); None when nothing changed
    raw: str = ""


def filter_output(
    raw: str,
    command: str,
    *,
    source: str,
    save: bool = True,
    session_id: str | None = None,
    tool_use_id: str | None = None,
    transcript_path: str | None = None,
    cwd: str | None = None,
    exit_code: int | None = None,
    config: filter_rules.FilterConfig | None = None,
) -> Filtered:
    """Filter ``raw``; when lines were removed the raw output is saved first, else the text passes unchanged."""
    cfg = config or filter_rules.load()
    if cfg.excluded(command):
        return Filtered(raw, None)
    path = raw_outputs.new_path(session_id) if save else None
    size = len(raw.encode("utf-8", "surrogateescape")) if len(raw) * 4 > raw_outputs.MAX_FILE_BYTES else 0
    cut = raw_outputs.cut_range(size)
    result = filter_text(
        raw,
        command,
        cfg.rules,
        cfg.settings,
        raw_path=str(path) if path else None,
        exit_code=exit_code,
        raw_cut=(cut[0], cut[1], size) if cut else None,
    )
    if not result.changed:
        return Filtered(raw, None)
    if result.lossy and path is not None:
        try:
            raw_outputs.save(path, raw)
        except OSError:
            # The pointer line would name a file that does not exist: give the raw output instead.
            return Filtered(raw, None)
    record = {
        "source": source,
        "session_id": session_id,
        "tool_use_id": tool_use_id,
        "transcript_path": transcript_path,
        "cwd": cwd,
        "command": command,
        "exit_code": exit_code,
        "rules": list(result.rules),
        "raw_chars": len(raw),
        "filtered_chars": len(result.text),
        "raw_lines": result.raw_lines,
        "kept_lines": result.kept_lines,
        "raw_path": str(path) if result.lossy and path else None,
    }
    return Filtered(result.text, record, raw)


def log_filtered(filtered: Filtered) -> None:
    """Count tokens and append the record to the filter log; never raises."""
    if filtered.record is None:
        return
    try:
        record = dict(filtered.record)
        record["raw_tokens"] = count_tokens(filtered.raw)
        record["filtered_tokens"] = count_tokens(filtered.text)
        record["tokenizer"] = TOKENIZER
        filter_log.append(record)
    except Exception:  # noqa: BLE001 - accounting must never break the command's output
        pass
