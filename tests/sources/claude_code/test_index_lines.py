"""The index's narrow decode of transcript lines (``index_lines.index_facts``) against ``parse_claude`` on the
full decode: the same facts (requests as ``flat_request`` rows), or None and the full path decides."""

from __future__ import annotations

import json
from pathlib import Path

import orjson

from ctxtop.core.records import CompactRecord, Meta, RequestRecord, flat_request
from ctxtop.sources.claude_code.index_lines import index_facts
from ctxtop.sources.claude_code.source import ClaudeCode
from ctxtop.sources.claude_code.transcript import parse_claude

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "claude"


def _marker_lines(root: Path) -> list[tuple[Path, bytes]]:
    out = []
    for path in sorted(root.glob("projects/**/*.jsonl")):
        for raw in path.read_bytes().split(b"\n"):
            if any(m in raw for m in ClaudeCode.markers):
                out.append((path, raw))
    return out


def _slow(raw: bytes, path: Path, key: str) -> list:
    facts = parse_claude(orjson.loads(raw), ClaudeCode.context_for(path), key)
    return [flat_request(f) if isinstance(f, RequestRecord) else f for f in facts
            if isinstance(f, (RequestRecord, Meta, CompactRecord))]  # fmt: skip


def _same(raw: bytes, path: Path) -> bool:
    """True when the narrow decode took the line (and agreed); False when it declined it."""
    key = f"{path}:0"
    got = index_facts(raw, ClaudeCode.context_for(path), key)
    if got is None:
        return False
    facts, named = got
    assert facts == _slow(raw, path, key), raw[:300]
    obj = orjson.loads(raw)
    assert named == obj.get("sessionId", obj.get("session_id"))
    return True


def test_every_marker_line_of_the_fixtures_gives_parse_claudes_facts() -> None:
    lines = _marker_lines(FIXTURES)
    taken = sum(_same(raw, path) for path, raw in lines)
    assert len(lines) >= 50 and taken == len(lines)  # the real CLI's lines are all plainly typed


def test_every_marker_line_of_the_public_corpus_gives_parse_claudes_facts(public_corpus: Path) -> None:
    lines = _marker_lines(public_corpus)
    taken = sum(_same(raw, path) for path, raw in lines)
    assert len(lines) > 300 and taken > 0.99 * len(lines)


ODD = (None, True, False, 1.5, -1, 0, 2**53 + 1, 2**70, "", "x", [], {}, [1], {"type": "x"})
FIELDS = (
    ("type",), ("timestamp",), ("isSidechain",), ("agentId",), ("cwd",), ("gitBranch",), ("version",),
    ("sessionId",), ("session_id",), ("requestId",), ("subtype",), ("message",), ("message", "id"),
    ("message", "model"), ("message", "usage"), ("message", "usage", "input_tokens"),
    ("message", "usage", "output_tokens"), ("message", "usage", "cache_read_input_tokens"),
    ("message", "usage", "cache_creation_input_tokens"), ("message", "usage", "cache_creation"),
    ("message", "usage", "cache_creation", "ephemeral_1h_input_tokens"),
    ("message", "usage", "cache_creation", "ephemeral_5m_input_tokens"), ("message", "usage", "server_tool_use"),
    ("message", "usage", "server_tool_use", "web_search_requests"), ("message", "usage", "iterations"),
    ("message", "usage", "service_tier"), ("message", "usage", "speed"), ("compactMetadata",),
    ("compactMetadata", "preTokens"), ("compactMetadata", "postTokens"), ("compactMetadata", "trigger"),
)  # fmt: skip


def _dumps(obj: object) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()  # orjson cannot write a 70-bit integer


def _set(obj: dict, where: tuple[str, ...], value: object) -> bool:
    for key in where[:-1]:
        obj = obj.get(key)
        if not isinstance(obj, dict):
            return False
    obj[where[-1]] = value
    return True


def test_a_field_of_any_other_type_or_range_gives_the_same_facts_or_is_declined() -> None:
    # A compact boundary, an assistant line with usage (iterations added), the same as a subagent file's.
    lines = _marker_lines(FIXTURES)
    picks = [next((p, r) for p, r in lines if b'"compact_boundary"' in r),
             next((p, r) for p, r in lines if b'"type":"assistant"' in r),
             next((p.with_suffix("") / "subagents" / "agent-a1.jsonl", r) for p, r in lines
                  if b'"type":"assistant"' in r)]  # fmt: skip
    iterations = [{"type": "compaction", "input_tokens": 7, "output_tokens": 3}, {"type": "message"}]
    taken = declined = 0
    for path, raw in picks:
        base = orjson.loads(raw)
        if isinstance(base.get("message"), dict) and isinstance(base["message"].get("usage"), dict):
            base["message"]["usage"]["iterations"] = iterations
        assert _same(_dumps(base), path)
        for where in FIELDS:
            for value in ODD:
                obj = orjson.loads(_dumps(base))
                if _set(obj, where, value):
                    if _same(_dumps(obj), path):
                        taken += 1
                    else:
                        declined += 1
                obj = orjson.loads(_dumps(base))
                if len(where) == 1 or _set(obj, where[:-1], {}):
                    obj_parent = obj
                    for key in where[:-1]:
                        obj_parent = obj_parent[key]
                    obj_parent.pop(where[-1], None)  # the field missing
                    _same(_dumps(obj), path)
    assert taken > 100 and declined > 100  # both ways were exercised
