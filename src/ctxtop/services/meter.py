"""The MCP server's use cases (``ctxtop mcp``): what the agent may read of its own meter, front-end free.

Every tool is about the calling session (``sources.claude_code.caller``), and every figure is the one ``ctxtop
report sessions --json`` prints for it: the same ``Monitor`` and ``SessionView``, refreshed (only new bytes
are read) before each answer. The SDK and the tools' names and descriptions are ``commands/mcp_server.py``'s.
"""

from __future__ import annotations

import os
import stat
import threading
import time
from collections.abc import Callable
from typing import Any

from ctxtop.adapters import notes_store, paths
from ctxtop.adapters.tmux import printable
from ctxtop.core.report import money
from ctxtop.services import notes
from ctxtop.services.monitor import Monitor
from ctxtop.sources.claude_code import caller, layout

LARGEST_ITEMS = 8
"""How many of the largest context items ``context_status`` lists."""
SETTLE_SECONDS = 3.0
"""How long a tool waits for Claude Code to write the request that called it into the transcript."""
REFRESH_SECONDS = 0.2
"""While it waits, how often the index is refreshed (between, only the tails of the files it knows are read)."""
MAX_PIN_CHARS = 500
"""A pinned line is one line of the notes, which have a budget: longer pins are refused, not cut."""


class Refused(Exception):
    """A call the tool cannot answer; the message goes to the model as the tool's error."""


