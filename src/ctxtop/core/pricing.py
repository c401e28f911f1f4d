"""Prices from genai-prices' bundled snapshot, as exact Decimals.

Rules (each tested against real transcripts):
- 1h cache writes at their own rate (2x input where the snapshot gives none: Anthropic's published rule);
- a request whose prompt (input + cache read + cache write) exceeds a model's tier threshold is priced
  entirely at the tier rate, for the models that have one;
- ``service_tier`` "batch" at the snapshot's batch variant, ``speed`` "fast" at the fast variant;
- an unknown model is never priced as another: its cost is None and callers count it separately;
- user overrides (``[prices."model-prefix"]`` in the config TOML, USD per million tokens) win.

genai-prices never fetches anything here: only ``data_snapshot.get_snapshot()`` is used, which is the snapshot
bundled in the wheel. Loading it imports pydantic (~0.1 s of every cold start), so the entries ctxtop reads of
it (the providers in ``PROVIDERS``) are also kept as a table (``price_table.json``, written by
``scripts/price_table.py`` from the pinned genai-prices), used only while the installed genai-prices' data and
code are byte for byte those it was built from; otherwise the snapshot answers, as before. The table answers
exactly as genai-prices does (``tests/core/test_price_table.py`` asks both every model, date, variant and tier).
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from ctxtop.core.usage import Tokens

if TYPE_CHECKING:
    from genai_prices.data_snapshot import DataSnapshot
    from genai_prices.types import ModelInfo

MILLION = Decimal(1_000_000)
THOUSAND = Decimal(1000)
ZERO = Decimal(0)
SYNTHETIC = "<synthetic>"


@dataclass(frozen=True, slots=True)
class Rates:
    """USD per million tokens (web search: per thousand requests) for one request's circumstances."""

    input: Decimal
    output: Decimal
    cache_read: Decimal
    cache_write_5m: Decimal
    cache_write_1h: Decimal
    web_search: Decimal = ZERO
    source: str = "genai-prices"


@dataclass(frozen=True, slots=True)
class Cost:
    input: Decimal = ZERO
    output: Decimal = ZERO
    cache_read: Decimal = ZERO
    cache_write_5m: Decimal = ZERO
    cache_write_1h: Decimal = ZERO
    web_search: Decimal = ZERO

    @property
    def total(self) -> Decimal:
        return (
            self.input
            + self.output
            + self.cache_read
            + self.cache_write_5m
            + self.cache_write_1h
            + self.web_search
        )

    def __add__(self, other: Cost) -> Cost:
        return Cost(
            self.input + other.input,
            self.output + other.output,
            self.cache_read + other.cache_read,
            self.cache_write_5m + other.cache_write_5m,
            self.cache_write_1h + other.cache_write_1h,
            self.web_search + other.web_search,
        )

    def as_dict(self) -> dict[str, str]:
        return {
            "input": str(self.input),
            "output": str(self.output),
            "cache_read": str(self.cache_read),
            "cache_write_5m": str(self.cache_write_5m),
            "cache_write_1h": str(self.cache_write_1h),
            "web_search": str(self.web_search),
        }


NO_COST = Cost()


def base_model(model: str) -> str:
    """The model id without Claude Code's ``[1m]`` window marker."""
    return model.split("[", 1)[0].strip()


PROVIDERS = ("anthropic", "openai")
"""The snapshot's providers whose models ctxtop prices, in the order a model id is looked up (Claude Code and
the API logs name Anthropic models, Codex OpenAI ones; no id of one matches the other's patterns)."""


def bundled_snapshot() -> DataSnapshot:
    """genai-prices' bundled snapshot, loaded without running the package's ``__init__``, which imports its
    network updater (httpx, asyncio, importlib.metadata: ~0.1 s of every cold start) that ctxtop never uses.

    The package module is made bare (its path only) and its submodules import as usual; the first lookup of
    any other name on it (``genai_prices.calc_price``...) runs the real ``__init__`` then (PEP 562), so other
    code in the process still sees the whole package."""
    import importlib
    import sys

    if "genai_prices" not in sys.modules:
        import importlib.util

        spec = importlib.util.find_spec("genai_prices")
        if spec is not None and spec.loader is not None and spec.submodule_search_locations is not None:
            package = importlib.util.module_from_spec(spec)
            loader = spec.loader

            def complete(name: str) -> object:
                if importlib.util.find_spec(f"genai_prices.{name}") is not None:
                    raise AttributeError(name)  # a submodule: the import system loads it next
                del package.__dict__["__getattr__"]
                loader.exec_module(package)
                return getattr(package, name)

            package.__getattr__ = complete  # type: ignore[method-assign]
            sys.modules["genai_prices"] = package
    return importlib.import_module("genai_prices.data_snapshot").get_snapshot()


