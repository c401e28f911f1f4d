"""Mutations of real Claude Code transcripts, and an oracle for them (issue 15's fuzz: no crash, no hang,
malformed lines counted, an incremental index equal to a cold one). Shared by tests/adapters/test_index_fuzz.py
and benchmarks/fuzz_index.py."""

from __future__ import annotations

import json
import re
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from ctxtop.adapters.index import Index
from ctxtop.sources.claude_code.source import ClaudeCode
from ctxtop.sources.registry import Sources

# Single-file sessions of the shared corpus (small, so a case takes milliseconds), by path under the corpus.
TRANSCRIPTS = (
    "claude/projects/-tmp-cc-harness-mtk8gjjz-proj/52bd63cf-670a-4cba-99a4-f8306b8495c2.jsonl",
    "public/projects/-home-marco-projects-spotter/d6e0bada-1959-4eec-a9d2-0bfade768d8f.jsonl",
    "public/projects/-workspace/c45af7b1-cb7c-4e51-93db-8cbb250a877a.jsonl",
)

KINDS = (
    "flip", "truncate", "duplicate", "drop", "deep", "deep_wrap", "surrogate", "huge_int", "nan", "bom",
    "bad_utf8", "huge_compact", "crlf", "nul", "splice",
)  # fmt: skip

_TOKENS = re.compile(rb'"(output_tokens|input_tokens|cache_read_input_tokens)":\s*-?\d+')
_STRING_FIELD = re.compile(rb'"(model|cwd|sessionId|requestId|id|gitBranch)":"')
_SPECIALS = (b"NaN", b"Infinity", b"-Infinity", b"1e400", b"-1e400", b"1.5", b"-3")


@dataclass(frozen=True)
class Mutation:
    kind: str
    where: float
    """Position in [0, 1]: which line or byte."""
    n: int
    """A free parameter: depth, bit, value."""


def mutate(data: bytes, m: Mutation) -> bytes:
    lines = data.split(b"\n")
    i = min(int(m.where * len(lines)), len(lines) - 1)
    line = lines[i]
    if m.kind == "flip":
        if not data:
            return data
        pos = min(int(m.where * len(data)), len(data) - 1)
        return data[:pos] + bytes([data[pos] ^ (1 << (m.n % 8))]) + data[pos + 1 :]
    if m.kind == "truncate":
        return data[: int(m.where * len(data))]
    if m.kind == "splice":  # a chunk of the file written twice, as a torn write would
        pos = int(m.where * len(data))
        return data[:pos] + data[pos : pos + 1 + m.n % 4096] + data[pos:]
    if m.kind == "duplicate":
        lines.insert(i, line)
    elif m.kind == "drop":
        del lines[i]
    elif m.kind == "deep":
        depth = 900 + m.n % 2500
        lines[i] = b'{"type":"assistant","message":{"usage":' + b"[" * depth + b"]" * depth + b"}}"
    elif m.kind == "deep_wrap":
        depth = 1000 + m.n % 60  # around the 1,024 limit
        lines[i] = b'{"x":' * depth + (line or b"1") + b"}" * depth
    elif m.kind == "surrogate":
        escape = b"\\u%04x" % (0xD800 + m.n % 0x800)
        lines[i] = _STRING_FIELD.sub(lambda g: g.group(0) + escape, line, count=1 + m.n % 3)
    elif m.kind == "huge_int":
        value = b"%d" % (2**63 + m.n if m.n % 2 else 10 ** (19 + m.n % 30))
        lines[i] = _TOKENS.sub(lambda g: b'"' + g.group(1) + b'":' + value, line, count=1)
    elif m.kind == "nan":
        special = _SPECIALS[m.n % len(_SPECIALS)]
        lines[i] = _TOKENS.sub(lambda g: b'"' + g.group(1) + b'":' + special, line, count=1)
    elif m.kind == "bom":
        lines[i] = b"\xef\xbb\xbf" + line
    elif m.kind == "bad_utf8":
        pos = int(m.where * 997) % (len(line) + 1)
        lines[i] = line[:pos] + (b"\xff", b"\xc3", b"\xed\xa0\x80", b"\xf4\x90\x80\x80")[m.n % 4] + line[pos:]
    elif m.kind == "huge_compact":
        big = (2**64 - 1, 2**63, 10**30, -(2**63) - 1)[m.n % 4]
        boundary = {
            "type": "system", "subtype": "compact_boundary", "timestamp": "2026-11-20T10:00:00.000Z",
            "compactMetadata": {"trigger": "auto", "preTokens": big, "postTokens": big},
        }  # fmt: skip
        lines.insert(i, json.dumps(boundary).encode())
    elif m.kind == "crlf":
        lines[i] = line + b"\r"
    elif m.kind == "nul":
        pos = int(m.where * 991) % (len(line) + 1)
        lines[i] = line[:pos] + b"\0" + line[pos:]
    return b"\n".join(lines)


def _reject(name: str) -> object:
    raise ValueError(name)


def _depth(value: object) -> int:
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, depth)
            stack.extend((v, depth + 1) for v in (item.values() if isinstance(item, dict) else item))
    return deepest


def reference_malformed(line: bytes) -> bool:
    """Independent of ctxtop's decoder: what JSON.parse would reject (after Node's UTF-8 decoding), or
    nesting beyond 1,024 levels, or a value that is not an object."""
    if not line or line.isspace():
        return False
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 20_000))
    try:
        # Every number a double, as in JavaScript (an integer of over 4,300 digits too: int() refuses it).
        value = json.loads(line.decode("utf-8", "replace"), parse_constant=_reject, parse_int=float)
    except (ValueError, RecursionError):
        return True
    finally:
        sys.setrecursionlimit(limit)
    return not isinstance(value, dict) or _depth(value) > 1024


def expected_malformed(data: bytes) -> int:
    """Malformed complete lines (the bytes after the last newline are a line still being written)."""
    return sum(reference_malformed(line) for line in data.split(b"\n")[:-1])


def snapshot(index: Index) -> tuple:
    sessions = sorted(
        (s.session_id, s.requests, s.turns, s.tokens, s.cost_usd, s.context_tokens, s.reread_tokens)
        for s in index.sessions()
    )
    files = [(f.path, f.lines, f.malformed, f.offset) for f in index.files()]
    return sessions, files


def run_case(work: Path, rel: str, data: bytes, cuts: list[float]) -> tuple[tuple, tuple, int]:
    """(cold snapshot, incremental snapshot, expected malformed) of ``data`` written at ``rel`` under two
    fresh Claude Code config dirs: one written whole, one appended in chunks ending at ``cuts``."""
    shutil.rmtree(work, ignore_errors=True)
    out = []
    for name, points in (
        ("cold", [len(data)]),
        ("warm", sorted({int(c * len(data)) for c in cuts} | {len(data)})),
    ):
        root = work / name
        target = root / "claude" / "projects" / Path(rel).parent.name / Path(rel).name
        target.parent.mkdir(parents=True)
        target.write_bytes(b"")
        index = Index(root / "index.sqlite3")
        sources = Sources((ClaudeCode((root / "claude",)),))
        written = 0
        for point in points:
            with open(target, "ab") as fh:
                fh.write(data[written:point])
            written = point
            index.update(sources)
        snap = snapshot(index)
        index.close()
        # Paths differ between the two worlds: compare them relative to each world's root.
        out.append((snap[0], [(str(Path(p).relative_to(root)), *rest) for p, *rest in snap[1]]))
    return out[0], out[1], expected_malformed(data)
