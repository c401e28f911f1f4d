"""Cross-check against ccusage (npm, pinned): per-session token totals must match exactly on the corpus.

Both tools read the same real transcripts (``tests/fixtures/claude``, written by Claude Code 2.1.197 against
the fake API, and the public sessions of ``../shared/corpus/public`` when present), laid out as config dirs. Costs are compared too, but only printed: the two tools price from
different tables (genai-prices vs ccusage's bundled LiteLLM snapshot), see README.
"""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.support.claude_cli import CCUSAGE_BIN, copy_tree, require_binary
from tests.support.fixtures import FIXTURES

pytestmark = pytest.mark.timeout(60)


def _config_dir(name: str, tmp_path: Path, request: pytest.FixtureRequest) -> Path:
    if name == "claude":
        return FIXTURES  # already a config dir; both tools only read it
    public = request.getfixturevalue("public_corpus")
    cfg = tmp_path / "public-config"
    copy_tree(public / "projects", cfg / "projects")
    return cfg


def _env(home: Path, config_dir: Path) -> dict[str, str]:
    # A bare environment: ccusage 20 also reads other agents' data under HOME, so HOME is empty.
    return {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(home), "CLAUDE_CONFIG_DIR": str(config_dir),
            "TZ": "UTC", "LANG": "C.UTF-8", "NO_COLOR": "1"}  # fmt: skip


def _run(args: list[str], env: dict[str, str]) -> Any:
    proc = subprocess.run(args, env=env, capture_output=True, text=True, timeout=50, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, f"{' '.join(args)} exited {proc.returncode}:\n{proc.stderr[-3000:]}"
    return json.loads(proc.stdout)


@pytest.mark.parametrize("corpus", ["claude", "public"])
def test_session_token_totals_match_ccusage(
    corpus: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    ccusage = require_binary(CCUSAGE_BIN)
    config_dir = _config_dir(corpus, tmp_path, request)
    home = tmp_path / "home"
    home.mkdir()
    env = _env(home, config_dir)

    theirs = {s["period"]: s for s in _run([str(ccusage), "session", "--offline", "--json"], env)["session"]}
    ours_rows = _run(
        [sys.executable, "-m", "ctxtop", "report", "sessions", "--json",
         "--claude-dir", str(config_dir), "--cache-dir", str(tmp_path / "cache")],
        env,
    )  # fmt: skip
    ours = {r["session_id"]: r for r in ours_rows if r["source"] == "claude"}

    assert theirs, "ccusage found no session in the corpus"
    assert sorted(ours) == sorted(theirs)
    print(f"\n{corpus}: session, ctxtop cost, ccusage cost, difference (USD)")
    for sid, them in sorted(theirs.items()):
        t = ours[sid]["tokens"]
        assert {
            "input": t["input"],
            "output": t["output"],
            "cache_read": t["cache_read"],
            "cache_create": t["cache_write_5m"] + t["cache_write_1h"],
        } == {
            "input": them["inputTokens"],
            "output": them["outputTokens"],
            "cache_read": them["cacheReadTokens"],
            "cache_create": them["cacheCreationTokens"],
        }, sid
        cost = ours[sid]["cost_usd"]
        their_cost = Decimal(str(them["totalCost"]))
        diff = "n/a" if cost is None else f"{Decimal(cost) - their_cost:+.9f}"
        print(f"  {sid}  {cost}  {their_cost}  {diff}  models={them['modelsUsed']}")