@lru_cache(maxsize=256)
def _model_info(model: str) -> ModelInfo | None:
    snapshot = bundled_snapshot()
    by_id = {provider.id: provider for provider in snapshot.providers}
    for name in PROVIDERS:
        provider = by_id.get(name)
        info = provider.find_model(model) if provider is not None else None
        if info is not None:
            return info
    return None


PRICE_FIELDS = ("input_mtok", "output_mtok", "cache_read_mtok", "cache_write_mtok", "cache_write_1h_mtok",
                "web_searches_kcount")  # fmt: skip

Resolved = dict[str, tuple[str, list[tuple[int, str]]] | None]
"""price field -> (base USD as text, [(tier start, USD as text)]); JSON-able, so it can be cached on disk."""

Cached = Resolved | int | None
"""A price cache entry: a model's prices for a day and variant (``Resolved``) or its listed window (int)."""


def _resolve(model: str, day: str, context: tuple[tuple[str, str], ...]) -> Resolved | None:
    table = _active_table()
    if table is not None:
        entry = _table_model(table, model)
        return None if entry is None else _table_resolve(entry, day, dict(context))
    info = _model_info(model)
    return None if info is None else _snapshot_resolve(info, day, context)


def _snapshot_resolve(info: ModelInfo, day: str, context: tuple[tuple[str, str], ...]) -> Resolved:
    """A model's prices on ``day`` by genai-prices itself (its snapshot loaded)."""
    when = datetime.fromisoformat(day).replace(tzinfo=UTC, hour=12)
    price = info.get_prices(when, dict(context) or None)
    out: Resolved = {}
    for name in PRICE_FIELDS:
        value = getattr(price, name, None)
        if value is None:
            out[name] = None
        elif getattr(value, "tiers", None) is not None:
            out[name] = (str(value.base), [(t.start, str(t.price)) for t in value.tiers])
        else:
            out[name] = (str(value), [])
    return out


TABLE = Path(__file__).with_name("price_table.json")
TABLE_SOURCES = ("data.py", "types.py")
"""genai-prices' files the table is checked against: its data, and the code that matches ids and resolves
prices (a change in either can change an answer)."""


def genai_prices_digest() -> str | None:
    """SHA-256 of the installed genai-prices' ``TABLE_SOURCES``, found without importing the package."""
    import hashlib
    import importlib.util

    spec = importlib.util.find_spec("genai_prices")
    if spec is None or not spec.origin:
        return None
    digest = hashlib.sha256()
    try:
        for name in TABLE_SOURCES:
            digest.update(Path(spec.origin).with_name(name).read_bytes())
    except OSError:
        return None
    return digest.hexdigest()


@lru_cache(maxsize=1)
def _table() -> dict | None:
    """The committed price table when it was built from the installed genai-prices, else None."""
    import json

    try:
        table = json.loads(TABLE.read_bytes())
    except (OSError, ValueError):
        return None
    return table if table.get("sha256") == genai_prices_digest() else None


def _active_table() -> dict | None:
    import sys

    # A snapshot set in this process (genai-prices' updater, by code that imported it) is not the bundled one.
    snapshot = sys.modules.get("genai_prices.data_snapshot")
    if snapshot is not None and getattr(snapshot, "_custom_snapshot", None) is not None:
        return None
    return _table()


