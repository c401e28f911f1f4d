"""Budget and anomaly alerts in the live TUI: a request appended to a real transcript on disk passes the
session's hard limit and invalidates its cache; the alerts (with their reasons) reach the log, the banner and
the notifications once each."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from tests.support.fixtures import scenario
from tests.ui.conftest import World, loaded, wait_for

SID = scenario("refactor").session_id  # $1.95


def _invalidated_request(lines: list[bytes]) -> bytes:
    """A copy of the session's last model call, 10 s later, whose cache was lost: 86K tokens written again."""
    last = json.loads(next(line for line in reversed(lines) if b'"type":"assistant"' in line))
    when = datetime.fromisoformat(last["timestamp"].replace("Z", "+00:00")) + timedelta(seconds=10)
    last["timestamp"] = when.isoformat().replace("+00:00", "Z")
    last["uuid"] = "11111111-2222-4333-8444-555555555555"
    last["requestId"] = "req_invalidated"
    last["message"]["id"] = "msg_invalidated"
    last["message"]["usage"].update(
        input_tokens=6, cache_read_input_tokens=0, cache_creation_input_tokens=86_000, output_tokens=50,
        cache_creation={"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 86_000},
    )  # fmt: skip
    return (json.dumps(last) + "\n").encode()


async def test_hard_limit_and_anomalies_alert_once_with_their_reasons(world: World) -> None:
    world.write_config("[budgets]\nsession_usd_hard = 2.50\n")
    path = next(world.claude.glob(f"projects/*/{SID}.jsonl"))
    lines = path.read_bytes().splitlines(keepends=True)
    app = world.app(watch=True)
    async with app.run_test(size=(120, 36)) as pilot:
        await loaded(pilot, app, 3)
        assert not any(
            "hard limit" in m or m.startswith("Unusual") for m in app.alert_log
        )  # the fixtures: none
        with path.open("ab") as fh:
            fh.write(_invalidated_request(lines))
        await wait_for(pilot, lambda: any("hard limit" in m for m in app.alert_log))
        await wait_for(pilot, lambda: any("the cache held 0%" in m for m in app.alert_log))
        await pilot.pause()
        hard = [m for m in app.alert_log if "hard limit" in m]
        assert hard == [
            f"The session hard limit ($2.50) is passed: $2.81 spent, $0.31 over (session {SID[:8]})."
        ]
        unusual = [m for m in app.alert_log if m.startswith("Unusual:")]
        assert any("a request costing $0.8613, 6.9× the median" in m for m in unusual), unusual
        assert any(f"session {SID[:8]}" in m and "against a usual 100%" in m for m in unusual), unusual
        assert {n.message for n in app._notifications} >= set(hard + unusual)
        assert set(hard + unusual) <= set(app.unacknowledged)


async def test_a_hard_limit_set_on_the_settings_screen_is_what_the_hook_enforces(world: World) -> None:
    import tomllib

    from textual.widgets import Input

    from ctxtop.commands.hook_budget import user_prompt_submit

    path = next(world.claude.glob(f"projects/*/{SID}.jsonl"))
    payload = {"session_id": SID, "transcript_path": str(path)}
    assert user_prompt_submit(payload) is None
    app = world.app()
    async with app.run_test(size=(120, 36)) as pilot:
        await loaded(pilot, app, 3)
        await pilot.press("s")
        field = app.screen.query_one("#set-budgets-session_usd_hard", Input)
        field.focus()
        field.value = ""
        await pilot.press(*"1.5", "enter")
        config = world.config_dir / "config.toml"
        await wait_for(pilot, lambda: config.exists() and "session_usd_hard" in config.read_text())
    assert tomllib.loads(config.read_text())["budgets"]["session_usd_hard"] == 1.5
    reply = json.loads(user_prompt_submit(payload) or "{}")
    assert reply["decision"] == "block" and "the session hard limit ($1.50) is passed" in reply["reason"]
