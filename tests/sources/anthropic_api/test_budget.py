"""``monitor(client, budget=ApiBudget(...))``: the real SDK against the local fake Messages API. Past a hard
limit the call raises BudgetExceeded and the server receives nothing; near it, a client-side policy compacts."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import anthropic
import pytest

from ctxtop.api import ApiBudget, BudgetExceeded, CompactionPolicy, monitor, session
from ctxtop.sources.anthropic_api.log import iter_api_records
from tests.support.fake_api import FakeAPI, RecordedRequest, Reply, Usage, text
from tests.support.sdk import sync_client

KEY = "sk-ant-dummy"
MODEL = "claude-sonnet-4-6"  # $3/M input, $15/M output
BIG = Usage(input_tokens=100_000, output_tokens=1_000)  # $0.315


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    monkeypatch.delenv("ANTHROPIC_BASE_URL", raising=False)
    monkeypatch.setenv("CTXTOP_API_LOG_DIR", str(tmp_path))


def _ask(client: Any, content: str = "hi", **kw: Any) -> Any:
    return client.messages.create(
        model=MODEL, max_tokens=50, messages=[{"role": "user", "content": content}], **kw
    )


def test_session_hard_limit_raises_before_sending(fake_api: FakeAPI, tmp_path: Path) -> None:
    fake_api.script([text("one", usage=BIG), text("two"), text("three")], side_requests=False)
    client = monitor(sync_client(base_url=fake_api.url), log_dir=tmp_path, session_id="s1",
                     budget=ApiBudget(session_usd="0.30"))  # fmt: skip
    assert _ask(client).content[0].text == "one"
    with pytest.raises(BudgetExceeded) as caught:
        _ask(client, "second")
    assert len(fake_api.messages) == 1  # nothing reached the server
    exc = caught.value
    assert (exc.level, exc.unit, exc.spent, exc.limit, exc.session_id) == (
        "session", "usd", Decimal("0.315"), Decimal("0.30"), "s1"
    )  # fmt: skip
    assert "the session hard limit ($0.30) is passed: $0.32 spent" in str(exc)
    with pytest.raises(BudgetExceeded):  # streams are checked before they open too
        with client.messages.stream(
            model=MODEL, max_tokens=5, messages=[{"role": "user", "content": "x"}]
        ) as s:
            s.until_done()
    assert len(fake_api.messages) == 1 and len(list(iter_api_records(session(client).log_path))) == 1
    # Raising the limit lets the session go on.
    session(client).budget = ApiBudget(session_usd=1)
    assert _ask(client, "third").content[0].text == "two"


def test_request_and_token_limits_and_async(fake_api: FakeAPI, tmp_path: Path) -> None:
    fake_api.script([text("one", usage=BIG), text("two", usage=BIG)], side_requests=False)
    client = monitor(
        sync_client(base_url=fake_api.url), log_dir=tmp_path, budget=ApiBudget(request_tokens=90_000)
    )
    _ask(client)
    with pytest.raises(
        BudgetExceeded,
        match=r"request hard limit \(90,000 tokens\) is passed: the latest prompt was 100,000 tokens, 10,000 tokens over",
    ):
        _ask(client)
    assert len(fake_api.messages) == 1

    import asyncio

    async def run() -> None:
        raw = anthropic.AsyncAnthropic(base_url=fake_api.url, api_key=KEY, max_retries=0)
        aclient = monitor(raw, log_dir=tmp_path, budget=ApiBudget(session_tokens=100_000))
        await aclient.messages.create(model=MODEL, max_tokens=5, messages=[{"role": "user", "content": "a"}])
        with pytest.raises(BudgetExceeded, match="session hard limit"):
            await aclient.messages.create(
                model=MODEL, max_tokens=5, messages=[{"role": "user", "content": "b"}]
            )

    asyncio.run(run())
    assert len(fake_api.messages) == 2


def test_bad_budget_is_refused_at_monitor(fake_api: FakeAPI, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="soft_pct"):
        monitor(
            sync_client(base_url=fake_api.url), log_dir=tmp_path, budget=ApiBudget(session_usd=1, soft_pct=0)
        )
    with pytest.raises(ValueError, match="0 or more"):
        monitor(sync_client(base_url=fake_api.url), log_dir=tmp_path, budget=ApiBudget(session_usd=-1))


def _answers(request: RecordedRequest) -> Reply:
    if "compact the history" in str(request.body.get("system")):
        return Reply(text="SUMMARY", usage=Usage(input_tokens=3000, output_tokens=300))
    n = len(request.body["messages"])
    return Reply(text=f"answer {n}", usage=Usage(input_tokens=20_000 * n, output_tokens=10))


def test_near_the_limit_compacts_once_with_the_clients_policy(fake_api: FakeAPI, tmp_path: Path) -> None:
    fake_api.script(_answers, side_requests=False)
    # A window so large the policy's own threshold never triggers: only the budget makes it compact.
    policy = CompactionPolicy(window=100_000_000, notes="- keep: the parser port", keep_recent_turns=1)
    client = monitor(sync_client(base_url=fake_api.url), log_dir=tmp_path, compact=policy,
                     budget=ApiBudget(session_usd="1.00", soft_pct=50))  # fmt: skip
    history: list[dict[str, Any]] = []
    for i in range(4):  # prompts of 20K, 60K, 100K tokens: $0.06 + $0.18 + $0.30 = $0.54, past 50% of $1
        history.append({"role": "user", "content": f"turn {i}"})
        reply = client.messages.create(model=MODEL, max_tokens=50, messages=history)
        history.append({"role": "assistant", "content": reply.content})
        if i < 3:
            assert len(fake_api.messages) == i + 1
    summariser, main = fake_api.messages[3:]
    assert "compact the history" in str(summariser.body.get("system"))
    assert len(main.body["messages"]) < len(history) - 1  # the older turns went into the summary
    compacted = session(client).last_compaction
    assert compacted is not None and compacted.summary == "SUMMARY"
    # Once only: the next request is sent as it is, until the hard limit stops the session.
    history.append({"role": "user", "content": "turn 4"})
    client.messages.create(model=MODEL, max_tokens=50, messages=history)
    assert "compact the history" not in str(fake_api.messages[-1].body.get("system"))


def test_budget_from_ctxtops_config(
    fake_api: FakeAPI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config_dir = tmp_path / "config"
    config_dir.mkdir()
    (config_dir / "config.toml").write_text("[budgets]\nsession_usd_hard = 0.30\nsoft_pct = 80\n")
    monkeypatch.setenv("CTXTOP_CONFIG_DIR", str(config_dir))
    budget = ApiBudget.from_config()
    assert (budget.session_usd, budget.session_tokens, budget.request_tokens, budget.soft_pct) == (
        0.3,
        None,
        None,
        80,
    )
    fake_api.script([text("one", usage=BIG), text("two")], side_requests=False)
    client = monitor(sync_client(base_url=fake_api.url), log_dir=tmp_path, budget=budget)
    _ask(client)
    with pytest.raises(BudgetExceeded):
        _ask(client)
    assert len(fake_api.messages) == 1
