"""What the live engine reports: plain, past-tense dataclasses, one batch per time window (never one per line).

Any consumer takes them from the engine's ``post`` callback: the TUI wraps each in a Textual message
(``ctxtop.ui.messages``), a headless one (a test, an exporter, the MCP server) reads them as they are.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from ctxtop.adapters.index import ToolOutput
from ctxtop.core.anomalies import Anomaly
from ctxtop.core.breakdown import Breakdown, Rollup
from ctxtop.core.budgets import Verdict
from ctxtop.core.forensics import Retention
from ctxtop.core.limits import LimitAlert
from ctxtop.core.report import SessionView, Total
from ctxtop.services.noise import OutputSaving
from ctxtop.sources.claude_code.live import LiveSession


@dataclass
class IndexProgressed:
    """The first index of a big history is being built."""

    files: int
    total_files: int
    bytes_done: int
    bytes_total: int


@dataclass
class Spend:
    """Today's and this week's spend (local days, the same buckets as ``ctxtop report daily``)."""

    today: Decimal = Decimal(0)
    week: Decimal = Decimal(0)
    day: str = ""
    limits: str = ""
    """Plan limits Claude Code reported, else the estimated five-hour block (``ctxtop.core.limits.summary``),
    or empty."""
    limit_alerts: list[LimitAlert] = field(default_factory=list)
    """The shares (``[limits]`` warn_pct/high_pct, 100%) the plan limits reached."""


@dataclass
class SessionsUpdated:
    """Sessions whose numbers changed, as one batch per time window."""

    views: list[SessionView]
    spend: Spend
    initial: bool = False
    """True for the full list (start-up, settings change): the receiver replaces rather than merges."""
    recent_only: bool = False
    """No session was active in the window: ``views`` are the most recent ones instead."""
    files_read: int = 0
    seconds: float = 0.0
    titles: dict[str, str] = field(default_factory=dict)
    """Titles (Claude Code's summary, else the first request) of sessions new in this batch."""


@dataclass
class LiveChanged:
    """The set of running Claude Code processes, or what they are doing, changed."""

    live: dict[str, LiveSession]


@dataclass
class SessionDetailLoaded:
    session_id: str
    view: SessionView | None
    tool_outputs: list[ToolOutput] = field(default_factory=list)
    subagents: list[tuple[str, int, int]] = field(default_factory=list)
    transcript_path: str | None = None
    noise: list[OutputSaving] | None = None
    """What the output filter saved on each of the session's logged outputs (``services.noise``)."""
    breakdown: Breakdown | None = None
    """The main chain's context breakdown (None when the transcript is not on disk)."""
    retention: list[Retention] | None = None
    """What of ctxtop's notes survived each compaction (None when the transcript is not on disk)."""


@dataclass
class CompactionLostTasks:
    """A session compacted and the model did not see some open tasks of ctxtop's notes again."""

    session_id: str
    cwd: str | None
    score: str
    """"kept 3 of 5": the compaction's retention of every fact of the notes."""
    tasks: list[str]
    notes_reinjected: bool = False


@dataclass
class SessionPreviewLoaded:
    """Full stats (with the per-turn series) of the session highlighted on the dashboard."""

    session_id: str
    view: SessionView | None


@dataclass
class HistoryLoaded:
    since: float | None
    until: float | None
    group_by: str
    views: list[SessionView]
    totals: list[Total]
    daily: list[Total]
    """Per-day totals of the same range, for the cost chart."""
    rollup: list[Rollup] = field(default_factory=list)
    """Grouped by tool: re-read cost per project and tool (``core.breakdown.rollup``)."""
    present_only: bool = False
    """Archived requests (their transcripts deleted) were left out."""


@dataclass
class FindingsUpdated:
    """Budgets past their alert share and anomalies, for sessions that changed (and the periods, and today).

    Posted after the ``SessionsUpdated`` they belong to, at most every ``FINDINGS_INTERVAL_S`` (the checks read
    each session's requests again: they must not delay the rows)."""

    verdicts: list[Verdict] = field(default_factory=list)
    anomalies: list[Anomaly] = field(default_factory=list)
    initial: bool = False
    """Found with a full list (start-up, settings change): known already, recorded without alerting."""


@dataclass
class EngineFailed:
    error: str


Event = (
    IndexProgressed
    | SessionsUpdated
    | FindingsUpdated
    | LiveChanged
    | SessionDetailLoaded
    | CompactionLostTasks
    | SessionPreviewLoaded
    | HistoryLoaded
    | EngineFailed
)
"""Everything ``Engine`` posts."""
