"""One session in depth: fill gauge, context per turn, spend, cache health, noisy tool outputs, subagents."""

from __future__ import annotations

import time
from decimal import Decimal

from rich.table import Table
from rich.text import Text
from textual import getters
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from ctxtop.core import format as fmt
from ctxtop.core.breakdown import KIND_TITLES, Breakdown
from ctxtop.core.filters.tokens import estimate_tokens
from ctxtop.core.forensics import Retention
from ctxtop.core.pricing import fmt_usd
from ctxtop.core.report import SessionView
from ctxtop.core.session_ids import short_id
from ctxtop.services.noise import OutputSaving
from ctxtop.ui.app import CtxtopApp
from ctxtop.ui.messages import SessionDetailLoaded
from ctxtop.ui.widgets.breakdown_bar import BreakdownBar
from ctxtop.ui.widgets.chart import ColumnChart, context_series
from ctxtop.ui.widgets.gauge import Gauge


def _clock(ts: float | None) -> str:
    return time.strftime("%m-%d %H:%M", time.localtime(ts)) if ts else "-"


def _command(command: str, width: int, cwd: str | None) -> str:
    """One line; paths relative to the session's cwd; a path keeps its end (the file name), a command its start."""
    text = " ".join(command.split()) or "-"
    if cwd:
        text = text.replace(cwd.rstrip("/") + "/", "")
    if len(text) <= width:
        return text
    if "/" in text and " " not in text:
        return "…" + text[-(width - 1) :]
    return text[: width - 1] + "…"


def _table(title: str, *columns: str, right: tuple[int, ...] = (), flex: int = 0) -> Table:
    """A borderless table filling its panel under a bold title; column ``flex`` takes the spare width."""
    table = Table(box=None, title=title, title_justify="left", title_style="bold", header_style="dim", show_header=any(columns),
                  pad_edge=False, padding=(0, 1), expand=True)  # fmt: skip
    for i, name in enumerate(columns):
        table.add_column(name, justify="right" if i in right else "left", no_wrap=True, overflow="ellipsis",
                         ratio=1 if i == flex else None)  # fmt: skip
    return table


RELOAD_EVERY = 2.0
CHART_TITLE = "Context per turn · dark: re-read · light: new · ◆ compaction · ╌ threshold"


