"""Where the context goes: the main chain's prompt split into the pieces that filled it, and what each cost.

Exact in total, apportioned in detail. For main-chain request k with prompt P_k (input + cache read + cache
write) and output O_k, what was added since request k-1 is exactly ``delta_k = P_k - (P_(k-1) + O_(k-1))``
(after a compaction, ``P_k - base``). That delta goes to the pieces recorded between the two requests (tool
results, user messages, attachments, the compaction summary), split in proportion to their counted size
(tiktoken cl100k, a stand-in for Claude's tokenizer) with the largest-remainder rule, so the parts are whole
tokens that add up to the delta. O_k goes to the assistant message of request k. Request 1's prompt is the
base (system prompt, tool definitions, memory files) plus the pieces before it, which get their counted size
(scaled down if they would not fit): the base is the rest. So at every request the live items sum to P_k.

Rules for the deltas that do not fit that picture (each keeps the total exact):

- *Negative delta* (the API drops the thinking of earlier turns, a rewind abandons a branch, Claude Code
  edits the cache): the new pieces still get their counted size (at most P_k), and the difference comes out
  of the items before them, newest first (the previous answer's thinking is usually what went).
- *No piece to give a positive delta to* (system reminders, a retried request): an "unattributed" item.
- *Compaction*: every item but the base leaves the context; the base keeps its size (at most P_k) and the
  first request after it is ``P_k - base`` of new pieces (summary, re-attached files, hook context).
- Subagent chains and the summariser call are not the main chain: they re-read their own context, which no
  item of the main chain fills; ``SessionStats.main_reread_cost`` leaves them out too.
- A resumed or forked session repeats requests the index gives to another session: they fill the window, and
  their re-reads are charged to their owner (``owned``).

The tax: request k re-reads ``R_k = min(P_k, P_(k-1) + O_(k-1))`` tokens (0 right after a compaction), the
figure ``core.metrics`` sums. They are the oldest part of the context (the cached prefix), so R_k is charged
to the live items oldest first, and its billing split (``metrics.reread_split``: cache reads, cache writes,
uncached input) is laid over the items in the same order. Each part is priced at request k's rates, so the
items' charges add up exactly, Decimal for Decimal, to ``SessionStats.main_reread_cost``.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from ctxtop.core.format import tokens as tokens_text
from ctxtop.core.metrics import Req, reread_split
from ctxtop.core.pricing import MILLION, SYNTHETIC, PriceBook
from ctxtop.core.report import money

KINDS = ("base", "tool", "mcp", "user", "attachment", "summary", "assistant", "unattributed")
"""Item kinds, in the order the stacked bar shows them."""

KIND_TITLES = {
    "base": "base",
    "tool": "tool results",
    "mcp": "MCP",
    "user": "your messages",
    "attachment": "attachments",
    "summary": "compaction summary",
    "assistant": "assistant",
    "unattributed": "unattributed",
}


@dataclass(frozen=True, slots=True)
class Piece:
    """Something the transcript shows entering the context between two requests."""

    kind: str
    group: str
    """The tool ("Read", "Bash"), MCP server ("mcp__github"), attachment type ("memory", "hook context")..."""
    label: str
    """What it was: a file path, a command, an MCP tool, the first words of a message."""
    weight: int = 0
    """Tokens counted without text (images), added to the count of ``text``."""
    text: str = ""
    """What the model received; counted (tiktoken) only when a delta is split between several pieces."""

    def size(self, count: Callable[[str], int] | None = None) -> int:
        """Its counted size (``count``, default tiktoken): the weight it gets when the exact delta is split."""
        return self.weight + (count or weigh)(self.text)


@dataclass(frozen=True, slots=True)
class Sent:
    """A main-chain request: its usage closes the pieces recorded since the previous one."""

    req: Req
    output: Piece
    """The assistant message it produced (its weight is unused: O_k is exact)."""
    key: str = ""
    """``message.id:requestId``, the index's deduplication key."""


