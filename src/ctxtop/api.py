"""Monitor Anthropic API sessions with ctxtop.

``monitor(client)`` instruments an ``anthropic.Anthropic`` or ``AsyncAnthropic`` client so that every Messages
API request it makes appends one record to ``<log_dir>/<session_id>.jsonl`` (schema in README, "API session log
schema"); ctxtop's index and TUI read those logs. Optionally it compacts the session's context at a threshold::

    import anthropic
    from ctxtop.api import CompactionPolicy, monitor

    client = monitor(anthropic.Anthropic(), compact=CompactionPolicy(threshold=0.6, notes="Task: port the CLI"))
    reply = client.messages.create(model="claude-sonnet-4-6", max_tokens=1024, messages=history)

Importing this module does not import ``anthropic`` (about a second of start-up the rest of ctxtop must not pay).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from ctxtop.sources.anthropic_api.budget import ApiBudget, BudgetExceeded
from ctxtop.sources.anthropic_api.compaction import ClientCompaction, CompactionPolicy
from ctxtop.sources.anthropic_api.log import iter_api_records

if TYPE_CHECKING:
    from ctxtop.sources.anthropic_api.session import ApiSession

__all__ = [
    "ApiBudget",
    "BudgetExceeded",
    "ClientCompaction",
    "CompactionPolicy",
    "iter_api_records",
    "monitor",
    "session",
]

ClientT = TypeVar("ClientT")


def monitor(
    client: ClientT,
    *,
    session_id: str | None = None,
    log_dir: Path | str | None = None,
    compact: CompactionPolicy | None = None,
    budget: ApiBudget | None = None,
) -> ClientT:
    """Instrument ``client`` in place and return it.

    ``messages.create`` (plain and ``stream=True``), ``messages.stream``, ``messages.parse`` and the same on
    ``beta.messages`` each append one record per request; return values and exceptions are the SDK's own.
    ``session_id`` (letters, digits, ``.``, ``_``, ``-``) defaults to a new UUID; ``log_dir`` to ctxtop's
    platform log dir (``$CTXTOP_API_LOG_DIR`` overrides). ``compact`` opts in to compaction (see
    ``CompactionPolicy``); with client-side compaction the outgoing messages of a call may differ from the
    caller's list: see README, "Compaction for API sessions". ``budget`` sets hard limits checked before each
    request: past one, the call raises ``BudgetExceeded`` and sends nothing; near one (its soft share) with
    a client-side ``compact`` policy, the session compacts once first (see ``ApiBudget``).
    """
    try:
        from ctxtop.sources.anthropic_api.wrapper import instrument
    except ModuleNotFoundError as exc:
        if exc.name not in ("anthropic", "pydantic") and not (exc.name or "").startswith("anthropic."):
            raise
        raise ModuleNotFoundError(
            "ctxtop.api.monitor needs the Anthropic SDK, which is an optional extra: "
            "pip install 'ctxtop[api]' (or pip install anthropic)",
            name=exc.name,
        ) from exc

    return instrument(client, session_id=session_id, log_dir=log_dir, compact=compact, budget=budget)


def session(client: object) -> ApiSession | None:
    """The monitoring state of a monitored client (``session_id``, ``log_path``, ``last_compaction``), else None."""
    return getattr(client, "_ctxtop_session", None)
