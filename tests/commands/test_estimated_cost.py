"""A cost priced at the base rate because the price data lacks a variant that applies (batch before the
model's first batch date, ``speed: fast`` on a model with no fast rate) is marked estimated, with the reason,
in ``report sessions --json`` and ``doctor`` (issue 8). Real transcripts of the CLI, their requests re-dated or
re-flagged as a batch or fast run would have written them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

from tests.support.fixtures import scenario

REFACTOR, NOISY = scenario("refactor"), scenario("noisy")
BATCH = "no batch price for claude-opus-4-8 on that day: priced at the base rate"
FAST = "no speed fast price for claude-sonnet-4-5-20250929 on that day: priced at the base rate"


def _ctxtop(*args: str) -> str:
    proc = subprocess.run([sys.executable, "-m", "ctxtop", *args], capture_output=True, text=True,
                          env=os.environ, timeout=120)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def _variant(src: Path, dst: Path, *, days: int = 0, tier: str | None = None, speed: str | None = None,
             model: str | None = None) -> None:  # fmt: skip
    dst.parent.mkdir(parents=True, exist_ok=True)
    out = []
    for raw in src.read_text().splitlines():
        o = json.loads(raw)
        if days and isinstance(o.get("timestamp"), str):
            when = datetime.fromisoformat(o["timestamp"].replace("Z", "+00:00")) + timedelta(days=days)
            o["timestamp"] = when.isoformat().replace("+00:00", "Z")
        message = o.get("message")
        if isinstance(message, dict) and isinstance(message.get("usage"), dict):
            if tier is not None:
                message["usage"]["service_tier"] = tier
            if speed is not None:
                message["usage"]["speed"] = speed
            if model is not None and "model" in message:
                message["model"] = model
        out.append(json.dumps(o) + "\n")
    dst.write_text("".join(out))


def _sessions(claude: Path, data: Path) -> dict[str, dict]:
    rows = json.loads(
        _ctxtop("report", "sessions", "--json", "--claude-dir", str(claude), "--data-dir", str(data))
    )
    return {r["session_id"]: r for r in rows}


def test_a_missing_batch_or_fast_price_is_priced_at_base_and_marked_estimated(tmp_path: Path) -> None:
    claude = tmp_path / "claude"
    # 18 months earlier: claude-opus-4-8's batch price did not exist yet; on the fixture's own day it does.
    early = -548
    _variant(REFACTOR.path, claude / REFACTOR.relpath(), days=early, tier="batch")
    base = tmp_path / "base" / REFACTOR.relpath()
    _variant(REFACTOR.path, base, days=early)
    dated = tmp_path / "dated" / REFACTOR.relpath()
    _variant(REFACTOR.path, dated, tier="batch")
    _variant(NOISY.path, claude / NOISY.relpath(), speed="fast", model="claude-sonnet-4-5-20250929")
    plain = tmp_path / "plain" / NOISY.relpath()
    _variant(NOISY.path, plain, model="claude-sonnet-4-5-20250929")

    got = _sessions(claude, tmp_path / "d")
    batch, fast = got[REFACTOR.session_id], got[NOISY.session_id]
    assert (batch["cost_estimated"], batch["cost_estimated_reasons"]) == (True, [BATCH])
    assert (fast["cost_estimated"], fast["cost_estimated_reasons"]) == (True, [FAST])
    # Priced at the base rate: the same as the standard-tier requests of the same day and model.
    at_base = _sessions(tmp_path / "base", tmp_path / "d1")[REFACTOR.session_id]
    assert batch["cost_usd"] == at_base["cost_usd"] and not at_base["cost_estimated"]
    assert fast["cost_usd"] == _sessions(tmp_path / "plain", tmp_path / "d2")[NOISY.session_id]["cost_usd"]
    # Where the batch price exists, it is used (below the base rate) and nothing is estimated.
    priced = _sessions(tmp_path / "dated", tmp_path / "d3")[REFACTOR.session_id]
    assert (priced["cost_estimated"], priced["cost_estimated_reasons"]) == (False, [])
    assert Decimal(priced["cost_usd"]) < Decimal(at_base["cost_usd"])

    report = json.loads(
        _ctxtop("doctor", "--json", "--claude-dir", str(claude), "--data-dir", str(tmp_path / "d"))
    )
    assert report["estimated_costs"] == sorted([BATCH, FAST])
    text = _ctxtop("doctor", "--claude-dir", str(claude), "--data-dir", str(tmp_path / "d"))
    assert f"Estimated cost: {BATCH}\n" in text and f"Estimated cost: {FAST}\n" in text