@dataclass(frozen=True, slots=True)
class Boundary:
    """A compaction between two requests (Claude Code's ``compact_boundary``, an API compaction)."""

    ts: float


Event = Piece | Sent | Boundary


@dataclass(slots=True)
class Item:
    """One piece of the context with its exact share of the prompts and what re-reading it cost."""

    kind: str
    group: str
    label: str
    request: int
    """The request (1-based, main chain) whose prompt first held it; for an assistant item, the one that wrote it."""
    added: int
    """Tokens it held when it entered."""
    tokens: int
    """Tokens it holds now (less than ``added`` when a shrink took from it; 0 once compacted away)."""
    live: bool = True
    """Still in the context (not compacted away)."""
    reread_tokens: int = 0
    reread_cost: Decimal = Decimal(0)
    rereads: int = 0
    """How many later requests re-read (part of) it."""

    @property
    def title(self) -> str:
        return f"{self.group} {self.label}".strip() if self.label else self.group


@dataclass(slots=True)
class Step:
    """One main-chain request as the breakdown saw it."""

    ts: float
    prompt: int
    output: int
    delta: int
    reread: int
    compacted: bool
    live: dict[int, int] = field(default_factory=dict)
    """Item index -> tokens at this request (only with ``keep_steps``): they sum to ``prompt``."""


@dataclass(slots=True)
class Breakdown:
    items: list[Item] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)
    reread_tokens: int = 0
    reread_cost: Decimal = Decimal(0)
    unpriced_reread_tokens: int = 0
    """Re-read tokens of requests whose model has no price (charged no dollars)."""

    @property
    def context(self) -> int | None:
        """The latest request's prompt: what the live items (without its own output) add up to."""
        return self.steps[-1].prompt if self.steps else None

    def live(self) -> list[Item]:
        """What fills the window now: the items of the latest prompt (the latest answer not yet re-sent)."""
        if not self.steps:
            return []
        last = len(self.steps)
        return [
            i for i in self.items if i.live and i.tokens and not (i.kind == "assistant" and i.request == last)
        ]

    def costliest(self, n: int = 10) -> list[Item]:
        """The items whose re-reads cost most (tokens break ties: unpriced sessions still rank)."""
        ranked = sorted(self.items, key=lambda i: (-i.reread_cost, -i.reread_tokens, i.request))
        return [i for i in ranked[:n] if i.reread_tokens]

    def by_kind(self) -> dict[str, int]:
        """Live tokens per kind, in ``KINDS`` order; sums to ``context``."""
        totals = dict.fromkeys(KINDS, 0)
        for item in self.live():
            totals[item.kind] += item.tokens
        return {k: v for k, v in totals.items() if v}

    def by_group(self) -> list[Group]:
        """Every item of the session summed per (kind, group): the per-tool totals."""
        groups: dict[tuple[str, str], Group] = {}
        live = {id(i) for i in self.live()}
        for item in self.items:
            g = groups.get((item.kind, item.group))
            if g is None:
                g = groups[(item.kind, item.group)] = Group(item.kind, item.group)
            g.items += 1
            g.added += item.added
            g.live += item.tokens if id(item) in live else 0
            g.reread_tokens += item.reread_tokens
            g.reread_cost += item.reread_cost
        return sorted(groups.values(), key=lambda g: (-g.reread_cost, -g.reread_tokens, -g.added))


@dataclass(slots=True)
class Group:
    kind: str
    group: str
    items: int = 0
    added: int = 0
    live: int = 0
    reread_tokens: int = 0
    reread_cost: Decimal = Decimal(0)


def weigh(text: str) -> int:
    """tiktoken's count of ``text`` (four characters a token when no encoding loads)."""
    from ctxtop.core.filters.tokens import count_tokens, estimate_tokens  # the encoding loads on first use

    if not text:
        return 0
    counted = count_tokens(text)
    return counted if counted is not None else estimate_tokens(len(text))


