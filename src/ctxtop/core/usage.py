"""Token counts of one API request, read from a Messages API ``usage`` object."""

from __future__ import annotations

from dataclasses import dataclass

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: importing typing costs the statusline ~5 ms
if TYPE_CHECKING:
    from typing import Any

MAX_TOKENS = 2**53
"""Anything larger is not a real token count (and would overflow SQLite's INTEGER): read as 0."""


def _int(value: Any) -> int:
    if type(value) is int:  # the common case first (a bool is not one: it counts 0, below)
        return value if 0 <= value <= MAX_TOKENS else 0
    if isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return value if 0 <= value <= MAX_TOKENS else 0
    if isinstance(value, float):
        # NaN and infinities fail both comparisons; json.loads accepts them.
        return int(value) if 0 <= value <= MAX_TOKENS else 0
    return 0


@dataclass(frozen=True, slots=True)
class Tokens:
    """Billed token counts. ``cache_write_5m`` is the part of the cache writes not written for 1 hour."""

    input: int = 0
    output: int = 0
    cache_read: int = 0
    cache_write_5m: int = 0
    cache_write_1h: int = 0

    @property
    def cache_write(self) -> int:
        return self.cache_write_5m + self.cache_write_1h

    @property
    def prompt(self) -> int:
        """Everything the model read for this request: input + cache read + cache write."""
        return self.input + self.cache_read + self.cache_write_5m + self.cache_write_1h

    @property
    def total(self) -> int:
        return self.prompt + self.output

    def __add__(self, other: Tokens) -> Tokens:
        return Tokens(
            self.input + other.input,
            self.output + other.output,
            self.cache_read + other.cache_read,
            self.cache_write_5m + other.cache_write_5m,
            self.cache_write_1h + other.cache_write_1h,
        )

    def as_dict(self) -> dict[str, int]:
        return {
            "input": self.input,
            "output": self.output,
            "cache_read": self.cache_read,
            "cache_write_5m": self.cache_write_5m,
            "cache_write_1h": self.cache_write_1h,
        }


ZERO = Tokens()


@dataclass(frozen=True, slots=True)
class Usage:
    """One request's usage: tokens plus the server-side extras that are billed separately."""

    tokens: Tokens
    web_search: int = 0
    web_fetch: int = 0
    service_tier: str | None = None
    speed: str | None = None
    compaction: Tokens = ZERO
    """Tokens of server-side compaction passes (``usage.iterations`` entries other than "message").

    The API leaves them out of the top-level counts but bills them, so they are added to ``billed``."""
    reasoning: int = 0
    """Output tokens the model spent reasoning (OpenAI's ``reasoning_output_tokens``): a part of
    ``tokens.output``, billed with it, counted apart only to be shown; 0 where the log does not say."""

    @property
    def billed(self) -> Tokens:
        return self.tokens + self.compaction


def parse_usage(raw: Any) -> Usage | None:
    """Read a Messages API usage dict; None when it is not one."""
    if not isinstance(raw, dict):
        return None
    cache_write = _int(raw.get("cache_creation_input_tokens"))
    detail = raw.get("cache_creation")
    write_1h = 0
    if isinstance(detail, dict):
        write_1h = _int(detail.get("ephemeral_1h_input_tokens"))
        write_5m_detail = _int(detail.get("ephemeral_5m_input_tokens"))
        # Some writers give only the split; the total is then their sum.
        if cache_write == 0:
            cache_write = write_1h + write_5m_detail
    write_1h = min(write_1h, cache_write)
    server = raw.get("server_tool_use")
    web_search = web_fetch = 0
    if isinstance(server, dict):
        web_search = _int(server.get("web_search_requests"))
        web_fetch = _int(server.get("web_fetch_requests"))
    compaction = ZERO
    iterations = raw.get("iterations")
    if isinstance(iterations, list):
        for item in iterations:
            if isinstance(item, dict) and item.get("type") not in (None, "message"):
                inner = parse_usage({k: v for k, v in item.items() if k != "iterations"})
                if inner is not None:
                    compaction = compaction + inner.tokens
    tier = raw.get("service_tier")
    speed = raw.get("speed")
    return Usage(
        tokens=Tokens(
            input=_int(raw.get("input_tokens")),
            output=_int(raw.get("output_tokens")),
            cache_read=_int(raw.get("cache_read_input_tokens")),
            cache_write_5m=cache_write - write_1h,
            cache_write_1h=write_1h,
        ),
        web_search=web_search,
        web_fetch=web_fetch,
        service_tier=tier if isinstance(tier, str) and tier else None,
        speed=speed if isinstance(speed, str) and speed else None,
        compaction=compaction,
    )