class Meter:
    """The tools' logic, front-end free: each method returns plain JSON data about the calling session."""

    def __init__(
        self,
        claude_dirs: list[str] | None = None,
        api_logs: str | None = None,
        cache_dir: str | None = None,
        resolve: Callable[[], caller.Caller] | None = None,
    ) -> None:
        self._options = (claude_dirs, api_logs, cache_dir)
        dirs = layout.claude_config_dirs(claude_dirs)
        self._resolve = resolve or (lambda: caller.caller(config_dirs=dirs))
        self._monitor: Monitor | None = None
        self._config_stamp: tuple[int, int] | None = None
        # The SDK runs sync tools on worker threads: the index's connection serves one call at a time.
        self._lock = threading.Lock()

    # -- plumbing ---------------------------------------------------------------------------------------
    def monitor(self) -> Monitor:
        """The monitor, opened once and refreshed on every call (a refresh reads only what was appended);
        opened again when config.toml changed, so a budget or threshold set meanwhile counts."""
        stamp = _stamp(paths.config_file())
        if self._monitor is not None and stamp != self._config_stamp:
            self._monitor.close()
            self._monitor = None
        self._config_stamp = stamp
        if self._monitor is None:
            self._monitor = Monitor.open(*self._options)
        self._monitor.refresh()
        return self._monitor

    def session(self, tool_use_id: str | None = None) -> tuple[caller.Caller, Monitor, Any]:
        """The caller, the refreshed monitor and the caller's SessionView (None before its first response).

        Claude Code runs the tool before the transcript holds the response that called it (it writes a few
        milliseconds later): with the call's ``tool_use_id`` the figures wait for that response, so they
        include the request the agent is in, as ``ctxtop report sessions`` shows it afterwards.
        """
        who = self._resolve()
        if tool_use_id:
            self._wait_for(who.session_id, tool_use_id)
        monitor = self.monitor()
        found = monitor.index.sessions(ids=[who.session_id])
        return who, monitor, (monitor.view(found[0]) if found else None)

    def _head(self, who: caller.Caller, view: Any) -> dict[str, Any]:
        out: dict[str, Any] = {"session_id": who.session_id, "session_from": who.how}
        if view is None:
            out["note"] = "ctxtop has no request of this session yet (it is written after the first response)"
        else:
            out["project"] = view.stats.cwd
            out["models"] = view.stats.models
        return out

    def _wait_for(self, session_id: str, tool_use_id: str) -> bool:
        """Wait (at most ``SETTLE_SECONDS``) until one of the session's files holds ``tool_use_id``.

        The files are the ones the index has (a subagent's call is in its own transcript, beside the
        session's); a refresh every ``REFRESH_SECONDS`` finds a transcript or a subagent's file that is new."""
        needle = tool_use_id.encode("utf-8", "replace")
        deadline = time.monotonic() + SETTLE_SECONDS
        refresh_at = 0.0
        files: list[str] = []
        while True:
            now = time.monotonic()
            if now >= refresh_at:
                files = self.monitor().index.session_files(session_id)
                refresh_at = now + REFRESH_SECONDS
            if any(_tail_has(f, needle) for f in files):
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.02)

    # -- tools ------------------------------------------------------------------------------------------
    def context_status(self, tool_use_id: str | None = None) -> dict[str, Any]:
        with self._lock:
            who, monitor, view = self.session(tool_use_id)
            out = self._head(who, view)
            if view is None:
                return out
            row = view.as_dict()
            for key in ("context_tokens", "context_window", "context_window_source", "fill", "threshold_pct",
                        "threshold_tokens", "compaction_window", "compact_at_tokens", "compact_at_fill",
                        "room_before_compaction_tokens", "compactions", "turns"):  # fmt: skip
                out[key] = row[key]
            out.update(self._largest(monitor, view))
            return out

    def _largest(self, monitor: Monitor, view: Any) -> dict[str, Any]:
        """What fills the window now, as ``ctxtop report context SESSION --json`` splits it: tokens per kind
        and the largest live items (exact in total, apportioned in detail: ``core.breakdown``)."""
        from ctxtop.core import breakdown as bdm
        from ctxtop.services.context_io import session_breakdown

        found = session_breakdown(monitor.index, view.stats.session_id)
        if found is None:  # the main transcript is gone: the totals stay, the pieces went with it
            return {"context_by_kind": None, "largest_context_items": []}
        bd = found.breakdown
        live = sorted(bd.live(), key=lambda i: (-i.tokens, i.request))[:LARGEST_ITEMS]
        return {"context_by_kind": bd.by_kind(), "largest_context_items": [bdm.item_dict(i) for i in live]}

    def cost(self, tool_use_id: str | None = None, now: float | None = None) -> dict[str, Any]:
        from ctxtop.services.budgets import assess

        with self._lock:
            who, monitor, view = self.session(tool_use_id)
            out = self._head(who, view)
            if view is not None:
                row = view.as_dict()
                for key in ("cost_usd", "cost_breakdown_usd", "cost_estimated", "unpriced_models",
                            "subagent_cost_usd", "burn_usd_per_hour", "tokens"):  # fmt: skip
                    out[key] = row[key]
            # The budgets as ``ctxtop budget status SESSION --json`` states them (the one assessment the
            # UserPromptSubmit hook enforces), with what is left of each.
            budgets = monitor.config.budgets
            result = assess(monitor.index, budgets, who.session_id, time.time() if now is None else now)
            spent = result.spent
            assert spent is not None
            out["today_cost_usd"] = money(spent.get("day", "usd"))
            out["budgets"] = [_budget_row(b, spent, result.verdicts) for b in budgets]
            return out

    def plan_limits(self, now: float | None = None) -> dict[str, Any]:
        from ctxtop.services import limits

        with self._lock:
            report = limits.collect(self.monitor(), now)
            report.pop("blocks", None)  # ten past blocks are history, not the agent's business
            return report

    def notes(self, tool_use_id: str | None = None) -> dict[str, Any]:
        with self._lock:
            who = self._resolve()
            if tool_use_id:  # the notes are rebuilt from the transcript: let it hold the calling turn
                self._wait_for(who.session_id, tool_use_id)
            return self._notes(who)

    def _notes(self, who: caller.Caller) -> dict[str, Any]:
        text = notes.current(self.monitor().index, who.session_id)
        return {
            "session_id": who.session_id,
            "session_from": who.how,
            "pinned": notes_store.load_pins(who.session_id),
            "notes": text,
        }

    def pin_note(self, line: str, tool_use_id: str | None = None) -> dict[str, Any]:
        # The notes are printed to terminals (``ctxtop notes``) and typed into them (Compact now): no controls.
        text = " ".join(printable(line).split())
        if not text:
            raise Refused("nothing to pin: the line is empty")
        if len(text) > MAX_PIN_CHARS:
            raise Refused(f"a pinned line is at most {MAX_PIN_CHARS} characters (this one has {len(text)})")
        with self._lock:
            who = self._resolve()
            if tool_use_id:
                self._wait_for(who.session_id, tool_use_id)
            added = notes_store.pin(who.session_id, text)
            out = self._notes(who)  # rebuilds the notes with the pin in them
            out["pinned_now"] = text if added else None
            out["already_pinned"] = not added
            return out


def _stamp(path: Any) -> tuple[int, int] | None:
    """A file's (mtime_ns, size), None when it is missing."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size


def _tail_has(path: Any, needle: bytes, tail: int = 1 << 20) -> bool:
    """Whether the last ``tail`` bytes of a regular file hold ``needle`` (a FIFO is never opened)."""
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return False
        with open(path, "rb") as fh:
            size = fh.seek(0, os.SEEK_END)
            fh.seek(max(size - tail, 0))
            return needle in fh.read()
    except OSError:
        return False


def _budget_row(budget: Any, spent: Any, verdicts: list[Any]) -> dict[str, Any]:
    """One budget as ``budget status --json`` gives it, plus what is left before the budget and the hard limit
    (negative once past)."""
    value = spent.get(budget.level, budget.unit)
    verdict = next((v for v in verdicts if v.budget == budget), None)
    return {
        "level": budget.level,
        "unit": budget.unit,
        "period": spent.periods[budget.level].label if budget.level in spent.periods else spent.session_id,
        "spent": str(value),
        "budget": None if budget.amount is None else str(budget.amount),
        "hard": None if budget.hard is None else str(budget.hard),
        "left": None if budget.amount is None else str(budget.amount - value),
        "left_to_hard": None if budget.hard is None else str(budget.hard - value),
        "state": verdict.state if verdict else "ok",
    }
