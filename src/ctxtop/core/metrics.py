"""Per-session numbers computed from deduplicated requests: spend, context fill, re-reads, cache health, burn.

Re-read ratio (per chain: the main chain and each subagent chain separately). For request k of a chain let
P_k = input + cache_read + cache_write and O_k = output; C_(k-1) = P_(k-1) + O_(k-1), reset to 0 at a
compact boundary. Re-read tokens R_k = min(P_k, C_(k-1)). Session re-read ratio = ΣR / ΣP.
The compaction call re-reads the main chain's context (it summarises it).
Cache share of re-reads = Σ min(cache_read_k, R_k) / ΣR: per request, so a cache read that re-reads nothing
(a subagent's first request reading the shared system prompt) cannot count. Cache-miss cost: the re-read
tokens that were not cache reads, priced at what the request paid for its non-cached prompt tokens minus the
cache-read price.

Re-read cost (what the re-reads were billed, exact): R_k split by how request k billed its prompt, the cached
prefix first (``reread_split``: cache reads, then cache writes, 1h before 5m as the API orders them, then
uncached input), each part at that request's rate. ``core.breakdown`` charges the same split to the items that
were re-read, so the per-item charges of the main chain sum to ``main_reread_cost`` exactly.

Context (what the fill is made of) is Claude Code's own figure: the prompt of the main chain's latest request
(input + cache read + cache write), without its output.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from ctxtop.core.pricing import MILLION, NO_COST, SYNTHETIC, Cost, PriceBook, Rates, cost_at
from ctxtop.core.records import MAIN
from ctxtop.core.usage import ZERO, Tokens

IDLE_GAP = 5 * 60
"""A gap between requests longer than this is idle time: excluded from burn rate, and it expires a 5m cache."""
CACHE_TTL_5M = 5 * 60
CACHE_TTL_1H = 60 * 60


@dataclass(slots=True)
class Req:
    """One deduplicated, billed request as the index stores it."""

    chain: str
    ts: float
    model: str
    tokens: Tokens
    """Top-level usage: what this request's context held."""
    billed: Tokens
    """What was billed: ``tokens`` plus server-side compaction iterations."""
    web_search: int = 0
    web_fetch: int = 0
    service_tier: str | None = None
    speed: str | None = None
    is_compaction_call: bool = False
    reasoning: int = 0
    """Output tokens spent reasoning (a part of ``tokens.output``; Codex logs them, Claude Code does not)."""


STATS_VERSION = 4
"""Bumped whenever a cached figure changes meaning (2: context is the prompt only, per-request cache share;
3: re-read cost in dollars; 4: a cache expiry needs a cache write)."""


@dataclass(slots=True)
class Compaction:
    ts: float
    trigger: str
    pre_tokens: int
    post_tokens: int | None
    """None when the boundary record does not say (Claude Code 2.0.76 and 2.1.39 write no ``postTokens``)."""


@dataclass(slots=True)
class Turn:
    """One main-chain request, for the per-turn chart."""

    ts: float
    context: int
    prompt: int
    reread: int
    cache_read: int
    compacted_before: bool
    cost: Decimal | None


@dataclass(slots=True)
class CacheExpiry:
    ts: float
    idle_seconds: float
    tokens_rewritten: int
    extra_cost: Decimal


@dataclass(slots=True)
class Bucket:
    """Spend of one session on one local day with one model (the unit of the daily/models reports)."""

    day: str
    model: str
    tokens: Tokens = ZERO
    cost: Decimal = Decimal(0)
    unknown_tokens: Tokens = ZERO
    requests: int = 0


def local_day(ts: float) -> str:
    return time.strftime("%Y-%m-%d", time.localtime(ts))


