"""The window a rollout records: the latest token_count's model_context_window, found from the end."""

from __future__ import annotations

import json
from pathlib import Path

from ctxtop.sources.codex import window
from ctxtop.sources.codex.window import recorded_window
from tests.sources.codex.expected import CODEX_HOME, CONTEXT, FILES


def test_fixture_windows() -> None:
    for sid, rel in FILES.items():
        assert recorded_window(str(CODEX_HOME / rel)) == CONTEXT[sid][1]
    cli = json.loads((CODEX_HOME / "cli-scenarios.json").read_text())
    assert recorded_window(str(CODEX_HOME / cli["plain"]["file"])) == 258400  # what Codex 0.169.0 wrote


def test_the_latest_event_wins_and_lookalikes_do_not_count(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(window, "CHUNK", 64)  # many blocks: lines cut across block edges
    path = tmp_path / "rollout-x.jsonl"

    def event(w: int) -> str:
        info = {"total_token_usage": {}, "last_token_usage": {}, "model_context_window": w}
        return json.dumps(
            {"timestamp": "t", "type": "event_msg", "payload": {"type": "token_count", "info": info}}
        )

    mention = json.dumps({"type": "response_item", "payload": {"text": '"model_context_window": 5'}})
    path.write_text(
        "\n".join([event(272000), "x" * 300, event(128000), mention, '{"half": "model_context_window"'])
    )
    assert recorded_window(str(path)) == 128000
    assert recorded_window(str(tmp_path / "missing.jsonl")) is None
    path.write_text(mention + "\n")
    assert recorded_window(str(path)) is None
