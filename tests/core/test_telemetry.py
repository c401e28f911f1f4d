"""What a request's span says (core.telemetry): the GenAI sum, the parts, exact cost, stable ids, redaction."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ctxtop.core import telemetry
from ctxtop.core.pricing import Cost
from ctxtop.core.usage import Tokens


def _facts(**changes: object) -> telemetry.RequestFacts:
    base: dict[str, object] = dict(
        key="msg_1:req_1", session_id="s1", chain="main", ts=1_760_000_000.0, model="claude-opus-4-8[1m]",
        billed=Tokens(6, 50, 38_000, 339, 1_355), web_search=0, web_fetch=0, service_tier="standard",
        speed=None, compaction_call=False,
        cost=Cost(Decimal("0.00003"), Decimal("0.00125"), Decimal("0.019"), Decimal("0.00211875"),
                  Decimal("0.01355")),
        reread_tokens=38_050, context_after=39_750, window=1_000_000, long_context_from=0, source="claude",
        project="/home/me/proj", git_branch=None,
    )  # fmt: skip
    base.update(changes)
    return telemetry.RequestFacts(**base)  # type: ignore[arg-type]


def test_genai_input_counts_cached_tokens_and_parts_are_kept() -> None:
    a = telemetry.span_attributes(_facts(), user="alice")
    assert a["gen_ai.usage.input_tokens"] == 6 + 38_000 + 339 + 1_355
    assert a["gen_ai.usage.cache_read.input_tokens"] == 38_000
    assert a["gen_ai.usage.cache_creation.input_tokens"] == 339 + 1_355
    assert a["gen_ai.usage.output_tokens"] == 50
    assert a["llm.token_count.prompt"] == a["gen_ai.usage.input_tokens"]
    assert a["llm.token_count.total"] == a["gen_ai.usage.input_tokens"] + 50
    assert a["ctxtop.tokens.cache_write_1h"] == 1_355 and a["ctxtop.tokens.cache_write_5m"] == 339
    assert (
        a["gen_ai.request.model"] == "claude-opus-4-8[1m]" and a["gen_ai.response.model"] == "claude-opus-4-8"
    )
    assert a["gen_ai.response.id"] == "msg_1" and a["gen_ai.conversation.id"] == "s1"
    assert a["ctxtop.context.fill_after"] == 0.03975
    assert "ctxtop.git_branch" not in a  # None is left out: OTLP has no null


def test_cost_is_an_exact_decimal_string() -> None:
    a = telemetry.span_attributes(_facts(), user="alice")
    assert a["ctxtop.cost.usd"] == "0.0359487500"
    assert Decimal(a["ctxtop.cost.cache_write_1h_usd"]) == Decimal("0.01355")  # type: ignore[arg-type]
    unpriced = telemetry.span_attributes(_facts(cost=None), user="alice")
    assert unpriced["ctxtop.cost.priced"] is False and "ctxtop.cost.usd" not in unpriced
    assert "llm.cost.total" not in unpriced


@pytest.mark.parametrize(("chain", "subagent"), [("main", False), ("agent-a1", True)])
def test_chain(chain: str, subagent: bool) -> None:
    assert telemetry.span_attributes(_facts(chain=chain), user="u")["ctxtop.subagent"] is subagent


def test_ids_are_stable_and_distinct() -> None:
    assert telemetry.span_id("a:b") == telemetry.span_id("a:b") != telemetry.span_id("a:c")
    assert telemetry.trace_id("s1") == telemetry.trace_id("s1") != telemetry.trace_id("s2")
    assert 0 < telemetry.span_id("x") < 2**64 and 0 < telemetry.trace_id("x") < 2**128


def test_redacted_paths() -> None:
    a = telemetry.span_attributes(_facts(), user="u", redact_paths=True)
    assert a["ctxtop.project.path"] == telemetry.redact("/home/me/proj")
    assert str(a["ctxtop.project.path"]).startswith("sha256:") and "proj" not in str(a["ctxtop.project.path"])


def test_resource_labels() -> None:
    r = telemetry.resource_attributes(version="1", host="h", user="u", team="core", project="p")
    assert (
        r["service.name"] == "ctxtop"
        and r["ctxtop.team"] == "core"
        and r["openinference.project.name"] == "p"
    )
    assert "ctxtop.team" not in telemetry.resource_attributes(version="1", host="h", user="u")


def test_ids_differ_per_project_label() -> None:
    # Phoenix keys spans on their id across projects: another label is another data set, not a copy.
    assert telemetry.span_id("a:b", "team-a") != telemetry.span_id("a:b", "team-b")
    assert telemetry.trace_id("s1", "team-a") != telemetry.trace_id("s1", "team-b")