@dataclass(slots=True)
class SessionStats:
    session_id: str
    source: str = "claude"
    cwd: str | None = None
    git_branch: str | None = None
    version: str | None = None
    models: list[str] = field(default_factory=list)
    first_ts: float | None = None
    last_ts: float | None = None
    tokens: Tokens = ZERO
    web_search: int = 0
    web_fetch: int = 0
    reasoning_tokens: int = 0
    """Output tokens spent reasoning, where the log says (Codex): a part of ``tokens.output``."""
    cost: Cost = NO_COST
    """Cost of the requests whose model is priced."""
    unknown_cost_tokens: Tokens = ZERO
    """Tokens of requests whose model genai-prices does not know (never priced as another model)."""
    unknown_models: list[str] = field(default_factory=list)
    estimated: list[str] = field(default_factory=list)
    """Why part of the cost is an estimate (a batch/fast request priced at the base rate), one per reason."""
    subagent_cost: Decimal = Decimal(0)
    subagent_tokens: Tokens = ZERO
    context_tokens: int | None = None
    """Prompt tokens of the main chain's latest request; None when the session has no main-chain request."""
    max_context: int = 0
    """The largest main-chain prompt the session reached (tells a 1M window from a 200K one)."""
    context_model: str | None = None
    prompt_tokens: int = 0
    reread_tokens: int = 0
    cache_read_tokens: int = 0
    cache_miss_cost: Decimal = Decimal(0)
    reread_cost: Decimal = Decimal(0)
    """What the re-read tokens were billed, every chain (priced requests only)."""
    main_reread_tokens: int = 0
    main_reread_cost: Decimal = Decimal(0)
    """The main chain's share of ``reread_tokens``/``reread_cost``: what ``core.breakdown`` charges to items."""
    compactions: list[Compaction] = field(default_factory=list)
    turns: int = 0
    requests: int = 0
    active_seconds: float = 0.0
    expiries: list[CacheExpiry] = field(default_factory=list)
    per_turn: list[Turn] = field(default_factory=list)
    buckets: dict[str, Bucket] = field(default_factory=dict)
    archived_requests: int = 0
    """Requests kept by the index after every transcript holding them was deleted (not in ``to_json``)."""
    transcript_deleted: bool = False
    """The session's main transcript is gone (Claude Code's cleanup): its totals come from the index."""

    @property
    def cost_usd(self) -> Decimal | None:
        """Known cost; None when nothing in the session could be priced."""
        if self.unknown_cost_tokens.total and not self.cost.total and not self._any_priced:
            return None
        return self.cost.total

    _any_priced: bool = True

    @property
    def reread_ratio(self) -> float:
        return self.reread_tokens / self.prompt_tokens if self.prompt_tokens else 0.0

    @property
    def cache_share_of_rereads(self) -> float:
        if not self.reread_tokens:
            return 0.0
        return min(1.0, self.cache_read_tokens / self.reread_tokens)

    @property
    def burn_usd_per_hour(self) -> Decimal:
        if self.active_seconds < 60:
            return Decimal(0)
        return self.cost.total * Decimal(3600) / Decimal(str(round(self.active_seconds, 3)))

    @property
    def tokens_per_minute(self) -> float:
        if self.active_seconds < 60:
            return 0.0
        return self.tokens.total * 60 / self.active_seconds


def compute(
    session_id: str,
    requests: Sequence[Req],
    compactions: Iterable[Compaction],
    prices: PriceBook,
    *,
    keep_turns: bool = False,
    per_request: list[tuple[int, int]] | None = None,
) -> SessionStats:
    """All numbers of one session. ``requests`` must be in time order (ties in file order).

    ``per_request``, when given, receives (re-read tokens, context after) of each request in that order
    (the OTLP export's per-span figures: the same computation, not a second one)."""
    return compute_rows(
        session_id,
        [row_of(r) for r in requests],
        compactions,
        prices,
        keep_turns=keep_turns,
        per_request=per_request,
    )


Row = tuple
"""A request as ``compute_rows`` reads it, the index's columns in this order: chain, ts, model, the top-level
tokens (input, output, cache read, cache write 5m, 1h), the billed ones (the same five), web search, web fetch,
service tier, speed, is the compaction call (0/1), reasoning tokens (None: 0)."""


