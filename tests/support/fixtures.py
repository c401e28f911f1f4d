"""The transcripts the tests run on, and an independent reading of them.

``tests/fixtures/claude`` is a Claude Code config dir written by the real CLI against the fake API (regenerate
it with ``.venv/bin/python -m tests.support.make_fixtures``); ``scenarios.json`` beside it names each
scenario's session and holds what the fake API reported. ``PUBLIC`` is the third-party corpus of real
sessions (``../shared/corpus/public``), which is never copied into the repository: tests that need it take
the ``public_corpus`` fixture, which skips with a visible reason when it is absent and fails under CI.

``raw_totals`` re-reads a transcript without ctxtop's code (one pass over the JSON lines, deduplicated on
(``message.id``, ``requestId``) keeping the largest copy), so expectations never come from ctxtop itself.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures" / "claude"
SHARED = REPO.parent / "shared" / "corpus"
PUBLIC = SHARED / "public"
PUBLIC_MISSING = (
    f"needs the public real-session corpus at {PUBLIC} (third-party transcripts, not shipped in the repo)"
)

TOKEN_KEYS = ("input", "output", "cache_read", "cache_write_5m", "cache_write_1h")


@dataclass(frozen=True)
class Scenario:
    name: str
    session_id: str
    project_dir: str  # the encoded cwd Claude Code used as the folder name
    cwd: str
    model: str
    api_answers: tuple[dict[str, Any], ...]  # every answer the fake API gave, with its usage and kind
    api_errors: tuple[str, ...]

    @property
    def path(self) -> Path:
        return FIXTURES / "projects" / self.project_dir / f"{self.session_id}.jsonl"

    def relpath(self) -> Path:
        """The transcript's path inside a config dir."""
        return Path("projects") / self.project_dir / f"{self.session_id}.jsonl"

    def records(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.path.read_text().splitlines() if line.strip()]

    def answers(self, kind: str = "main") -> list[dict[str, Any]]:
        return [a for a in self.api_answers if a["kind"] == kind]


@cache
def _manifest() -> dict[str, Any]:
    return json.loads((FIXTURES / "scenarios.json").read_text())


def scenario(name: str) -> Scenario:
    s = _manifest()["scenarios"][name]
    return Scenario(
        name, s["session_id"], s["project_dir"], s["cwd"], s["model"],
        tuple(s["api_answers"]), tuple(s.get("api_errors", ())),
    )  # fmt: skip


def scenarios() -> list[Scenario]:
    return [scenario(name) for name in _manifest()["scenarios"]]


def api_tokens(answers: Iterable[dict[str, Any]]) -> dict[str, int]:
    """Token totals of fake-API answers (what the API billed), keyed like ``report sessions --json``."""
    total = dict.fromkeys(TOKEN_KEYS, 0)
    for a in answers:
        total["input"] += a["input_tokens"]
        total["output"] += a["output_tokens"]
        total["cache_read"] += a["cache_read_input_tokens"]
        total["cache_write_5m"] += a["cache_creation"]["ephemeral_5m_input_tokens"]
        total["cache_write_1h"] += a["cache_creation"]["ephemeral_1h_input_tokens"]
    return total


def _tokens(usage: dict[str, Any]) -> dict[str, int]:
    write = int(usage.get("cache_creation_input_tokens") or 0)
    one_hour = int((usage.get("cache_creation") or {}).get("ephemeral_1h_input_tokens") or 0)
    return {
        "input": int(usage.get("input_tokens") or 0),
        "output": int(usage.get("output_tokens") or 0),
        "cache_read": int(usage.get("cache_read_input_tokens") or 0),
        "cache_write_5m": write - one_hour,
        "cache_write_1h": one_hour,
    }


def raw_requests(paths: Iterable[Path]) -> dict[tuple[str, str], dict[str, int]]:
    """Each (message.id, requestId) of the assistant lines of ``paths`` with its largest usage copy."""
    best: dict[tuple[str, str], dict[str, int]] = {}
    for path in paths:
        for line in path.read_bytes().splitlines():
            try:
                rec = json.loads(line)
            except ValueError:
                continue
            msg = rec.get("message") if isinstance(rec, dict) else None
            if rec.get("type") != "assistant" or not isinstance(msg, dict) or not msg.get("usage"):
                continue
            key = (str(msg.get("id")), str(rec.get("requestId")))
            tokens = _tokens(msg["usage"])
            if key not in best or sum(tokens.values()) > sum(best[key].values()):
                best[key] = tokens
    return best


def raw_totals(paths: Iterable[Path]) -> dict[str, int]:
    total = dict.fromkeys(TOKEN_KEYS, 0)
    for tokens in raw_requests(paths).values():
        for k in TOKEN_KEYS:
            total[k] += tokens[k]
    return total


def last_activity() -> float:
    """The newest record timestamp of the fixtures (epoch seconds)."""
    newest = ""
    for path in FIXTURES.rglob("*.jsonl"):
        for line in path.read_text().splitlines():
            ts = json.loads(line).get("timestamp") or ""
            newest = max(newest, ts)
    return datetime.fromisoformat(newest.replace("Z", "+00:00")).timestamp()


@dataclass(frozen=True)
class Rereads:
    """The README's re-read rule recomputed over raw lines: R_k = min(P_k, P_(k-1) + O_(k-1)), reset at a
    compact boundary."""

    turns: int
    reread: int  # ΣR
    prompt: int  # ΣP
    cache_read: int
    context: int  # the latest request's prompt (Claude Code's figure: input + cache read + cache write)
    max_context: int
    cached_rereads: int  # Σ min(cache read_k, R_k): the re-read tokens that came from the cache


def rereads(path: Path) -> Rereads:
    order: list[tuple[str, str] | None] = []  # None marks a compact boundary
    best: dict[tuple[str, str], dict[str, int]] = {}
    for line in path.read_text().splitlines():
        rec = json.loads(line)
        if rec.get("subtype") == "compact_boundary":
            order.append(None)
            continue
        msg = rec.get("message") or {}
        if rec.get("type") != "assistant" or rec.get("isSidechain") or not msg.get("usage"):
            continue
        key = (str(msg.get("id")), str(rec.get("requestId")))
        tokens = _tokens(msg["usage"])
        if key not in best:
            order.append(key)
        if key not in best or sum(tokens.values()) > sum(best[key].values()):
            best[key] = tokens
    reread = prompt = cache_read = turns = context = max_context = cached_rereads = 0
    previous: int | None = None
    for key in order:
        if key is None:
            previous = None
            continue
        t = best[key]
        p = t["input"] + t["cache_read"] + t["cache_write_5m"] + t["cache_write_1h"]
        r = min(p, previous) if previous is not None else 0
        reread += r
        cached_rereads += min(t["cache_read"], r)
        prompt += p
        cache_read += t["cache_read"]
        turns += 1
        context = p
        max_context = max(max_context, context)
        previous = p + t["output"]
    return Rereads(turns, reread, prompt, cache_read, context, max_context, cached_rereads)