def _clause_matches(clause: list, text: str) -> bool:
    """genai-prices' ``MatchLogic.is_match`` on the table's form of a clause: ``[kind, argument]``."""
    kind, arg = clause
    if kind == "or":
        return any(_clause_matches(c, text) for c in arg)
    if kind == "and":
        return all(_clause_matches(c, text) for c in arg)
    if kind == "regex":
        import re

        return bool(re.search(arg, text))
    text, arg = text.lower(), arg.lower()
    if kind == "starts_with":
        return text.startswith(arg)
    if kind == "ends_with":
        return text.endswith(arg)
    if kind == "contains":
        return arg in text
    if kind == "equals":
        return text == arg
    raise ValueError(f"price table: unknown clause {kind!r}")


def _compact_dated(model_ref: str) -> str:
    """genai-prices' ``_normalize_compact_dated_ref``: ``-20251211`` as ``-2025-12-11`` (a valid date only)."""
    import re
    from datetime import date

    def replace(match: re.Match[str]) -> str:
        year, month, day = (int(match.group(index)) for index in range(2, 5))
        try:
            date(year, month, day)
        except ValueError:
            return match.group(0)
        return f"{match.group(1)}{year:04d}-{month:02d}-{day:02d}"

    return re.sub(r"(-)(20\d{2})(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])(?=-|:|$)", replace, model_ref)


def _table_model(table: dict, model: str) -> dict | None:
    """``Provider.find_model`` over the table's providers, in ``PROVIDERS`` order."""
    for provider in table["providers"]:
        ref = model.lower()
        for attempt in dict.fromkeys((ref, _compact_dated(ref))):  # the compact date form only as a retry
            for info in provider["models"]:
                if _clause_matches(info["match"], attempt.lower()):
                    return info
    return None


def _table_resolve(info: dict, day: str, context: Mapping[str, str]) -> Resolved:
    """``ModelInfo.get_prices`` on the table's form: the last price period begun by ``day``, then the variants
    that apply (the first to give a field wins)."""
    periods = info["prices"]
    standard = periods[0][1]
    for start, fields in reversed(periods):
        if start is None or day >= start:
            standard = fields
            break
    if not context:
        return dict(standard)
    overrides: dict = {}
    for when, start, fields in info["variants"]:
        if start is not None and day < start:
            continue
        if not all(context.get(key) == value for key, value in when.items()):
            continue
        for name, entry in fields.items():
            overrides.setdefault(name, entry)
    return {**standard, **overrides}


def build_table() -> dict:
    """The price table from the installed genai-prices (``scripts/price_table.py`` writes it)."""
    from importlib.metadata import version

    snapshot = bundled_snapshot()
    by_id = {provider.id: provider for provider in snapshot.providers}
    providers = []
    for name in PROVIDERS:
        models = []
        for info in by_id[name].models:
            prices = info.prices if isinstance(info.prices, list) else None
            periods = (
                [[_start(c.constraint), _fields(c.prices, every=True)] for c in prices]
                if prices is not None
                else [[None, _fields(info.prices, every=True)]]
            )
            variants = [
                [dict(v.when), _start(v.constraint), _fields(v.prices, every=False)]
                for v in info.price_variants or ()
            ]
            models.append({"id": info.id, "match": _clause(info.match), "window": info.context_window,
                           "prices": periods, "variants": variants})  # fmt: skip
        providers.append({"id": name, "models": models})
    return {"genai_prices": version("genai-prices"), "sha256": genai_prices_digest(), "providers": providers}


def _start(constraint: object) -> str | None:
    if constraint is None:
        return None
    start = getattr(constraint, "start_date", None)
    if start is None:
        raise ValueError(f"price table: unsupported price constraint {constraint!r}")
    return start.isoformat()


def _entry(value: object) -> tuple[str, list[tuple[int, str]]]:
    tiers = getattr(value, "tiers", None)
    if tiers is not None:
        return (str(value.base), [(t.start, str(t.price)) for t in tiers])  # type: ignore[attr-defined]
    return (str(value), [])


def _fields(price: object, *, every: bool) -> dict:
    """A ``ModelPrice``'s ``PRICE_FIELDS`` as ``Resolved`` entries (a variant's: only those it sets)."""
    out: dict = {}
    for name in PRICE_FIELDS:
        value = getattr(price, name, None)
        if value is not None:
            out[name] = _entry(value)
        elif every:
            out[name] = None
    return out