def row_of(r: Req) -> Row:
    """``r`` as a ``Row``."""
    t, b = r.tokens, r.billed
    return (r.chain, r.ts, r.model, t.input, t.output, t.cache_read, t.cache_write_5m, t.cache_write_1h,
            b.input, b.output, b.cache_read, b.cache_write_5m, b.cache_write_1h, r.web_search, r.web_fetch,
            r.service_tier, r.speed, r.is_compaction_call, r.reasoning)  # fmt: skip


def req_of(row: Row) -> Req:
    """A ``Row`` as a ``Req``."""
    return Req(row[0], row[1], row[2], Tokens(*row[3:8]), Tokens(*row[8:13]), row[13], row[14], row[15], row[16],
               bool(row[17]), row[18] or 0)  # fmt: skip


def _minutes_exact() -> bool:
    """Whether the local day is the same all through a UTC minute (from 1973 on, ``MINUTES_FROM``): every time
    zone offset in the tz database since 1972 is a whole number of minutes and changes on a whole minute; a
    POSIX TZ string may give seconds."""
    return not (time.timezone % 60 or time.altzone % 60)


MINUTES_FROM = 1e8
"""1973-03-03: before it, offsets in seconds existed."""


def _day_of() -> Callable[[float], str]:
    """``local_day``, memoized per UTC minute where that is exact (``_minutes_exact``)."""
    if not _minutes_exact():
        return local_day
    days: dict[int, str] = {}

    def day_of(ts: float) -> str:
        if ts < MINUTES_FROM:
            return local_day(ts)
        minute = int(ts // 60)
        day = days.get(minute)
        if day is None:
            day = days[minute] = local_day(ts)
        return day

    return day_of


def compute_rows(
    session_id: str,
    rows: Sequence[Row],
    compactions: Iterable[Compaction],
    prices: PriceBook,
    *,
    keep_turns: bool = False,
    per_request: list[tuple[int, int]] | None = None,
) -> SessionStats:
    """``compute`` on plain rows (``Row``), as the index reads them: no object per request.

    Cost is linear in the tokens at one rate: the tokens are summed per (rates, bucket, chain kind) and each sum
    priced once at the end (``_price_sums``), equal to the sum of per-request costs (exact Decimal products and
    sums, no rounding at these magnitudes). A per-request cost is computed only for the turns."""
    stats = SessionStats(session_id=session_id)
    # Keyed by the rates' identity (PriceBook memoizes them; hashing their Decimals per request costs more).
    sums: dict[tuple[int, tuple[str, str], bool], list] = {}
    reread_sums: dict[tuple[int, bool], list] = {}
    boundaries = sorted(compactions, key=lambda c: c.ts)
    stats.compactions = list(boundaries)
    bound_ts = [c.ts for c in boundaries]
    n_bounds = len(bound_ts)
    previous: dict[str, tuple[float, int]] = {}  # chain -> (ts, context)
    boundary_i = 0  # the main chain's next boundary
    any_priced = False
    models: dict[str, Decimal] = {}
    # Per (local day, model), in first-seen order: [requests, tokens x5, unknown tokens x5].
    buckets: dict[tuple[str, str], list] = {}
    day_rates: dict[tuple, tuple[tuple[int, ...], tuple[Rates | None, ...]]] = {}
    day_of = _day_of()
    # A request's circumstances (UTC minute, model, tier, speed) -> its bucket and the rates of its day: one
    # lookup for the requests of one minute alike (the local day is the minute's: ``_minutes_exact``).
    contexts: dict[tuple, tuple] = {}
    by_minute = _minutes_exact()
    t_i = t_o = t_cr = t_w5 = t_w1 = 0  # the billed tokens' sums
    n = web_search = web_fetch = reasoning = prompts = rereads = reread_cache = main_rereads = 0
    unknown = [0, 0, 0, 0, 0]
    sub_tot = [0, 0, 0, 0, 0]
    last_main_ts: float | None = None
    last_any_ts: float | None = None
    any_active = 0.0  # active time over every chain: used when the session has no main-chain request
    first_ts = last_ts = None
    turns = 0
    for row in rows:
        (chain, ts, model, i, o, cr, w5, w1, bi, bo, bcr, bw5, bw1, ws, wf, tier, speed, is_compaction_call,
         ro) = row  # fmt: skip
        n += 1
        t_i += bi
        t_o += bo
        t_cr += bcr
        t_w5 += bw5
        t_w1 += bw1
        web_search += ws
        web_fetch += wf
        if ro:
            reasoning += ro
        if first_ts is None:
            first_ts = last_ts = ts
        elif ts < first_ts:
            first_ts = ts
        elif ts > last_ts:
            last_ts = ts
        context_key = (int(ts // 60), model, tier, speed) if by_minute and ts >= MINUTES_FROM else None
        context = contexts.get(context_key) if context_key is not None else None
        if context is None:
            bucket_key = (day_of(ts), model)
            bucket = buckets.get(bucket_key)
            if bucket is None:
                bucket = buckets[bucket_key] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
            by_tier = None
            if model != SYNTHETIC:
                models.setdefault(model, Decimal(0))
                rate_key = (model, int(ts // 86400), tier == "batch", speed)
                by_tier = day_rates.get(rate_key)
                if by_tier is None:
                    by_tier = day_rates[rate_key] = prices.day_rates(model, ts, tier, speed)
            context = (bucket_key, bucket, by_tier)
            if context_key is not None:
                contexts[context_key] = context
        bucket_key, bucket, by_tier = context
        sub = chain != MAIN
        synthetic = by_tier is None
        prompt = i + cr + w5 + w1
        # A server-side compaction pass is billed beyond the top-level usage, priced at its own tier.
        compaction_pass = bi + bo + bcr + bw5 + bw1 > prompt + o
        rates = passes_rates = None
        if by_tier is not None:
            starts, tiered = by_tier
            if not starts:
                rates = tiered[0]
            else:
                crossed = 0
                for start in starts:
                    if prompt > start:
                        crossed += 1
                rates = tiered[crossed]
            if rates is not None and compaction_pass:
                passes_prompt = bi + bcr + bw5 + bw1 - prompt
                crossed = 0
                for start in starts:
                    if passes_prompt > start:
                        crossed += 1
                passes_rates = tiered[crossed]
        priced = synthetic or (rates is not None and (not compaction_pass or passes_rates is not None))
        if not priced:
            unknown[0] += bi
            unknown[1] += bo
            unknown[2] += bcr
            unknown[3] += bw5
            unknown[4] += bw1
            bucket[6] += bi
            bucket[7] += bo
            bucket[8] += bcr
            bucket[9] += bw5
            bucket[10] += bw1
            if model not in stats.unknown_models:
                stats.unknown_models.append(model)
        else:
            any_priced = True
            if rates is not None:
                key = (id(rates), bucket_key, sub)
                acc = sums.get(key)
                if acc is None:
                    sums[key] = [rates, i, o, cr, w5, w1, ws]
                else:
                    acc[1] += i
                    acc[2] += o
                    acc[3] += cr
                    acc[4] += w5
                    acc[5] += w1
                    acc[6] += ws
                if passes_rates is not None:
                    key = (id(passes_rates), bucket_key, sub)
                    acc = sums.get(key)
                    if acc is None:
                        acc = sums[key] = [passes_rates, 0, 0, 0, 0, 0, 0]
                    acc[1] += bi - i
                    acc[2] += bo - o
                    acc[3] += bcr - cr
                    acc[4] += bw5 - w5
                    acc[5] += bw1 - w1
            if tier == "batch" or (speed and speed != "standard"):
                why = prices.estimate_reason(model, ts, tier, speed)
                if why and why not in stats.estimated:
                    stats.estimated.append(why)
        bucket[0] += 1
        bucket[1] += bi
        bucket[2] += bo
        bucket[3] += bcr
        bucket[4] += bw5
        bucket[5] += bw1
        if sub:
            sub_tot[0] += bi
            sub_tot[1] += bo
            sub_tot[2] += bcr
            sub_tot[3] += bw5
            sub_tot[4] += bw1
        if synthetic:
            # Claude Code's local placeholders: no request reached the API.
            if per_request is not None:
                per_request.append((0, 0))
            continue

        # Re-reads, per chain; a compact boundary between two main-chain requests resets the context.
        prev = previous.get(chain)
        compacted = False
        if is_compaction_call and prev is None:
            # The summariser request reads the main chain's whole context.
            prev = previous.get(MAIN)
        if not sub:
            while boundary_i < n_bounds and bound_ts[boundary_i] <= ts:
                if prev is not None and bound_ts[boundary_i] >= prev[0]:
                    compacted = True
                boundary_i += 1
        if compaction_pass:
            compacted = True
        carried = 0 if prev is None or compacted else prev[1]
        reread = prompt if prompt < carried else carried
        prompts += prompt
        if reread:
            rereads += reread
            reread_cache += cr if cr < reread else reread
            if not sub:
                main_rereads += reread
            if priced and rates is not None:
                # The re-read tokens by how they were billed, the cached prefix first (``reread_split``).
                left = reread
                take_cr = cr if cr < left else left
                left -= take_cr
                take_w1 = w1 if w1 < left else left
                left -= take_w1
                take_w5 = w5 if w5 < left else left
                left -= take_w5
                take_i = i if i < left else left
                key2 = (id(rates), not sub)
                acc = reread_sums.get(key2)
                if acc is None:
                    reread_sums[key2] = [rates, take_i, 0, take_cr, take_w5, take_w1, 0]
                else:
                    acc[1] += take_i
                    acc[3] += take_cr
                    acc[4] += take_w5
                    acc[5] += take_w1
            if priced and reread > cr:
                miss = reread - cr
                paid_tokens = i + w5 + w1
                if rates is not None and paid_tokens:
                    # What ``cost_at`` gives for these tokens, summed (exact) before the one division.
                    paid = (i * rates.input + w5 * rates.cache_write_5m + w1 * rates.cache_write_1h) / MILLION
                    per_token = paid / paid_tokens
                    extra = miss * (per_token - rates.cache_read / MILLION)
                    if extra > 0:
                        stats.cache_miss_cost += extra
                        if prev is not None and not sub and not compacted:
                            idle = ts - prev[0]
                            ttl = CACHE_TTL_1H if w1 else CACHE_TTL_5M
                            # An expiry shows as the cache written again; a request that writes none (OpenAI
                            # caches by itself and bills no writes, a client that does not cache) had none.
                            if idle > ttl and w5 + w1:
                                stats.expiries.append(CacheExpiry(ts, idle, miss, extra))
        context = prompt + o
        previous[chain] = (ts, context)
        if per_request is not None:
            per_request.append((reread, context))
        if last_any_ts is not None:
            gap = ts - last_any_ts
            any_active += IDLE_GAP if gap > IDLE_GAP else (gap if gap > 0.0 else 0.0)
        last_any_ts = ts
        if not sub and not is_compaction_call:
            turns += 1
            stats.context_tokens = prompt
            if prompt > stats.max_context:
                stats.max_context = prompt
            stats.context_model = model
            if last_main_ts is not None:
                gap = ts - last_main_ts
                stats.active_seconds += gap if gap < IDLE_GAP else IDLE_GAP
            last_main_ts = ts
            if keep_turns:
                cost = request_cost(prices, req_of(row))
                stats.per_turn.append(
                    Turn(ts, prompt, prompt, reread, cr, compacted, cost.total if cost is not None else None)
                )
    stats.requests, stats.turns, stats.web_search, stats.web_fetch = n, turns, web_search, web_fetch
    stats.reasoning_tokens, stats.prompt_tokens, stats.reread_tokens = reasoning, prompts, rereads
    stats.cache_read_tokens, stats.main_reread_tokens = reread_cache, main_rereads
    stats.first_ts, stats.last_ts = first_ts, last_ts
    stats.tokens = Tokens(t_i, t_o, t_cr, t_w5, t_w1)
    stats.unknown_cost_tokens = Tokens(*unknown)
    stats.subagent_tokens = Tokens(*sub_tot)
    for (day, model), b in buckets.items():
        stats.buckets[f"{day}|{model}"] = Bucket(
            day, model, Tokens(*b[1:6]), Decimal(0), Tokens(*b[6:11]), b[0]
        )
    if stats.context_tokens is None:
        # Only subagent files are left (the main transcript is gone): time and burn come from their requests.
        stats.active_seconds = any_active
    stats._any_priced = any_priced or not n
    _price_sums(stats, sums, reread_sums, models)
    stats.models = [m for m, _ in sorted(models.items(), key=lambda kv: -kv[1])]
    return stats


def _price_sums(
    stats: SessionStats,
    sums: dict[tuple[int, tuple[str, str], bool], list],
    reread_sums: dict[tuple[int, bool], list],
    models: dict[str, Decimal],
) -> None:
    """Each token sum priced once, at its rate, into the session's, buckets', models' and subagents' cost."""
    cost = NO_COST
    for (_, (day, model), sub), (rates, inp, out, read, w5, w1, ws) in sums.items():
        part = cost_at(rates, Tokens(inp, out, read, w5, w1), ws)
        total = part.total
        cost = cost + part
        stats.buckets[f"{day}|{model}"].cost += total
        if model != SYNTHETIC:
            models[model] += total
        if sub:
            stats.subagent_cost += total
    stats.cost = cost
    for (_, main), (rates, inp, _, read, w5, w1, _) in reread_sums.items():
        total = cost_at(rates, Tokens(inp, 0, read, w5, w1)).total
        stats.reread_cost += total
        if main:
            stats.main_reread_cost += total


def _passes(req: Req) -> Tokens:
    """The tokens of a request's server-side compaction passes (billed beyond its top-level usage)."""
    b, t = req.billed, req.tokens
    return Tokens(
        b.input - t.input, b.output - t.output, b.cache_read - t.cache_read,
        b.cache_write_5m - t.cache_write_5m, b.cache_write_1h - t.cache_write_1h,
    )  # fmt: skip


def request_cost(prices: PriceBook, req: Req) -> Cost | None:
    """A request's cost; a server-side compaction pass is its own sampling step, priced at its own tier."""
    cost = prices.cost(req.model, req.ts, req.tokens, req.web_search, req.service_tier, req.speed)
    if cost is None or not _has_compaction(req):
        return cost
    extra = prices.cost(req.model, req.ts, _passes(req), 0, req.service_tier, req.speed)
    return cost + extra if extra is not None else None


def reread_split(tokens: Tokens, reread: int) -> Tokens:
    """The ``reread`` tokens of a request by how they were billed, the cached prefix first.

    A prompt is billed prefix first: what the cache held (cache reads), then what was written to it (1h
    entries before 5m ones, the order the API requires), then the uncached tail (input).
    """
    left = reread
    parts = []
    for available in (tokens.cache_read, tokens.cache_write_1h, tokens.cache_write_5m, tokens.input):
        take = min(left, available)
        parts.append(take)
        left -= take
    read, write_1h, write_5m, fresh = parts
    return Tokens(fresh, 0, read, write_5m, write_1h)


def reread_cost(prices: PriceBook, req: Req, reread: int) -> Decimal:
    """What the ``reread`` tokens of ``req`` were billed (exact); 0 when its model has no price."""
    rates = prices.rates(req.model, req.ts, req.tokens.prompt, req.service_tier, req.speed)
    if rates is None:
        return Decimal(0)
    return cost_at(rates, reread_split(req.tokens, reread)).total


def _has_compaction(req: Req) -> bool:
    """A request that ran a server-side compaction pass starts from a fresh, summarised context."""
    return req.billed.total > req.tokens.total


# --- storage codec: the index caches each session's stats as JSON and rebuilds only sessions that changed ---


def _tok(t: Tokens) -> list[int]:
    return [t.input, t.output, t.cache_read, t.cache_write_5m, t.cache_write_1h]


def _untok(v: list[int]) -> Tokens:
    return Tokens(*v)


def to_json(s: SessionStats) -> dict:
    c = s.cost
    return {
        "v": STATS_VERSION,
        "session_id": s.session_id,
        "source": s.source,
        "cwd": s.cwd,
        "git_branch": s.git_branch,
        "version": s.version,
        "models": s.models,
        "first_ts": s.first_ts,
        "last_ts": s.last_ts,
        "tokens": _tok(s.tokens),
        "web_search": s.web_search,
        "web_fetch": s.web_fetch,
        "reasoning_tokens": s.reasoning_tokens,
        "cost": [
            str(x)
            for x in (c.input, c.output, c.cache_read, c.cache_write_5m, c.cache_write_1h, c.web_search)
        ],
        "unknown_cost_tokens": _tok(s.unknown_cost_tokens),
        "unknown_models": s.unknown_models,
        "estimated": s.estimated,
        "subagent_cost": str(s.subagent_cost),
        "subagent_tokens": _tok(s.subagent_tokens),
        "context_tokens": s.context_tokens,
        "max_context": s.max_context,
        "context_model": s.context_model,
        "prompt_tokens": s.prompt_tokens,
        "reread_tokens": s.reread_tokens,
        "cache_read_tokens": s.cache_read_tokens,
        "cache_miss_cost": str(s.cache_miss_cost),
        "reread_cost": str(s.reread_cost),
        "main_reread": [s.main_reread_tokens, str(s.main_reread_cost)],
        "compactions": [[x.ts, x.trigger, x.pre_tokens, x.post_tokens] for x in s.compactions],
        "turns": s.turns,
        "requests": s.requests,
        "active_seconds": s.active_seconds,
        "expiries": [[x.ts, x.idle_seconds, x.tokens_rewritten, str(x.extra_cost)] for x in s.expiries],
        "any_priced": s._any_priced,
        "buckets": [
            [b.day, b.model, _tok(b.tokens), str(b.cost), _tok(b.unknown_tokens), b.requests]
            for b in s.buckets.values()
        ],
    }


def from_json(d: dict) -> SessionStats:
    s = SessionStats(session_id=d["session_id"])
    s.source = d["source"]
    s.cwd = d["cwd"]
    s.git_branch = d["git_branch"]
    s.version = d["version"]
    s.models = d["models"]
    s.first_ts = d["first_ts"]
    s.last_ts = d["last_ts"]
    s.tokens = _untok(d["tokens"])
    s.web_search = d["web_search"]
    s.web_fetch = d["web_fetch"]
    s.reasoning_tokens = d.get("reasoning_tokens", 0)  # stats cached before it was counted: none had any
    s.cost = Cost(*(Decimal(x) for x in d["cost"]))
    s.unknown_cost_tokens = _untok(d["unknown_cost_tokens"])
    s.unknown_models = d["unknown_models"]
    s.estimated = d.get("estimated", [])
    s.subagent_cost = Decimal(d["subagent_cost"])
    s.subagent_tokens = _untok(d["subagent_tokens"])
    s.context_tokens = d["context_tokens"]
    s.max_context = d.get("max_context", s.context_tokens)
    s.context_model = d["context_model"]
    s.prompt_tokens = d["prompt_tokens"]
    s.reread_tokens = d["reread_tokens"]
    s.cache_read_tokens = d["cache_read_tokens"]
    s.cache_miss_cost = Decimal(d["cache_miss_cost"])
    s.reread_cost = Decimal(d.get("reread_cost", "0"))
    main_reread = d.get("main_reread", [0, "0"])
    s.main_reread_tokens, s.main_reread_cost = main_reread[0], Decimal(main_reread[1])
    s.compactions = [Compaction(*x) for x in d["compactions"]]
    s.turns = d["turns"]
    s.requests = d["requests"]
    s.active_seconds = d["active_seconds"]
    s.expiries = [CacheExpiry(x[0], x[1], x[2], Decimal(x[3])) for x in d["expiries"]]
    s._any_priced = d["any_priced"]
    for day, model, tok, cost, unknown, n in d["buckets"]:
        s.buckets[f"{day}|{model}"] = Bucket(day, model, _untok(tok), Decimal(cost), _untok(unknown), n)
    return s