class DetailScreen(Screen):
    app = getters.app(CtxtopApp)  # self.app typed as ctxtop's App (Textual's getter; asserts the type)
    CSS_PATH = "detail.tcss"
    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("n", "notes", "Notes"),
        Binding("c", "compact", "Compact now"),
        Binding("r", "reload", "Reload", show=False),
    ]

    def __init__(self, session_id: str) -> None:
        super().__init__()
        self.session_id = session_id
        self.message: SessionDetailLoaded | None = None
        self._last_request = 0.0
        self._reload_pending = False

    def compose(self) -> ComposeResult:
        yield Static("Loading…", id="title")
        with VerticalScroll(id="body"):
            yield Gauge(id="gauge")
            yield Static(CHART_TITLE, classes="section-title", id="chart-title")
            yield ColumnChart(id="chart")
            yield Static("What fills the window now (exact in total; split by counted size)", classes="section-title",
                         id="breakdown-title")  # fmt: skip
            yield BreakdownBar(id="breakdown")
            with Horizontal(id="columns"):
                with Vertical(id="left"):
                    yield Static(id="costliest", classes="panel")
                    yield Static(id="spend", classes="panel")
                    yield Static(id="cache", classes="panel")
                with Vertical(id="right"):
                    yield Static(id="per-tool", classes="panel")
                    yield Static(id="tools", classes="panel")
                    yield Static(id="subagents", classes="panel")
                    yield Static(id="compactions", classes="panel")
            yield Static(id="noise", classes="panel")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#noise").display = False
        self._request()

    def on_resize(self) -> None:
        # The header is fitted to the width: refit it.
        if self.message is not None and self.message.view is not None:
            self.query_one("#title", Static).update(self._title(self.message.view))

    # ------------------------------------------------------------------ data

    def sessions_changed(self, ids: set[str], initial: bool) -> None:
        if not (initial or self.session_id in ids) or self._reload_pending:
            return
        # The detail re-reads the session's files for its tool outputs: at most every RELOAD_EVERY seconds.
        wait = self._last_request + RELOAD_EVERY - time.monotonic()
        if wait <= 0:
            self._request()
        else:
            self._reload_pending = True
            self.set_timer(wait, self._request)

    def _request(self) -> None:
        self._reload_pending = False
        self._last_request = time.monotonic()
        self.app.engine.request_detail(self.session_id)

    def detail_loaded(self, message: SessionDetailLoaded) -> None:
        if message.session_id != self.session_id:
            return
        self.message = message
        view = message.view
        if view is None:
            self.query_one("#title", Static).update(f"Session {self.session_id} is not in the index.")
            return
        self.query_one("#title", Static).update(self._title(view))
        self.query_one(Gauge).view = view
        self.query_one(ColumnChart).series = context_series(view, with_times=True)
        self.query_one("#spend", Static).update(self._spend(view))
        self.query_one("#cache", Static).update(self._cache(view))
        self.query_one(BreakdownBar).breakdown = message.breakdown
        self.query_one("#costliest", Static).update(self._costliest(message.breakdown, view))
        self.query_one("#per-tool", Static).update(self._per_tool(message.breakdown))
        self.query_one("#tools", Static).update(self._tools(message))
        self.query_one("#subagents", Static).update(self._subagents(message))
        self.query_one("#compactions", Static).update(self._compactions(view, message.retention))
        noise = self.query_one("#noise", Static)
        noise.display = bool(message.noise)
        if message.noise:
            noise.update(self._noise(message.noise))

    def _title(self, view: SessionView) -> Text:
        s = view.stats
        live = self.app.live.get(s.session_id)
        rest = f"  {fmt.model(s.context_model or (s.models[0] if s.models else None))}"
        if s.git_branch and s.git_branch != "HEAD":  # outside a repository Claude Code writes "HEAD"
            rest += f"  ⎇ {s.git_branch}"
        rest += f"  {short_id(s.session_id)}"
        if live is not None:
            rest += f"  ● {live.status} (pid {live.pid})"
        rest += (
            f"  {s.turns} turns · {s.requests} requests · last {fmt.ago(self.app.clock() - (s.last_ts or 0))}"
        )
        # The project takes what the rest leaves (the end of its path tells it apart), then the title.
        width = (self.size.width or self.app.size.width) - 2
        project = fmt.project(s.cwd, max(12, min(60, width - len(rest))))
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(project, "bold")
        text.append(rest)
        title = self.app.titles.get(s.session_id)
        room = width - len(project) - len(rest) - 3
        if title and room > 8:
            text.append(" · " + (title if len(title) <= room else title[: room - 1] + "…"), "italic")
        return text

    def _spend(self, view: SessionView) -> Table:
        s = view.stats
        c = s.cost
        t = s.tokens
        table = _table("Spend", "", "USD", "tokens", right=(1, 2))
        for label, usd, tok in (
            ("input", c.input, t.input), ("output", c.output, t.output), ("cache read", c.cache_read, t.cache_read),
            ("cache write 5m", c.cache_write_5m, t.cache_write_5m), ("cache write 1h", c.cache_write_1h, t.cache_write_1h),
        ):  # fmt: skip
            table.add_row(label, fmt.usd(usd, 4 if usd and usd < 1 else 2), fmt.tokens(tok))
        table.add_row("web search", fmt.usd(c.web_search), f"{s.web_search} req")
        table.add_row(Text("total", "bold"), Text(fmt.usd(s.cost_usd), "bold"), fmt.tokens(t.total))
        if s.subagent_tokens.total:
            table.add_row(
                "  of which subagents", fmt.usd(s.subagent_cost), fmt.tokens(s.subagent_tokens.total)
            )
        if s.unknown_models:
            table.add_row("unpriced", ", ".join(s.unknown_models), fmt.tokens(s.unknown_cost_tokens.total))
        burn = fmt.usd(s.burn_usd_per_hour) + "/h" if s.burn_usd_per_hour else "-"
        table.add_row("burn rate", burn, f"{s.active_seconds / 60:.0f} min active")
        return table

    def _cache(self, view: SessionView) -> Table:
        s = view.stats
        table = _table("Cache health", "", "", right=(1,))
        table.add_row("re-read share of prompts", fmt.pct(s.reread_ratio))
        table.add_row("cache share of re-reads", fmt.pct(s.cache_share_of_rereads))
        table.add_row("cache-miss cost", fmt.usd(s.cache_miss_cost, 4 if s.cache_miss_cost < 1 else 2))
        table.add_row("expiries after idle gaps", str(len(s.expiries)))
        for e in sorted(s.expiries, key=lambda e: -e.extra_cost)[:3]:
            table.add_row(f"  {_clock(e.ts)} after {fmt.age(e.idle_seconds)} idle",
                          f"+{fmt.usd(e.extra_cost, 4 if e.extra_cost < 1 else 2)}")  # fmt: skip
        return table

    def _costliest(self, bd: Breakdown | None, view: SessionView) -> Table | Text:
        if bd is None:
            return Text("No transcript to break down.", "dim")
        top = bd.costliest(8)
        if not top:
            return Text("Nothing re-read yet.", "dim")
        title = f"Costliest re-reads · {fmt.tokens(bd.reread_tokens)} re-read, {fmt.usd(bd.reread_cost, 4 if bd.reread_cost < 1 else 2)}"
        table = _table(title, "item", "added", "×", "cost", right=(1, 2, 3), flex=0)
        width = max(20, self.size.width // 2 - 30)
        for item in top:
            label = (
                f"{item.group} {_command(item.label, width, view.stats.cwd)}" if item.label else item.group
            )
            table.add_row(label, fmt.tokens(item.added), str(item.rereads),
                          fmt.usd(item.reread_cost, 4 if item.reread_cost < 1 else 2))  # fmt: skip
        return table

    def _per_tool(self, bd: Breakdown | None) -> Table | Text:
        if bd is None or not bd.items:
            return Text("")
        table = _table(
            "Per tool and category", "group", "items", "in context", "re-read cost", right=(1, 2, 3), flex=0
        )
        for g in bd.by_group()[:8]:
            name = g.group if g.kind in ("tool", "mcp") else f"{KIND_TITLES[g.kind]}: {g.group}"
            if g.kind in ("base", "summary", "unattributed") or g.group == KIND_TITLES[g.kind]:
                name = KIND_TITLES[g.kind]
            table.add_row(name, str(g.items), fmt.tokens(g.live),
                          fmt.usd(g.reread_cost, 4 if g.reread_cost < 1 else 2))  # fmt: skip
        return table

    def _tools(self, message: SessionDetailLoaded) -> Table | Text:
        if message.view is not None and message.view.stats.transcript_deleted:
            # Only the index's totals outlive the transcript: say what went with it.
            return Text(
                "Transcript deleted (Claude Code's cleanup): totals, turns and compactions are kept from "
                "ctxtop's index; tool outputs and the notes rebuild are no longer available.",
                "italic",
            )
        if not message.tool_outputs:
            return Text("No tool outputs recorded.", "dim")
        table = _table("Largest tool outputs", "tool", "command or file", "tokens", right=(2,), flex=1)
        width = max(20, self.size.width // 2 - 24)
        cwd = message.view.stats.cwd if message.view else None
        for row in message.tool_outputs:
            label = Text(row.tool + (" ✗" if row.is_error else ""))
            tokens = (
                fmt.tokens(row.tokens)
                if row.tokens is not None
                else "~" + fmt.tokens(estimate_tokens(row.chars))
            )
            table.add_row(label, _command(row.command, width, cwd), tokens)
        return table

    def _subagents(self, message: SessionDetailLoaded) -> Table | Text:
        if not message.subagents:
            return Text("No subagents.", "dim")
        table = _table("Subagents", "chain", "requests", "tokens", right=(1, 2))
        for chain, requests, tokens in message.subagents:
            table.add_row(chain, str(requests), fmt.tokens(tokens or 0))
        return table

    def _compactions(self, view: SessionView, retention: list[Retention] | None) -> Table | Text:
        if not view.stats.compactions:
            return Text("No compactions.", "dim")
        table = _table("Compactions · what of ctxtop's notes survived", "when", "trigger", "before → after", "notes kept",
                       right=(2,), flex=3)  # fmt: skip
        # The transcript's boundaries in order are the index's (API compactions have no text to check).
        kept = {round(r.ts, 3): r for r in retention or []}
        width = max(20, self.size.width // 2 - 8)
        for c in view.stats.compactions:
            r = kept.get(round(c.ts, 3))
            score = "-" if r is None else r.score + (" (notes re-injected)" if r.notes_reinjected else "")
            style = "bold" if r is not None and r.lost_open_tasks else ""
            table.add_row(
                _clock(c.ts),
                c.trigger,
                f"{fmt.tokens(c.pre_tokens)} → {'?' if c.post_tokens is None else fmt.tokens(c.post_tokens)}",
                Text(score, style),
            )
            for fact in r.lost if r is not None else []:
                table.add_row(
                    "",
                    "",
                    "",
                    Text(_command(f"lost {fact.kind}: {fact.text}", width, view.stats.cwd), "italic"),
                )
        return table

    def _noise(self, rows: list[OutputSaving]) -> Table:
        # The noise report's own figures (``core.noise.saving``): credited raw tokens, removed, worth.
        table = _table(
            "Noise removed by the output filter",
            "command",
            "raw",
            "kept",
            "removed",
            "worth",
            right=(1, 2, 3, 4),
        )
        for r in sorted(rows, key=lambda r: -r.saving.raw_tokens)[:8]:
            s = r.saving
            table.add_row(r.command[:60], fmt.tokens(s.raw_tokens), fmt.tokens(s.filtered_tokens),
                          _removed(s.removed_tokens), _worth(s.worth_usd))  # fmt: skip
        removed = sum(r.saving.removed_tokens for r in rows)
        worths = [r.saving.worth_usd for r in rows]
        worth = (
            None if any(w is None for w in worths) else sum((w for w in worths if w is not None), Decimal(0))
        )
        table.add_row(Text(f"{len(rows)} outputs", "bold"), fmt.tokens(sum(r.saving.raw_tokens for r in rows)),
                      fmt.tokens(sum(r.saving.filtered_tokens for r in rows)), _removed(removed), _worth(worth))  # fmt: skip
        return table

    # ------------------------------------------------------------------ actions

    def current_session(self) -> str:
        return self.session_id

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_reload(self) -> None:
        self._request()

    def action_notes(self) -> None:
        self.app.open_notes(self.session_id)

    def action_compact(self) -> None:
        self.app.compact_now(self.session_id)


def _removed(tokens: int) -> str:
    """Removed tokens; negative (an output Claude Code would have cut to a preview anyway) said as such."""
    return fmt.tokens(tokens) + (" (negative)" if tokens < 0 else "")


def _worth(usd: Decimal | None) -> str:
    return "unpriced" if usd is None else fmt_usd(usd, 4)  # as `ctxtop report noise` shows it