def _clause(match: object) -> list:
    kinds = {"ClauseStartsWith": ("starts_with", "starts_with"), "ClauseEndsWith": ("ends_with", "ends_with"),
             "ClauseContains": ("contains", "contains"), "ClauseRegex": ("regex", "regex"),
             "ClauseEquals": ("equals", "equals"), "ClauseOr": ("or", "or_"), "ClauseAnd": ("and", "and_")}  # fmt: skip
    kind = kinds.get(type(match).__name__)
    if kind is None:
        raise ValueError(f"price table: unsupported match clause {match!r}")
    arg = getattr(match, kind[1])
    return [kind[0], [_clause(c) for c in arg] if kind[0] in ("or", "and") else arg]


def _tier_starts(resolved: Resolved) -> list[int]:
    return sorted({start for entry in resolved.values() if entry for start, _ in entry[1]})


def _pick(resolved: Resolved, name: str, prompt_tokens: int) -> Decimal | None:
    """The whole request at the highest tier its prompt exceeds."""
    entry = resolved.get(name)
    if entry is None:
        return None
    price = entry[0]
    for start, tier_price in entry[1]:
        if prompt_tokens > start:
            price = tier_price
    return Decimal(price)


def context_window_listed(model: str) -> int | None:
    """The largest context window genai-prices lists for ``model`` (not necessarily the one in effect)."""
    table = _active_table()
    if table is not None:
        entry = _table_model(table, base_model(model).lower())
        return entry["window"] if entry is not None else None
    info = _model_info(base_model(model).lower())
    return getattr(info, "context_window", None) if info is not None else None


