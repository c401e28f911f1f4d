"""What a request and a session look like to an OpenTelemetry receiver (pure: no SDK, no I/O).

One span per request, one trace per session. Three vocabularies on every span, because receivers read
different ones:

- the OpenTelemetry GenAI conventions (``gen_ai.*``). Their ``gen_ai.usage.input_tokens`` counts cached
  tokens too, Anthropic's ``input_tokens`` does not: the span carries the sum, and the parts in
  ``gen_ai.usage.cache_read.input_tokens`` and ``gen_ai.usage.cache_creation.input_tokens``;
- the OpenInference conventions (``llm.*``, ``session.id``, ``user.id``) where they differ, so LLM
  observability servers (Phoenix, Langfuse...) show tokens and cost natively;
- ctxtop's own exact figures under ``ctxtop.*``: cost as a decimal string (floats cannot hold a bill),
  its parts, cache writes 5m/1h, the long-context tier, re-read tokens, context and fill after the request,
  chain and source.

Span and trace ids are derived from the request key and the session id (and the export's project label), so
a span sent twice (a crash between the receiver's answer and ctxtop's record of it) carries the same ids and a
receiver that keys on them keeps one copy.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from decimal import Decimal

from ctxtop.core.pricing import Cost, base_model
from ctxtop.core.records import MAIN
from ctxtop.core.report import money
from ctxtop.core.usage import Tokens

NS = "ctxtop"
"""The namespace of ctxtop's own attributes."""

TOKEN_TYPES = ("input", "output", "cache_read", "cache_write_5m", "cache_write_1h")

Attributes = dict[str, "str | int | float | bool"]


@dataclass(frozen=True, slots=True)
class RequestFacts:
    """One deduplicated request with the figures ctxtop computed for it."""

    key: str
    """``message.id:requestId``, the key the index deduplicates on."""
    session_id: str
    chain: str
    ts: float
    """When the response was written to the transcript (transcripts record no start time)."""
    model: str
    billed: Tokens
    """What was billed (the top-level usage plus server-side compaction passes): the session totals' unit."""
    web_search: int
    web_fetch: int
    service_tier: str | None
    speed: str | None
    compaction_call: bool
    cost: Cost | None
    """None when the model has no price (never priced as another model)."""
    reread_tokens: int
    context_after: int
    """Prompt plus output: what the chain's next request re-reads."""
    window: int | None
    """The session's context window (the fill's denominator), when known."""
    long_context_from: int
    """The prompt size above which this request was priced at a long-context rate (0: the base rate)."""
    source: str
    project: str | None
    git_branch: str | None


def trace_id(session_id: str, project: str = "") -> int:
    """A session's 128-bit trace id (never 0, which OpenTelemetry reads as invalid).

    ``project`` is the ``[export] project`` label: a receiver that keys spans on their ids alone (Phoenix does,
    across its projects) takes an export under another label as new data, not as a copy."""
    seed = b"ctxtop-trace\0" + project.encode() + b"\0" + session_id.encode()
    return int.from_bytes(hashlib.sha256(seed).digest()[:16], "big") or 1


def span_id(key: str, project: str = "") -> int:
    """A request's 64-bit span id (never 0); ``project`` as for ``trace_id``."""
    seed = b"ctxtop-span\0" + project.encode() + b"\0" + key.encode()
    return int.from_bytes(hashlib.sha256(seed).digest()[:8], "big") or 1


def redact(path: str) -> str:
    """A path replaced by a stable digest: the same project groups together, its name does not leave."""
    return "sha256:" + hashlib.sha256(path.encode()).hexdigest()[:16]


def span_name(facts: RequestFacts) -> str:
    """``{operation} {model}``, as the GenAI conventions name a chat span."""
    return f"chat {base_model(facts.model)}"


