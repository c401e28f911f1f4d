"""What one filtered output saved: the one accounting rule the noise report and the TUI's noise panel share.

Per output (see README, "Savings, honestly"):

- *credited raw tokens*: what would really have reached the context. Claude Code persists an output of more
  than 30,000 characters to a file and shows the model a ~2,000-character preview, so such an output is
  credited as the preview, not as its full size. Filtering it can then cost more than it saves: negative
  results are shown as they are.
- *removed* = credited raw tokens - filtered tokens.
- *re-reads*: the API requests of the output's chain after it and before that chain's next compaction. The
  first writes the removed tokens to the prompt cache, each later one reads them again.
- *worth* = removed x (cache-write rate + (re-reads - 1) x cache-read rate), at the rates of the first
  request after the output (its model, time, prompt size, 5-minute or 1-hour cache), exact Decimals.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from ctxtop.core.metrics import Req
from ctxtop.core.pricing import SYNTHETIC, Rates

PERSIST_CHARS = 30_000
PREVIEW_CHARS = 2_000
PREVIEW_OVERHEAD_TOKENS = 40  # "Output too large ... saved to <path>. Preview:" around the preview
MILLION = Decimal(1_000_000)

RatesOf = Callable[[str, float, int], Rates | None]
"""(model, time, prompt tokens) -> rates, or None for an unknown model (``PriceBook.rates``)."""


@dataclass(frozen=True, slots=True)
class Saving:
    raw_tokens: int
    credited_raw_tokens: int
    filtered_tokens: int
    removed_tokens: int
    requests_after: int
    """Requests that carried the output (after it, before the next compaction)."""
    worth_usd: Decimal | None
    """None when the model of the request after it has no price; 0 when no request followed."""

    @property
    def rereads(self) -> int:
        """Removed tokens times the requests that would have carried them."""
        return self.removed_tokens * self.requests_after


def credited_raw_tokens(raw_chars: int, raw_tokens: int) -> int:
    """The raw tokens that would really have reached the context (see the module docstring)."""
    if raw_chars <= PERSIST_CHARS:
        return raw_tokens
    return round(raw_tokens * PREVIEW_CHARS / raw_chars) + PREVIEW_OVERHEAD_TOKENS


def saving(
    ts: float,
    raw_chars: int,
    raw_tokens: int,
    filtered_tokens: int,
    requests: Sequence[Req],
    compactions: Sequence[float],
    rates_of: RatesOf,
) -> Saving:
    """What filtering one output at ``ts`` saved, given its chain's ``requests`` and compaction times."""
    credited = credited_raw_tokens(raw_chars, raw_tokens)
    removed = credited - filtered_tokens
    boundary = min((c for c in compactions if c > ts), default=float("inf"))
    # Claude Code's own <synthetic> messages (an error shown as an answer) are no API request.
    later = [r for r in requests if ts < r.ts < boundary and r.model != SYNTHETIC]
    worth: Decimal | None = Decimal(0)
    if later:
        first = later[0]
        rates = rates_of(first.model, first.ts, first.tokens.prompt)
        if rates is None:
            worth = None
        else:
            write = rates.cache_write_1h if first.tokens.cache_write_1h > 0 else rates.cache_write_5m
            worth = removed * (write + (len(later) - 1) * rates.cache_read) / MILLION
    return Saving(raw_tokens, credited, filtered_tokens, removed, len(later), worth)