class PriceBook:
    """Resolves rates per request, with user overrides keyed by model-id prefix."""

    def __init__(
        self,
        overrides: Mapping[str, Mapping[str, object]] | None = None,
        cache: MutableMapping[str, Cached] | None = None,
    ) -> None:
        # ``cache`` (e.g. the index's price table) spares short-lived processes such as the statusline the
        # ~150 ms it takes to load genai-prices' snapshot; it is keyed by model, day and variant.
        self._cache: MutableMapping[str, Cached] = cache if cache is not None else {}
        self._detached_keys: frozenset[str] = frozenset()
        """What the cache held when this book was ``detached`` (empty for a book of its own)."""
        self._overrides: list[tuple[str, Rates]] = []
        self._rates: dict[tuple[str, int], Rates] = {}
        self._fast: dict[tuple, tuple[str, Resolved | Rates | None, list[int]]] = {}
        self._estimates: dict[tuple, str | None] = {}
        self._last: tuple[tuple, Rates | None] = ((), None)
        """The last ``rates`` asked for and its answer: a request's cost, re-read cost and cache-miss cost ask
        the same question in turn."""
        for prefix, values in (overrides or {}).items():
            try:
                inp = Decimal(str(values["input"]))
                out = Decimal(str(values["output"]))
            except (KeyError, ArithmeticError, ValueError) as exc:
                raise ValueError(f"price override for {prefix!r} needs numeric 'input' and 'output'") from exc

            def get(key: str, default: Decimal, values: Mapping[str, object] = values) -> Decimal:
                return Decimal(str(values[key])) if key in values else default

            self._overrides.append(
                (
                    prefix.lower(),
                    Rates(
                        input=inp,
                        output=out,
                        cache_read=get("cache_read", inp / 10),
                        cache_write_5m=get("cache_write_5m", inp * Decimal("1.25")),
                        cache_write_1h=get("cache_write_1h", inp * 2),
                        web_search=get("web_search", Decimal(10)),
                        source="config override",
                    ),
                )
            )
        # Longest prefix first so "claude-opus-4-8" beats "claude-opus".
        self._overrides.sort(key=lambda item: -len(item[0]))

    def detached(self) -> PriceBook:
        """A copy to hand to another process: the same overrides and answers, its cache a plain snapshot of
        this one's (what it resolves stays in it; this book's cache, e.g. the index's table, is not touched)."""
        import copy

        book = copy.copy(self)
        book._cache = dict(self._cache.items())
        book._rates, book._fast, book._estimates = dict(self._rates), dict(self._fast), dict(self._estimates)
        book._detached_keys = frozenset(book._cache)
        return book

    def resolved_since_detached(self) -> dict[str, Cached]:
        """What a ``detached`` copy resolved that its snapshot did not hold (for ``remember``)."""
        return {k: v for k, v in self._cache.items() if k not in self._detached_keys}

    def remember(self, entries: Mapping[str, Cached]) -> None:
        """Entries another copy resolved (``resolved_since_detached``), kept in this book's cache as if it had
        resolved them itself (the index's table persists them)."""
        for key, value in entries.items():
            if key not in self._cache:
                self._cache[key] = value

    def listed_window(self, model: str) -> int | None:
        """``context_window_listed`` through the same cache as the prices (no snapshot load when cached)."""
        key = f"window|{base_model(model).lower()}"
        if key not in self._cache:
            self._cache[key] = context_window_listed(model)
        value = self._cache[key]
        return value if isinstance(value, int) else None

    def _lookup(
        self, model: str, when: datetime | float, service_tier: str | None, speed: str | None
    ) -> tuple[str, Resolved | Rates | None, list[int]]:
        name = base_model(model).lower()
        for prefix, rates in self._overrides:
            if name.startswith(prefix):
                return prefix, rates, []
        if isinstance(when, (int, float)):
            when = datetime.fromtimestamp(when, UTC)
        context: list[tuple[str, str]] = []
        if service_tier == "batch":
            context.append(("processing", "batch"))
        if speed and speed != "standard":
            context.append(("speed", speed))
        day = when.astimezone(UTC).date().isoformat()
        key = f"{name}|{day}|{','.join(f'{k}={v}' for k, v in context)}"
        cached = self._cache.get(key, False)
        if cached is not False:
            resolved = cached if isinstance(cached, dict) else None
        else:
            resolved = self._cache[key] = _resolve(name, day, tuple(context))
        return key, resolved, _tier_starts(resolved) if resolved is not None else []

    def rates(
        self,
        model: str,
        when: datetime | float,
        prompt_tokens: int = 0,
        service_tier: str | None = None,
        speed: str | None = None,
    ) -> Rates | None:
        """Rates for one request, or None when the model is unknown."""
        asked = (model, when, prompt_tokens, service_tier, speed)
        last = self._last  # one read: another thread may replace it meanwhile
        if last[0] == asked:
            return last[1]
        rates = self._rates_for(model, when, prompt_tokens, service_tier, speed)
        self._last = (asked, rates)
        return rates

    def day_rates(
        self, model: str, when: float, service_tier: str | None = None, speed: str | None = None
    ) -> tuple[tuple[int, ...], tuple[Rates | None, ...]]:
        """Every rate of ``model`` on ``when``'s UTC day: (tier starts, rates by how many of them the prompt
        exceeds). ``rates(model, when, prompt, ...)`` is the entry of the number of starts ``prompt`` exceeds:
        a session's stats ask once per model and day, not once per request."""
        day_number = int(when // 86400)
        fast_key = (model, day_number, True, service_tier == "batch", speed)
        entry = self._fast.get(fast_key)
        if entry is None:
            entry = self._fast[fast_key] = self._lookup(model, when, service_tier, speed)
        resolved, starts = entry[1], entry[2]
        if resolved is None or isinstance(resolved, Rates):
            return (), (resolved,)
        # A prompt one above a start exceeds that start and those below it (the starts are distinct, sorted).
        prompts = [0, *(start + 1 for start in starts)]
        return tuple(starts), tuple(self._rates_for(model, when, p, service_tier, speed) for p in prompts)

    def _rates_for(
        self,
        model: str,
        when: datetime | float,
        prompt_tokens: int,
        service_tier: str | None,
        speed: str | None,
    ) -> Rates | None:
        # Hot path (once per request of every changed session): everything below the first lookup is cached
        # per (model, UTC day, variant).
        day_number = (
            int(when // 86400) if isinstance(when, (int, float)) else when.astimezone(UTC).toordinal()
        )
        fast_key = (model, day_number, isinstance(when, (int, float)), service_tier == "batch", speed)
        entry = self._fast.get(fast_key)
        if entry is None:
            entry = self._fast[fast_key] = self._lookup(model, when, service_tier, speed)
        key, resolved, starts = entry
        if isinstance(resolved, Rates):
            return resolved  # a user override: no tiers
        if resolved is None:
            return None
        crossed = sum(1 for start in starts if prompt_tokens > start)
        memo_key = (key, crossed)
        memo = self._rates.get(memo_key)
        if memo is not None:
            return memo
        inp = _pick(resolved, "input_mtok", prompt_tokens) or ZERO
        write_5m = _pick(resolved, "cache_write_mtok", prompt_tokens)
        write_1h = _pick(resolved, "cache_write_1h_mtok", prompt_tokens)
        read = _pick(resolved, "cache_read_mtok", prompt_tokens)
        rates = self._rates[memo_key] = Rates(
            input=inp,
            output=_pick(resolved, "output_mtok", prompt_tokens) or ZERO,
            cache_read=read if read is not None else inp,
            cache_write_5m=write_5m if write_5m is not None else inp,
            cache_write_1h=write_1h if write_1h is not None else inp * 2,
            web_search=_pick(resolved, "web_searches_kcount", 0) or ZERO,
        )
        return rates

    def long_context_from(self, model: str, when: datetime | float, prompt_tokens: int) -> int:
        """The prompt size whose long-context rate this request paid (0: the base rate, or no tiers)."""
        if model == SYNTHETIC:
            return 0
        day_number = (
            int(when // 86400) if isinstance(when, (int, float)) else when.astimezone(UTC).toordinal()
        )
        fast_key = (model, day_number, isinstance(when, (int, float)), False, None)
        entry = self._fast.get(fast_key)
        if entry is None:
            entry = self._fast[fast_key] = self._lookup(model, when, None, None)
        starts = entry[2] if not isinstance(entry[1], Rates) and entry[1] is not None else []
        return max((start for start in starts if prompt_tokens > start), default=0)

    def estimate_reason(
        self, model: str, when: datetime | float, service_tier: str | None = None, speed: str | None = None
    ) -> str | None:
        """Why a request's cost is only an estimate: a variant that applies (batch, fast) has no price here.

        genai-prices answers a variant it does not list with the base price; then the request is priced at
        the base rate, and this says so (None when the variant's own price was used, or none applies).
        """
        wants = []
        if service_tier == "batch":
            wants.append("batch")
        if speed and speed != "standard":
            wants.append(f"speed {speed}")
        if not wants or model == SYNTHETIC:
            return None
        key = (model, int(when // 86400) if isinstance(when, (int, float)) else when.toordinal(),
               service_tier == "batch", speed)  # fmt: skip
        if key in self._estimates:
            return self._estimates[key]
        variant = self._lookup(model, when, service_tier, speed)[1]
        base = self._lookup(model, when, None, None)[1]
        reason = None
        if variant is not None and not isinstance(variant, Rates) and variant == base:
            reason = (
                f"no {' / '.join(wants)} price for {base_model(model)} on that day: priced at the base rate"
            )
        self._estimates[key] = reason
        return reason

    def cost(
        self,
        model: str,
        when: datetime | float,
        tokens: Tokens,
        web_search: int = 0,
        service_tier: str | None = None,
        speed: str | None = None,
    ) -> Cost | None:
        """Exact cost of one request; ``None`` when the model is unknown; zero for ``<synthetic>``."""
        if model == SYNTHETIC:
            return NO_COST
        rates = self.rates(model, when, tokens.prompt, service_tier, speed)
        if rates is None:
            return None
        return cost_at(rates, tokens, web_search)


def cost_at(rates: Rates, tokens: Tokens, web_search: int = 0) -> Cost:
    return Cost(
        input=tokens.input * rates.input / MILLION,
        output=tokens.output * rates.output / MILLION,
        cache_read=tokens.cache_read * rates.cache_read / MILLION,
        cache_write_5m=tokens.cache_write_5m * rates.cache_write_5m / MILLION,
        cache_write_1h=tokens.cache_write_1h * rates.cache_write_1h / MILLION,
        web_search=web_search * rates.web_search / THOUSAND,
    )


def fmt_usd(value: Decimal | None, places: int = 2) -> str:
    """Display rounding only; the stored value stays exact."""
    if value is None:
        return "unknown"
    q = Decimal(1).scaleb(-places)
    return f"${value.quantize(q):,}"