def rough(text: str) -> int:
    """Four characters a token: for surfaces whose time budget cannot pay for loading tiktoken."""
    return (len(text) + 3) // 4


def apportion(total: int, weights: Sequence[int]) -> list[int]:
    """``total`` split in proportion to ``weights`` in whole parts that sum to it (largest remainder).

    Equal weights when every weight is 0; ties go to the earlier piece.
    """
    if not weights:
        return []
    ws = [max(w, 0) for w in weights]
    whole = sum(ws)
    if whole == 0:
        ws, whole = [1] * len(ws), len(ws)
    parts = [total * w // whole for w in ws]
    left = total - sum(parts)
    order = sorted(range(len(ws)), key=lambda i: (-(total * ws[i] % whole), i))
    for i in order[:left]:
        parts[i] += 1
    return parts


def build(
    events: Iterable[Event],
    prices: PriceBook,
    *,
    keep_steps: bool = False,
    count: Callable[[str], int] | None = None,
    owned: Collection[str] | None = None,
) -> Breakdown:
    """The breakdown of one main chain, from its events in file order. ``count`` weighs a piece's text when
    a delta is split between several (default: tiktoken, ``weigh``); totals are exact whatever it is.

    ``owned``: the request keys the index gives this session. A resumed or forked session's file repeats
    requests another session owns: they still fill the window, but their re-reads are the owner's, so only
    a request that follows an owned one is charged (as ``core.metrics`` chains the owned requests)."""
    out = Breakdown()
    items = out.items
    live: list[int] = []  # indexes into items, oldest first
    pending: list[Piece] = []
    compacted = False
    base: int | None = None
    carried = 0  # P_(k-1) + O_(k-1): what the live items sum to between requests
    previous_mine = True
    for event in events:
        if isinstance(event, Piece):
            pending.append(event)
            continue
        if isinstance(event, Boundary):
            compacted = True
            continue
        req = event.req
        if req.model == SYNTHETIC:
            continue  # a placeholder Claude Code wrote locally: no request reached the API
        k = len(out.steps) + 1
        prompt = req.tokens.prompt
        mine = owned is None or event.key in owned or event.key.startswith("line:")
        reread = 0 if compacted or k == 1 or not (mine and previous_mine) else min(prompt, carried)
        previous_mine = mine
        if reread:
            _charge(out, [items[i] for i in live], req, reread, prices)
        if k == 1:
            weights = [p.size(count) for p in pending]
            parts = apportion(prompt, [max(prompt - sum(weights), 0), *weights])
            base = len(items)
            items.append(Item("base", "base", "system prompt, tools, memory", 1, parts[0], parts[0]))
            live = [base]
            live += _add(items, pending, parts[1:], k)
            delta = prompt
        else:
            if compacted:
                for i in live:
                    if i != base:
                        items[i].live = False
                        items[i].tokens = 0
                live = [base] if base is not None else []
                if base is not None:
                    items[base].tokens = min(items[base].tokens, prompt)
                    items[base].live = True
                carried = sum(items[i].tokens for i in live)
            delta = prompt - carried
            if delta >= 0:
                if pending:
                    # One piece takes the whole delta: only several need counting.
                    sizes = [p.size(count) for p in pending] if len(pending) > 1 else [1]
                    live += _add(items, pending, apportion(delta, sizes), k)
                elif delta:
                    items.append(Item("unattributed", "unattributed", "", k, delta, delta))
                    live.append(len(items) - 1)
            else:
                sizes = [p.size(count) for p in pending]
                credit = min(sum(sizes), prompt)
                _shrink([items[i] for i in live], carried - prompt + credit)
                live += _add(items, pending, apportion(credit, sizes), k)
        step = Step(req.ts, prompt, req.tokens.output, delta, reread, compacted)
        pending = []
        compacted = False
        if keep_steps:
            step.live = {i: items[i].tokens for i in live}
        out.steps.append(step)
        o = event.output
        items.append(Item("assistant", o.group, o.label, k, req.tokens.output, req.tokens.output))
        live.append(len(items) - 1)
        carried = prompt + req.tokens.output
    return out


def _add(items: list[Item], pieces: list[Piece], parts: list[int], k: int) -> list[int]:
    start = len(items)
    for piece, tokens in zip(pieces, parts, strict=True):
        items.append(Item(piece.kind, piece.group, piece.label, k, tokens, tokens))
    return list(range(start, len(items)))


def _shrink(live: list[Item], amount: int) -> None:
    """Take ``amount`` tokens out of the live items, newest first."""
    for item in reversed(live):
        if amount <= 0:
            return
        take = min(item.tokens, amount)
        item.tokens -= take
        amount -= take


def _charge(out: Breakdown, live: list[Item], req: Req, reread: int, prices: PriceBook) -> None:
    """Charge request ``req``'s ``reread`` tokens to the live items, oldest first, as the request billed them."""
    split = reread_split(req.tokens, reread)
    rates = prices.rates(req.model, req.ts, req.tokens.prompt, req.service_tier, req.speed)
    # The billing buckets in prefix order, each with its rate per million tokens (None: no price).
    left_in = [split.cache_read, split.cache_write_1h, split.cache_write_5m, split.input]
    prices_of = [rates.cache_read, rates.cache_write_1h, rates.cache_write_5m, rates.input] if rates else None
    out.reread_tokens += reread
    if rates is None:
        out.unpriced_reread_tokens += reread
    left = reread
    b = 0
    for item in live:
        if left <= 0:
            break
        take = min(item.tokens, left)
        if not take:
            continue
        left -= take
        item.reread_tokens += take
        item.rereads += 1
        while take:
            while not left_in[b]:
                b += 1
            n = min(take, left_in[b])
            left_in[b] -= n
            take -= n
            if prices_of is not None:
                cost = n * prices_of[b] / MILLION
                item.reread_cost += cost
                out.reread_cost += cost


def summary(bd: Breakdown, *, detail: int = 3) -> str:
    """ "context 112K = base 18K + tool results 61K (Read 34K, of which a.py 12K; Bash 20K) + ..." (exact sum)."""
    if bd.context is None:
        return "no main-chain request yet"
    live = bd.live()
    parts = []
    for kind, tokens in bd.by_kind().items():
        part = f"{KIND_TITLES[kind]} {tokens_text(tokens)}"
        if kind in ("tool", "mcp", "attachment"):
            groups: dict[str, list[Item]] = {}
            for item in live:
                if item.kind == kind:
                    groups.setdefault(item.group, []).append(item)
            ranked = sorted(groups.items(), key=lambda g: -sum(i.tokens for i in g[1]))[:detail]
            inner = []
            for name, members in ranked:
                top = max(members, key=lambda i: i.tokens)
                text = f"{name} {tokens_text(sum(i.tokens for i in members))}"
                if len(members) > 1 and top.label:
                    text += f", of which {_base_name(top.label)} {tokens_text(top.tokens)}"
                inner.append(text)
            part += f" ({'; '.join(inner)})"
        parts.append(part)
    return f"context {tokens_text(bd.context)} = " + " + ".join(parts)


def largest_category(bd: Breakdown) -> tuple[str, int] | None:
    """The category holding most of the window now (the statusline segment): a tool or MCP server by name
    ("Read"), else a kind ("base", "your messages")."""
    totals: dict[str, int] = {}
    for item in bd.live():
        name = item.group if item.kind in ("tool", "mcp") else KIND_TITLES[item.kind]
        totals[name] = totals.get(name, 0) + item.tokens
    if not totals:
        return None
    name = max(totals, key=lambda n: totals[n])
    return name, totals[name]


def segment(bd: Breakdown) -> str | None:
    """ "Read 31%": the largest category's share of the window now."""
    top = largest_category(bd)
    if top is None or not bd.context:
        return None
    return f"{top[0]} {top[1] * 100 // bd.context}%"


def _base_name(label: str, width: int = 40) -> str:
    """A label short enough for one line: a path's file name, else the label clipped."""
    if "/" in label and " " not in label:
        label = label.rsplit("/", 1)[-1]
    return label if len(label) <= width else label[: width - 1] + "…"


def item_dict(item: Item) -> dict[str, object]:
    return {
        "kind": item.kind, "group": item.group, "label": item.label, "request": item.request,
        "tokens_added": item.added, "tokens_now": item.tokens, "live": item.live, "rereads": item.rereads,
        "reread_tokens": item.reread_tokens, "reread_cost_usd": money(item.reread_cost),
    }  # fmt: skip


def as_dict(bd: Breakdown, session_id: str) -> dict[str, object]:
    """The ``report context --json`` document (money as ten-decimal strings, like every report)."""
    return {
        "session_id": session_id,
        "context_tokens": bd.context,
        "requests": len(bd.steps),
        "by_kind": bd.by_kind(),
        "reread_tokens": bd.reread_tokens,
        "reread_cost_usd": money(bd.reread_cost),
        "unpriced_reread_tokens": bd.unpriced_reread_tokens,
        "groups": [
            {
                "kind": g.kind,
                "group": g.group,
                "items": g.items,
                "tokens_added": g.added,
                "tokens_now": g.live,
                "reread_tokens": g.reread_tokens,
                "reread_cost_usd": money(g.reread_cost),
            }
            for g in bd.by_group()
        ],  # fmt: skip
        "items": [item_dict(i) for i in sorted(bd.items, key=lambda i: (-i.reread_cost, -i.reread_tokens))],
    }


@dataclass(slots=True)
class Rollup:
    """One tool or category of one project, summed over its sessions: what its re-reads cost there."""

    project: str
    kind: str
    group: str
    sessions: int = 0
    items: int = 0
    added: int = 0
    reread_tokens: int = 0
    reread_cost: Decimal = Decimal(0)

    @property
    def name(self) -> str:
        """The tool or MCP server by name, else the category (``attachments: memory``)."""
        if self.kind in ("tool", "mcp"):
            return self.group
        title = KIND_TITLES[self.kind]
        return (
            title
            if self.group in (self.kind, title, "base", "compaction summary")
            else f"{title}: {self.group}"
        )

    def as_dict(self) -> dict[str, object]:
        return {"project": self.project, "kind": self.kind, "group": self.group, "name": self.name,
                "sessions": self.sessions, "items": self.items, "tokens_added": self.added,
                "reread_tokens": self.reread_tokens, "reread_cost_usd": money(self.reread_cost)}  # fmt: skip


def rollup(sessions: Iterable[tuple[str, Sequence[Group]]]) -> list[Rollup]:
    """Per-tool totals of many sessions per project, costliest first within each project (projects in order
    of their total re-read cost)."""
    rows: dict[tuple[str, str, str], Rollup] = {}
    for project, groups in sessions:
        for g in groups:
            row = rows.get((project, g.kind, g.group))
            if row is None:
                row = rows[(project, g.kind, g.group)] = Rollup(project, g.kind, g.group)
            row.sessions += 1
            row.items += g.items
            row.added += g.added
            row.reread_tokens += g.reread_tokens
            row.reread_cost += g.reread_cost
    spent: dict[str, Decimal] = {}
    for row in rows.values():
        spent[row.project] = spent.get(row.project, Decimal(0)) + row.reread_cost
    return sorted(
        rows.values(), key=lambda r: (-spent[r.project], r.project, -r.reread_cost, -r.reread_tokens)
    )
