"""Codex's OpenAI models are priced from genai-prices' OpenAI entries; nothing else moves."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from ctxtop.core.pricing import PriceBook
from ctxtop.core.usage import Tokens

WHEN = datetime(2026, 11, 20, 12, tzinfo=UTC).timestamp()


def test_cached_input_at_the_cached_rate_reasoning_as_output() -> None:
    book = PriceBook()
    # Session A: 27,700 input of which 17,408 cached; 880 output (512 of them reasoning, billed as output).
    cost = book.cost("gpt-5-codex", WHEN, Tokens(input=10292, output=880, cache_read=17408))
    assert cost is not None
    assert (cost.input, cost.cache_read, cost.output) == (
        Decimal("0.012865"),
        Decimal("0.002176"),
        Decimal("0.0088"),
    )
    assert cost.total == Decimal("0.023841")


def test_codex_model_ids_resolve_to_their_family() -> None:
    book = PriceBook()
    rates = {m: book.rates(m, WHEN) for m in ("gpt-5-codex", "gpt-5.1-codex", "gpt-5.2-codex", "gpt-5-mini")}
    assert {m: (r.input, r.cache_read, r.output) for m, r in rates.items() if r} == {
        "gpt-5-codex": (Decimal("1.25"), Decimal("0.125"), Decimal("10")),
        "gpt-5.1-codex": (Decimal("1.25"), Decimal("0.125"), Decimal("10")),
        "gpt-5.2-codex": (Decimal("1.75"), Decimal("0.175"), Decimal("14")),
        "gpt-5-mini": (Decimal("0.25"), Decimal("0.025"), Decimal("2")),
    }


def test_unknown_models_stay_unpriced_and_claude_is_unchanged() -> None:
    book = PriceBook()
    assert book.cost("gpt-oss-local", WHEN, Tokens(input=100)) is None
    assert book.cost("unknown", WHEN, Tokens(input=100)) is None
    opus = book.rates("claude-opus-4-8", WHEN)
    assert opus is not None and opus.source == "genai-prices" and opus.input == Decimal(5)
