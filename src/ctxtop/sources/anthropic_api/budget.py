"""Budgets for monitored API sessions: checked before each request, in the process that sends it.

``monitor(client, budget=ApiBudget(session_usd=5))`` keeps the session's running cost and tokens from the
usage of every response (priced exactly as the index prices the log: ``core.metrics.request_cost``) and,
before a request, raises :class:`BudgetExceeded` when a hard limit is reached: nothing is sent. Past the
soft share of a hard limit it compacts once first when the client has a client-side ``CompactionPolicy``
(the summariser call is billed too, so the check runs before it).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ctxtop.core import budgets as core_budgets


class BudgetExceeded(Exception):
    """A monitored client refused to send a request: a hard limit of its ``ApiBudget`` is reached.

    Nothing was sent. ``level`` ("session" or "request"), ``unit`` ("usd" or "tokens"), ``spent`` and ``limit``
    (Decimals) say which limit and how far; ``session_id`` is the monitored session. Raise the limit (a new
    ``monitor`` call with a new budget is not needed: assign ``ctxtop.api.session(client).budget``) to go on.
    """

    def __init__(self, verdict: core_budgets.Verdict, session_id: str) -> None:
        self.level = verdict.budget.level
        self.unit = verdict.budget.unit
        self.spent = verdict.spent
        self.limit = verdict.budget.hard or Decimal(0)
        self.session_id = session_id
        super().__init__(f"ctxtop: request not sent: {verdict.text()} (session {session_id})")


def _dec(value: object) -> Decimal | None:
    if value is None:
        return None
    number = Decimal(str(value))
    if not number.is_finite() or number < 0:
        raise ValueError(f"a budget must be a number, 0 or more: {value!r}")
    return number or None


@dataclass(frozen=True)
class ApiBudget:
    """Hard limits of one monitored API session (None or 0: no limit).

    ``session_usd``: the session's cost; ``session_tokens``: all its billed tokens (cache reads included);
    ``request_tokens``: the prompt tokens of one request, judged by the previous request's prompt (the next
    one re-sends at least that). ``soft_pct``: past this share of a hard limit the session is "near" it, and
    with ``compact_near`` (and a client-side ``CompactionPolicy``) it compacts once before the next request.
    """

    session_usd: Decimal | float | str | None = None
    session_tokens: int | None = None
    request_tokens: int | None = None
    soft_pct: float = core_budgets.DEFAULT_SOFT_PCT
    compact_near: bool = True

    @classmethod
    def from_config(cls, config: Any = None) -> ApiBudget:
        """The session and request hard limits of ``[budgets]`` in ctxtop's config (the TUI's Settings)."""
        if config is None:
            from ctxtop.adapters.config import Config

            config = Config.load()
        return cls(
            session_usd=config.get("budgets.session_usd_hard") or None,
            session_tokens=config.get("budgets.session_tokens_hard") or None,
            request_tokens=config.get("budgets.request_tokens_hard") or None,
            soft_pct=float(config.get("budgets.soft_pct")),
        )

    def limits(self) -> list[core_budgets.Budget]:
        share = Decimal(str(self.soft_pct)) / 100
        if not 0 < share <= 1:
            raise ValueError(f"soft_pct must be between 1 and 100, not {self.soft_pct!r}")
        out = []
        for level, unit, value in (
            ("request", "tokens", self.request_tokens),
            ("session", "usd", self.session_usd),
            ("session", "tokens", self.session_tokens),
        ):
            hard = _dec(value)
            if hard is not None:
                out.append(core_budgets.Budget(level, unit, None, hard, share))
        return out


class Meter:
    """The running spend of one session; ``add`` is called with every log record written."""

    def __init__(self) -> None:
        self.cost = Decimal(0)
        self.tokens = 0
        self._prices: Any = None

    def add(self, record: dict[str, Any]) -> None:
        from ctxtop.core.metrics import Req, request_cost
        from ctxtop.core.pricing import PriceBook
        from ctxtop.core.records import FileContext, RequestRecord
        from ctxtop.sources.anthropic_api.parse import parse_api

        for fact in parse_api(record, FileContext(str(record.get("session_id") or "")), "meter"):
            if not isinstance(fact, RequestRecord):
                continue
            u = fact.usage
            req = Req(fact.chain, fact.ts, fact.model, u.tokens, u.billed, u.web_search, u.web_fetch,
                      u.service_tier, u.speed, fact.is_compaction_call)  # fmt: skip
            if self._prices is None:
                self._prices = PriceBook()
            cost = request_cost(self._prices, req)
            self.cost += cost.total if cost is not None else Decimal(0)
            self.tokens += u.billed.total

    def spent(self, session_id: str, last_prompt: int | None) -> core_budgets.Spent:
        values = {
            ("session", "usd"): self.cost,
            ("session", "tokens"): Decimal(self.tokens),
            ("request", "tokens"): Decimal(last_prompt or 0),
        }
        return core_budgets.Spent(values, {}, session_id)


def check(budget: ApiBudget, meter: Meter, session_id: str, last_prompt: int | None) -> bool:
    """Raise BudgetExceeded past a hard limit; True when a limit is near (past its soft share)."""
    limits = budget.limits()
    verdicts = core_budgets.evaluate(limits, meter.spent(session_id, last_prompt))
    over = core_budgets.hard_limits(verdicts)
    if over:
        raise BudgetExceeded(over[0], session_id)
    return bool(verdicts)