def span_attributes(facts: RequestFacts, *, user: str, redact_paths: bool = False) -> Attributes:
    """Every attribute of one request's span (None values left out: OTLP has no null)."""
    b = facts.billed
    prompt = b.input + b.cache_read + b.cache_write_5m + b.cache_write_1h
    cache_write = b.cache_write_5m + b.cache_write_1h
    message_id = facts.key.split(":", 1)[0]
    project = facts.project
    if project is not None and redact_paths:
        project = redact(project)
    attrs: dict[str, object] = {
        # OpenTelemetry GenAI semantic conventions.
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "anthropic",
        "gen_ai.system": "anthropic",  # the attribute's name before provider.name; many receivers still read it
        "gen_ai.request.model": facts.model,
        "gen_ai.response.model": base_model(facts.model),
        "gen_ai.response.id": message_id,
        "gen_ai.conversation.id": facts.session_id,
        "gen_ai.usage.input_tokens": prompt,
        "gen_ai.usage.output_tokens": b.output,
        "gen_ai.usage.cache_read.input_tokens": b.cache_read,
        "gen_ai.usage.cache_creation.input_tokens": cache_write,
        # OpenInference conventions, where they differ.
        "openinference.span.kind": "LLM",
        "llm.provider": "anthropic",
        "llm.system": "anthropic",
        "llm.model_name": base_model(facts.model),
        "llm.token_count.prompt": prompt,
        "llm.token_count.completion": b.output,
        "llm.token_count.total": prompt + b.output,
        "llm.token_count.prompt_details.cache_read": b.cache_read,
        "llm.token_count.prompt_details.cache_write": cache_write,
        "session.id": facts.session_id,
        "user.id": user,
        # ctxtop's own, exact.
        f"{NS}.request.key": facts.key,
        f"{NS}.source": facts.source,
        f"{NS}.chain": facts.chain,
        f"{NS}.subagent": facts.chain != MAIN,
        f"{NS}.user": user,
        f"{NS}.tokens.input": b.input,
        f"{NS}.tokens.output": b.output,
        f"{NS}.tokens.cache_read": b.cache_read,
        f"{NS}.tokens.cache_write_5m": b.cache_write_5m,
        f"{NS}.tokens.cache_write_1h": b.cache_write_1h,
        f"{NS}.reread_tokens": facts.reread_tokens,
        f"{NS}.context.tokens_after": facts.context_after,
        f"{NS}.long_context": facts.long_context_from > 0,
        f"{NS}.long_context.from_tokens": facts.long_context_from,
        f"{NS}.web_search_requests": facts.web_search,
        f"{NS}.web_fetch_requests": facts.web_fetch,
        f"{NS}.compaction_call": facts.compaction_call,
        f"{NS}.service_tier": facts.service_tier,
        f"{NS}.speed": facts.speed,
        f"{NS}.project.path": project,
        f"{NS}.git_branch": facts.git_branch,
    }
    if facts.window:
        attrs[f"{NS}.context.window"] = facts.window
        attrs[f"{NS}.context.fill_after"] = round(facts.context_after / facts.window, 6)
    cost = facts.cost
    attrs[f"{NS}.cost.priced"] = cost is not None
    if cost is not None:
        attrs[f"{NS}.cost.usd"] = money(cost.total)
        for part in ("input", "output", "cache_read", "cache_write_5m", "cache_write_1h", "web_search"):
            attrs[f"{NS}.cost.{part}_usd"] = money(getattr(cost, part))
        # OpenInference's cost attributes are floats: for display only; ctxtop.cost.usd is the exact figure.
        attrs["llm.cost.total"] = float(cost.total)
        attrs["llm.cost.prompt"] = float(cost.total - cost.output - cost.web_search)
        attrs["llm.cost.completion"] = float(cost.output)
    return {k: v for k, v in attrs.items() if v is not None}  # type: ignore[misc]


def resource_attributes(
    *, version: str, host: str, user: str, team: str = "", project: str = ""
) -> Attributes:
    """The resource of every span and metric: who exported it, from where, under which labels."""
    attrs: Attributes = {
        "service.name": "ctxtop",
        "service.version": version,
        "host.name": host,
        "user.name": user,
        f"{NS}.user": user,
        # Phoenix files spans under this project (default: its "default" project).
        "openinference.project.name": project or "ctxtop",
    }
    if team:
        attrs[f"{NS}.team"] = team
    if project:
        attrs[f"{NS}.project"] = project
    return attrs


@dataclass(frozen=True, slots=True)
class Point:
    """One gauge reading: a metric name, its value and the attributes that identify the series."""

    name: str
    value: int | float
    unit: str
    attributes: Attributes


def session_points(
    session_id: str, source: str, tokens: Tokens, cost: Decimal | None, reread_ratio: float, requests: int
) -> list[Point]:
    """Per-session gauges: current totals, so sending them again is harmless (the latest value wins)."""
    base: Attributes = {
        "session.id": session_id,
        "gen_ai.conversation.id": session_id,
        f"{NS}.source": source,
    }
    points = [
        Point(f"{NS}.session.tokens", getattr(tokens, t), "{token}", {**base, "gen_ai.token.type": t})
        for t in TOKEN_TYPES
    ]
    points.append(Point(f"{NS}.session.requests", requests, "{request}", base))
    points.append(Point(f"{NS}.session.reread_ratio", round(reread_ratio, 6), "1", base))
    if cost is not None:
        points.append(
            Point(f"{NS}.session.cost", float(cost), "USD", {**base, f"{NS}.cost.usd": money(cost) or ""})
        )
    return points


def day_points(
    day: str, tokens: Tokens, cost: Decimal, requests: int, reread_ratio: float = 0.0
) -> list[Point]:
    """Per-day gauges (a local day, ``YYYY-MM-DD``) over the sessions exported."""
    base: Attributes = {f"{NS}.day": day}
    points = [
        Point(f"{NS}.day.tokens", getattr(tokens, t), "{token}", {**base, "gen_ai.token.type": t})
        for t in TOKEN_TYPES
    ]
    points.append(Point(f"{NS}.day.requests", requests, "{request}", base))
    points.append(Point(f"{NS}.day.reread_ratio", round(reread_ratio, 6), "1", base))
    points.append(Point(f"{NS}.day.cost", float(cost), "USD", {**base, f"{NS}.cost.usd": money(cost) or ""}))
    return points
