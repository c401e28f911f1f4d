"""Session stats from plain rows: the shortcuts ``compute_rows`` takes give exactly the answers they replace."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from ctxtop.core import metrics
from ctxtop.core.pricing import PriceBook

ZONES = (
    "UTC",
    "Europe/Berlin",
    "America/New_York",
    "America/Santiago",  # DST starting at local midnight: some days have no 00:00
    "Australia/Lord_Howe",  # a 30-minute DST shift
    "Asia/Kathmandu",  # +5:45
    "America/St_Johns",  # -3:30 with DST
    "Pacific/Chatham",  # +12:45 / +13:45
    "XYZ-5:30:15",  # a POSIX TZ string with seconds: no memo
)


@pytest.fixture
def zone(monkeypatch: pytest.MonkeyPatch):
    def use(name: str) -> None:
        monkeypatch.setenv("TZ", name)
        time.tzset()

    yield use
    monkeypatch.undo()
    time.tzset()


@pytest.mark.parametrize("name", ZONES)
def test_the_local_day_memo_is_exact_around_every_local_midnight(zone, name: str) -> None:
    # The memo keys a day by UTC minute; a minute holding a local midnight that is not on a whole minute would
    # give one side the other's day. Probed on both sides of each midnight, the earlier side first.
    zone(name)
    day_of = metrics._day_of()
    start = datetime(2024, 1, 1, tzinfo=UTC).timestamp()
    probes = []
    for n in range(0, 3 * 366):
        local = time.localtime(start + n * 86400)
        midnight = time.mktime((local.tm_year, local.tm_mon, local.tm_mday, 0, 0, 0, 0, 0, -1))
        probes += [midnight + d for d in (-61, -60, -59, -1.5, -1, -0.25, 0, 0.25, 1, 59, 60, 61)]
    probes += [
        start + 3600 * h + 0.5 for h in range(0, 3 * 366 * 24, 7)
    ]  # and every 7 hours, DST days included
    assert [day_of(ts) for ts in probes] == [metrics.local_day(ts) for ts in probes]


def test_day_rates_hold_the_rate_of_every_prompt_size() -> None:
    book, fresh = PriceBook(), PriceBook()
    when = datetime(2025, 11, 20, 15, tzinfo=UTC).timestamp()
    for model in ("claude-sonnet-4-5-20250929", "claude-opus-4-6", "gpt-5-codex", "claude-haiku-4-5", "nope"):
        for tier, speed in ((None, None), ("batch", None), (None, "fast"), ("batch", "fast")):
            for day in range(3):
                ts = when + day * 86400 + 1234.5 * day
                starts, rates = book.day_rates(model, ts, tier, speed)
                assert len(rates) == len(starts) + 1
                for prompt in (0, 1, 199_999, 200_000, 200_001, 1_000_000, *starts, *(s + 1 for s in starts)):
                    crossed = sum(1 for s in starts if prompt > s)
                    assert rates[crossed] == fresh.rates(model, ts, prompt, tier, speed), (
                        model,
                        prompt,
                        tier,
                    )
    assert book.day_rates("claude-sonnet-4-5-20250929", when)[0] == (200_000,)  # a tiered model was checked
    assert book.day_rates("nope", when) == ((), (None,))


def test_rows_and_requests_give_the_same_stats() -> None:
    # ``compute`` (Req objects: the OTLP export, tests) and ``compute_rows`` (the index) are one computation.
    t0 = datetime(2025, 11, 20, 23, 58, tzinfo=UTC).timestamp()
    from ctxtop.core.metrics import Compaction, Req
    from ctxtop.core.usage import Tokens

    reqs = [
        Req("main", t0, "claude-sonnet-4-5-20250929", Tokens(200_000, 900, 0, 1, 0), Tokens(200_000, 900, 0, 1, 0)),
        Req("main", t0 + 400, "claude-sonnet-4-5-20250929", Tokens(10, 700, 150_000, 60_000, 3),
            Tokens(10, 700, 150_000, 60_000, 3), web_search=3, reasoning=5),
        Req("a1", t0 + 401, "claude-opus-4-8", Tokens(3, 8, 164830, 8681, 0), Tokens(3, 8, 164830, 8681, 0)),
        Req("main", t0 + 402, "claude-sonnet-4-5-20250929", Tokens(23000, 1000, 5, 200, 100),
            Tokens(273000, 4500, 5, 200, 100)),
        Req("main", t0 + 4000, "<synthetic>", Tokens(), Tokens()),
        Req("main", t0 + 4001, "unknown-model", Tokens(5, 5, 5, 5, 5), Tokens(5, 5, 5, 5, 5), speed="fast"),
        Req("main", t0 + 9000, "claude-opus-4-8", Tokens(1, 2, 250_000, 7, 9), Tokens(1, 2, 250_000, 7, 9),
            is_compaction_call=True),
    ]  # fmt: skip
    compactions = [Compaction(t0 + 401.5, "auto", 210_000, 30_000)]
    per_a: list[tuple[int, int]] = []
    per_b: list[tuple[int, int]] = []
    a = metrics.compute("s", reqs, compactions, PriceBook(), keep_turns=True, per_request=per_a)
    rows = [metrics.row_of(r) for r in reqs]
    assert [metrics.req_of(r) for r in rows] == reqs
    b = metrics.compute_rows("s", rows, compactions, PriceBook(), keep_turns=True, per_request=per_b)
    assert metrics.to_json(a) == metrics.to_json(b) and a.per_turn == b.per_turn and per_a == per_b
    assert a.buckets and a.reread_cost and a.unknown_models == ["unknown-model"] and a.reasoning_tokens == 5
    assert len(a.per_turn) == 4  # the main chain's turns: not the compaction call, not the placeholder
