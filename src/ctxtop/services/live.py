"""The live engine: one thread owns the Monitor (SQLite index) and the file watcher, and posts batched events.

The events are plain dataclasses (``ctxtop.services.events``) handed to a ``post`` callback, so the engine
runs headless (a test, an exporter, the MCP server); the TUI passes a callback that wraps them in messages.

The index's SQLite connection must be used by one thread at a time, so every query (refresh, session detail,
history) goes through this engine's request queue and runs on its thread. File-change notifications from the
watcher are merged while a refresh runs, and updates are posted at most every ``min_interval`` seconds, so a
burst of appended lines becomes one ``SessionsUpdated``.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from ctxtop.adapters.config import Config
from ctxtop.adapters.watcher import Watcher
from ctxtop.core import metrics, report
from ctxtop.core.metrics import SessionStats
from ctxtop.services import events as ev
from ctxtop.services.monitor import Monitor
from ctxtop.services.noise import OutputSaving, session_savings
from ctxtop.sources.claude_code.env import settings_snapshot
from ctxtop.sources.claude_code.live import LiveSession, live_sessions
from ctxtop.sources.claude_code.source import ClaudeCode
from ctxtop.sources.registry import kind

log = logging.getLogger(__name__)

MonitorFactory = Callable[[Config], Monitor]
Post = Callable[[ev.Event], object]
"""Where events go: the TUI wraps them in Textual messages; a headless consumer may pass ``queue.put``."""
RECENT_FALLBACK = 8
FINDINGS_INTERVAL_S = 1.0
LIMITS_INTERVAL_S = 30.0
"""The plan limits (official, else the estimated block over 8 days of requests) are recomputed at most this
often, on a refresh: the top strip and the limit alerts follow within that."""
"""Budget and anomaly checks run at most this often (they re-read each changed session's requests)."""
"""Sessions shown when none was active in the window, so the dashboard is never empty for no reason."""
FIRST_BATCH_BYTES = 16 * 1024 * 1024
"""A backlog this big or more (a first index) is read newest files first, in batches: this much first, then
four times more each time, rows posted after each, so the dashboard shows the recent sessions within seconds
while the rest is indexed."""
BATCH_GROWTH = 4
ROWS_FIRST_AT = 64
"""From this many sessions on the dashboard, a full batch of rows is posted before their titles and the plan
limits are worked out (then a second one with them)."""


class _Stopped(Exception):
    """Raised inside a long refresh when the app quits."""


@dataclass
class _Request:
    kind: str
    args: dict[str, Any] = field(default_factory=dict)


def week_start(day: datetime) -> datetime:
    monday = day - timedelta(days=day.weekday())
    return monday.replace(hour=0, minute=0, second=0, microsecond=0)


def spend_of(sessions: dict[str, SessionStats], now: float) -> ev.Spend:
    """Today's and this week's (since Monday, local time) spend from the sessions' day buckets."""
    local = datetime.fromtimestamp(now)
    today = local.strftime("%Y-%m-%d")
    monday = week_start(local).strftime("%Y-%m-%d")
    spend = ev.Spend(day=today)
    for stats in sessions.values():
        for bucket in stats.buckets.values():
            if bucket.day == today:
                spend.today += bucket.cost
            if monday <= bucket.day <= today:
                spend.week += bucket.cost
    return spend


class Engine:
    """Runs ``run()`` on a worker thread; every public method except ``run`` is safe to call from any thread."""

    def __init__(
        self,
        factory: MonitorFactory,
        config: Config,
        post: Post,
        *,
        clock: Callable[[], float] = time.time,
        watch: bool = True,
        min_interval: float = 0.2,
        live_interval: float = 2.0,
        poll_interval: float = 2.0,
        limits_interval: float = LIMITS_INTERVAL_S,
    ) -> None:
        self.factory = factory
        self.config = config
        self.post = post
        self.clock = clock
        self.watch = watch
        self.min_interval = min_interval
        self.live_interval = live_interval
        self.poll_interval = poll_interval
        self.limits_interval = limits_interval
        self._limits: tuple[str, list] = ("", [])
        self._limits_at: float | None = None
        self.queue: queue.Queue[_Request] = queue.Queue()
        self.monitor: Monitor | None = None
        self.watcher: Watcher | None = None
        self._week: dict[str, SessionStats] = {}
        self._live: dict[str, LiveSession] = {}
        self._shown: dict[str, str] = {}
        self._titled: set[str] = set()
        self._compaction_checked: dict[
            str, float
        ] = {}  # session -> newest compaction whose retention was checked
        """Per session, the stats last posted (as JSON), so unchanged sessions are not posted again."""
        self._last_post = 0.0
        self._stopped = False
        self._pending_findings: set[str] = set()
        self._findings_initial = False
        self._findings_at = 0.0

    # ------------------------------------------------------------------ requests (any thread)

    def paths_changed(self, paths: set[Path]) -> None:
        self.queue.put(_Request("paths", {"paths": paths}))

    def request_detail(self, session_id: str) -> None:
        self.queue.put(_Request("detail", {"session_id": session_id}))

    def request_preview(self, session_id: str) -> None:
        self.queue.put(_Request("preview", {"session_id": session_id}))

    def request_history(
        self, since: float | None, until: float | None, group_by: str, present_only: bool = False
    ) -> None:
        """The history of a range (``present_only``: without archived requests, as ``--present-only``)."""
        args = {"since": since, "until": until, "group_by": group_by, "present_only": present_only}
        self.queue.put(_Request("history", args))

    def reconfigure(self, config: Config, reopen: bool = False) -> None:
        """Settings changed: recompute every row (``reopen``: the sources changed, open the index again)."""
        self.queue.put(_Request("config", {"config": config, "reopen": reopen}))

    def refresh_all(self) -> None:
        self.queue.put(_Request("refresh"))

    def stop(self) -> None:
        self._stopped = True
        self.queue.put(_Request("stop"))

    def start(self) -> threading.Thread:
        """``run`` on a daemon thread, for a headless consumer (the TUI runs it in a Textual worker)."""
        thread = threading.Thread(target=self.run, name="ctxtop-live", daemon=True)
        thread.start()
        return thread

    # ------------------------------------------------------------------ the thread

    def run(self) -> None:
        try:
            self._open()
            self._initial()
        except _Stopped:
            self._close()
            return
        except Exception as exc:  # noqa: BLE001 - shown to the user; the app keeps running
            log.exception("engine start failed")
            self.post(ev.EngineFailed(f"{type(exc).__name__}: {exc}"))
            return
        try:
            self._loop()
        finally:
            self._close()

    def _open(self) -> None:
        self.monitor = self.factory(self.config)

    def _start_watcher(self) -> None:
        if self.watch and self.watcher is None:
            assert self.monitor is not None
            self.watcher = Watcher(
                self.monitor.sources, self.paths_changed, poll_interval=self.poll_interval,
                clock=self.clock,
            )  # fmt: skip
            self.watcher.start()

    def _close(self) -> None:
        if self.watcher is not None:
            self.watcher.stop()
            self.watcher = None
        if self.monitor is not None:
            self.monitor.index.close()
            self.monitor = None

    def _initial(self) -> None:
        # A warm index answers at once: post what it knows, then read what changed since. A first index
        # shows its progress first (its rows, none yet, would read "No sessions yet").
        monitor = self.monitor
        assert monitor is not None
        warm = bool(monitor.index.files())
        if warm:
            self._post_all(files_read=0)
        pending = monitor.index.pending(monitor.sources)
        total_files, total_bytes = len(pending), sum(n for _, n in pending)
        if total_bytes >= FIRST_BATCH_BYTES:
            self.post(ev.IndexProgressed(0, total_files, 0, total_bytes))
        if not warm:
            self._post_all(files_read=0)
        done = [0, 0]  # files and bytes of the batches indexed so far
        last = [0.0]
        final: list[int] = []

        def progress(files: int, total: int, done_bytes: int, pass_bytes: int) -> None:
            if self._stopped:
                # Quitting during a first index: roll this batch back now; the next start resumes.
                raise _Stopped
            files, total = done[0] + files, max(total_files, done[0] + total)
            done_bytes, pass_bytes = done[1] + done_bytes, max(total_bytes, done[1] + pass_bytes)
            now = time.monotonic()
            # The last step ("all files") is posted only once the sessions are on their way: posting it
            # here hid the progress box while the index was still being written ("No sessions yet" flash).
            if now - last[0] >= 0.1 and files < total:
                last[0] = now
                self.post(ev.IndexProgressed(files, total, done_bytes, pass_bytes))
            final[:] = [files, total, done_bytes, pass_bytes]

        if total_bytes >= FIRST_BATCH_BYTES:
            final[:] = [0, total_files, 0, total_bytes]
            for batch in _batches(pending)[:-1]:  # the last one is read by the full update below
                result = monitor.refresh(only=[path for path, _ in batch], progress=progress)
                done[0] += len(batch)
                done[1] += sum(n for _, n in batch)
                # The findings (budgets, anomalies) wait for the whole history: they read every session.
                self._post_all(files_read=result.files_read, seconds=result.seconds, findings=False)
                last[0] = time.monotonic()
                self.post(ev.IndexProgressed(done[0], total_files, done[1], total_bytes))
        # Started before the full update lists the files: a change from now on is reported, one before is read.
        self._start_watcher()
        result = monitor.refresh(progress=progress)
        if result.files_read or result.changed_sessions or done[0]:  # changed without reading: deleted
            self._limits_at = None  # the plan limits of the history just read, not of the index before it
            self._post_all(files_read=result.files_read, seconds=result.seconds)
        if final:
            self.post(ev.IndexProgressed(final[1], final[1], final[3], final[3]))
        self._check_live(force=True)

    def _loop(self) -> None:
        next_live = time.monotonic() + self.live_interval
        while not self._stopped:
            try:
                first = self.queue.get(timeout=max(next_live - time.monotonic(), 0.01))
                batch = [first]
            except queue.Empty:
                batch = []
            paths: set[Path] = set()
            later: list[_Request] = []
            while True:
                for req in batch:
                    if req.kind == "stop":
                        return
                    if req.kind == "paths":
                        paths |= req.args["paths"]
                    else:
                        later.append(req)
                batch = self._drain()
                if not batch:
                    break
            try:
                for req in _dedupe(later):
                    self._handle(req)
                if paths:
                    wait = self._last_post + self.min_interval - time.monotonic()
                    if wait > 0:
                        # Coalesce: whatever arrives while we wait joins this refresh.
                        time.sleep(wait)
                        for req in self._drain():
                            if req.kind == "paths":
                                paths |= req.args["paths"]
                            else:
                                self.queue.put(req)
                    self._refresh(paths)
                if time.monotonic() >= next_live:
                    self._check_live()
                    next_live = time.monotonic() + self.live_interval
                self._flush_findings()
            except _Stopped:
                return  # the app is closing (e.g. quit during a re-index): nothing to report
            except Exception as exc:  # noqa: BLE001 - report, keep serving
                log.exception("engine request failed")
                self.post(ev.EngineFailed(f"{type(exc).__name__}: {exc}"))

    def _drain(self) -> list[_Request]:
        out: list[_Request] = []
        while True:
            try:
                out.append(self.queue.get_nowait())
            except queue.Empty:
                return out

    def _handle(self, req: _Request) -> None:
        if req.kind == "detail":
            self._detail(req.args["session_id"])
        elif req.kind == "preview":
            assert self.monitor is not None
            stats = self.monitor.index.session(req.args["session_id"])
            view = self.monitor.view(stats) if stats is not None else None
            self.post(ev.SessionPreviewLoaded(req.args["session_id"], view))
        elif req.kind == "history":
            self._history(
                req.args["since"], req.args["until"], req.args["group_by"], req.args["present_only"]
            )
        elif req.kind == "config":
            self.config = req.args["config"]
            if req.args["reopen"]:
                self._close()
                self._open()
                self._initial()
            else:
                assert self.monitor is not None
                self.monitor.config = self.config
                self._post_all()
        elif req.kind == "refresh":
            assert self.monitor is not None
            result = self.monitor.refresh()
            self._post_all(files_read=result.files_read, seconds=result.seconds)

    # ------------------------------------------------------------------ work

    def _cutoff(self) -> float:
        return self.clock() - float(self.config.get("ui.active_hours")) * 3600

    def _week_since(self) -> float:
        # A day early: buckets are per local day and a session may have started before Monday.
        return week_start(datetime.fromtimestamp(self.clock())).timestamp() - 86400

    def _post_all(self, files_read: int = 0, seconds: float = 0.0, findings: bool = True) -> None:
        monitor = self.monitor
        assert monitor is not None
        week_since = self._week_since()
        week = monitor.index.sessions(since=week_since)
        self._week = {s.session_id: s for s in week}
        self._shown.clear()
        cutoff = self._cutoff()
        # The live dashboard shows sessions that still have a transcript; the week's spend counts them all.
        if cutoff >= week_since:
            active = [s for s in week if (s.last_ts or 0) >= cutoff and not s.transcript_deleted]
        else:
            active = monitor.index.sessions(since=cutoff, with_deleted=False)
        recent_only = not active
        if recent_only:
            active = monitor.index.sessions(with_deleted=False)[:RECENT_FALLBACK]
        for stats in active:
            self._differs(stats)
            # Compactions already there at start-up are history: only new ones are checked for lost tasks.
            self._compaction_checked[stats.session_id] = max((c.ts for c in stats.compactions), default=0.0)
        self._last_post = time.monotonic()
        with settings_snapshot():  # each (config dir, cwd)'s settings looked at once, not once per session
            views = [monitor.view(s) for s in active]
        # On a big history, the rows first: titles (a read of each transcript's head) and plan limits (8 days
        # of requests) take longer than the rows; they follow in a second full batch of the same rows.
        rows_first = self._limits_at is None and len(active) >= ROWS_FIRST_AT
        self.post(
            ev.SessionsUpdated(
                views, self._spend(limits=not rows_first), initial=True, recent_only=recent_only,
                files_read=files_read, seconds=seconds, titles={} if rows_first else self._titles_of(active),
            )
        )  # fmt: skip
        if rows_first:
            self.post(
                ev.SessionsUpdated(
                    views, self._spend(), initial=True, recent_only=recent_only,
                    titles=self._titles_of(active),
                )
            )  # fmt: skip
        if findings:
            self._find([s.session_id for s in active], initial=True)

    def _refresh(self, paths: set[Path]) -> None:
        monitor = self.monitor
        assert monitor is not None
        result = monitor.refresh(only=sorted(paths))
        if not result.changed_sessions:
            return
        # Most appended lines (user turns, progress, hooks) change no number: post only real changes.
        changed = [s for s in monitor.index.sessions(ids=result.changed_sessions) if self._differs(s)]
        if not changed:
            return
        if any(s.transcript_deleted for s in changed):
            # A transcript was deleted: its session leaves the dashboard (a full batch replaces the rows).
            self._post_all(files_read=result.files_read, seconds=result.seconds)
            return
        since = self._week_since()
        for stats in changed:
            if (stats.last_ts or 0) >= since:
                self._week[stats.session_id] = stats
            self._check_compaction(stats)
        self._last_post = time.monotonic()
        self.post(
            ev.SessionsUpdated(
                [monitor.view(s) for s in changed], self._spend(),
                files_read=result.files_read, seconds=result.seconds, titles=self._titles_of(changed),
            )
        )  # fmt: skip
        self._find([s.session_id for s in changed])

    def _spend(self, limits: bool = True) -> ev.Spend:
        """The week's spend and the plan limits (official or estimated) with their alerts (``limits=False``:
        the plan limits last computed, not again even if due)."""
        now = self.clock()
        spend = spend_of(self._week, now)
        due = self._limits_at is None or time.monotonic() - self._limits_at >= self.limits_interval
        if limits and due and self.monitor is not None:
            from ctxtop.services import limits as plan_limits

            self._limits_at = time.monotonic()
            try:
                self._limits = plan_limits.strip(self.monitor, now)
            except Exception:  # noqa: BLE001 - limits that cannot be computed must not stop the dashboard
                log.exception("plan limits failed")
        spend.limits, spend.limit_alerts = self._limits[0], list(self._limits[1])
        return spend

    def _find(self, session_ids: list[str], initial: bool = False) -> None:
        """Queue the budget and anomaly checks of these sessions; run them now if they are due."""
        if initial:
            self._pending_findings.clear()
            self._findings_initial = True
        self._pending_findings.update(session_ids)
        self._flush_findings()

    def _flush_findings(self) -> None:
        """Post the checks of the queued sessions, at most every ``FINDINGS_INTERVAL_S`` (never failing)."""
        if not (self._pending_findings or self._findings_initial):
            return
        if not self._findings_initial and time.monotonic() - self._findings_at < FINDINGS_INTERVAL_S:
            return  # the loop flushes the queue once the interval has passed
        from ctxtop.services import anomalies, budgets

        assert self.monitor is not None
        ids, initial = sorted(self._pending_findings), self._findings_initial
        self._pending_findings.clear()
        self._findings_initial = False
        self._findings_at = time.monotonic()
        now = self.clock()
        try:
            verdicts = budgets.verdicts_for(self.monitor.index, self.config.budgets, ids, now)
            found = anomalies.live(self.monitor.index, self.config.anomaly_rules, ids, now)
        except Exception:  # noqa: BLE001 - an alert that cannot be computed must not stop the dashboard
            log.exception("budget and anomaly checks failed")
            return
        self.post(ev.FindingsUpdated(verdicts, found, initial=initial))

    def _check_compaction(self, stats: SessionStats) -> None:
        """A new compaction, once a request after it is recorded (its summary and hook context are written by
        then): post the open tasks of ctxtop's notes the model did not see again."""
        from ctxtop.services.context import lost_open_tasks

        newest = max((c.ts for c in stats.compactions), default=0.0)
        if not newest or newest <= self._compaction_checked.get(stats.session_id, 0.0):
            return
        if (stats.last_ts or 0) <= newest:
            return
        self._compaction_checked[stats.session_id] = newest
        assert self.monitor is not None
        latest = lost_open_tasks(self.monitor.index, stats.session_id)
        if latest is not None:
            tasks = [f.text for f in latest.lost_open_tasks]
            self.post(
                ev.CompactionLostTasks(
                    stats.session_id, stats.cwd, latest.score, tasks, latest.notes_reinjected
                )
            )

    def _titles_of(self, sessions: list[SessionStats]) -> dict[str, str]:
        """Titles of sessions not titled yet (read once each, from the head of the transcript)."""
        assert self.monitor is not None
        found: dict[str, str] = {}
        for stats in sessions:
            sid = stats.session_id
            if sid in self._titled:
                continue
            path = self.monitor.index.transcript_path(sid)
            # A source titles its sessions (Claude Code's summary or first request, Codex's first request).
            own = getattr(kind(stats.source), "session_title", None)
            title = own([path] if path else []) if own is not None else None
            # A session whose first request is not written yet is asked again on its next change.
            if title:
                self._titled.add(sid)
                found[sid] = title
        return found

    def _differs(self, stats: SessionStats) -> bool:
        key = json.dumps(metrics.to_json(stats), sort_keys=True)
        if self._shown.get(stats.session_id) == key:
            return False
        self._shown[stats.session_id] = key
        return True

    def _check_live(self, force: bool = False) -> None:
        assert self.monitor is not None
        claude = self.monitor.sources.of(ClaudeCode)
        live = live_sessions(claude.config_dirs if claude is not None else ())
        if force or live != self._live:
            self._live = live
            self.post(ev.LiveChanged(dict(live)))

    def _detail(self, session_id: str) -> None:
        monitor = self.monitor
        assert monitor is not None
        stats = monitor.index.session(session_id)
        if stats is None:
            self.post(ev.SessionDetailLoaded(session_id, None))
            return
        from ctxtop.services.context_io import session_breakdown

        view = monitor.view(stats)
        # The breakdown reads a Claude Code transcript; a tool that compacts by itself (Codex) has none.
        found = (
            session_breakdown(monitor.index, session_id, forensics=True)
            if view.compaction.threshold_applies
            else None
        )
        self.post(
            ev.SessionDetailLoaded(
                session_id, view, monitor.index.tool_outputs(session_id, 8),
                monitor.index.subagents(session_id), monitor.index.transcript_path(session_id),
                noise_rows(monitor, session_id, stats), found.breakdown if found else None,
                found.compactions if found else None,
            )
        )  # fmt: skip

    def _history(
        self, since: float | None, until: float | None, group_by: str, present_only: bool = False
    ) -> None:
        monitor = self.monitor
        assert monitor is not None
        sessions = monitor.index.sessions(since, until, present_only=present_only)
        since_day = datetime.fromtimestamp(since).strftime("%Y-%m-%d") if since is not None else None
        until_day = datetime.fromtimestamp(until - 1).strftime("%Y-%m-%d") if until is not None else None
        totals = (
            report.group(sessions, group_by, since_day, until_day)
            if group_by not in ("session", "tool")
            else []
        )
        daily = report.group(sessions, "day", since_day, until_day)
        rollup = []
        if group_by == "tool":
            from ctxtop.services.context import tool_rollup

            rollup = tool_rollup(monitor.index, sessions)
        views = [monitor.view(s) for s in sessions]
        self.post(
            ev.HistoryLoaded(since, until, group_by, views, totals, daily, rollup, present_only=present_only)
        )


def _batches(pending: list[tuple[Path, int]]) -> list[list[tuple[Path, int]]]:
    """``pending`` (newest first) cut into batches of ``FIRST_BATCH_BYTES``, then each ``BATCH_GROWTH`` times
    the last: few batches (each costs a commit and a post), the first one small."""
    batches: list[list[tuple[Path, int]]] = [[]]
    size, limit = 0, FIRST_BATCH_BYTES
    for item in pending:
        if size >= limit:
            batches.append([])
            size, limit = 0, limit * BATCH_GROWTH
        batches[-1].append(item)
        size += item[1]
    return batches


def _dedupe(requests: list[_Request]) -> list[_Request]:
    """Identical queries asked several times while the engine was busy run once."""
    out: list[_Request] = []
    seen: set[tuple] = set()
    for req in reversed(requests):
        key = (req.kind, tuple(sorted((k, repr(v)) for k, v in req.args.items())))
        if key not in seen:
            seen.add(key)
            out.append(req)
    return out[::-1]


def noise_rows(monitor: Monitor, session_id: str, stats: SessionStats) -> list[OutputSaving] | None:
    """What the output filter saved in this session, per output (None when the filter log is not available)."""
    since = datetime.fromtimestamp(stats.first_ts).strftime("%Y-%m-%d") if stats.first_ts else None
    try:
        return session_savings(monitor.index, session_id, since)
    except Exception:  # noqa: BLE001 - the noise panel is optional; never break the detail screen
        log.exception("noise panel")
        return None
