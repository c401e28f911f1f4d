"""The chunk check (``jsonl.all_objects``, msgspec) that lets a cold index decode only the lines it parses:
it must never accept a line ``decode_line`` (``JSON.parse``'s behaviour) would count as malformed, and
whichever path a chunk takes, the facts and counts come out the same. Fed the fuzz's mutations of the
fixture transcripts (written by the real CLI)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ctxtop.adapters import jsonl
from ctxtop.adapters.index import ParsedLines, parse_lines
from ctxtop.sources.claude_code.source import ClaudeCode
from tests.support.fuzz_transcripts import KINDS, Mutation, mutate, reference_malformed

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "claude"
TRANSCRIPTS = sorted(FIXTURES.glob("projects/*/*.jsonl"))

mutations = st.builds(
    Mutation,
    kind=st.sampled_from(KINDS),
    where=st.floats(min_value=0, max_value=1),
    n=st.integers(min_value=0, max_value=2**16),
)
SETTINGS = settings(
    max_examples=150,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _mutated(which: int, changes: list[Mutation]) -> bytes:
    data = TRANSCRIPTS[which % len(TRANSCRIPTS)].read_bytes()
    for change in changes:
        data = mutate(data, change)
    return data


@SETTINGS
@given(which=st.integers(0, 10), changes=st.lists(mutations, min_size=1, max_size=5))
def test_the_chunk_check_never_accepts_a_line_decode_line_rejects(
    monkeypatch: pytest.MonkeyPatch, which: int, changes: list[Mutation]
) -> None:
    monkeypatch.setattr(jsonl, "CHECK_MIN_BYTES", 0)
    for line in _mutated(which, changes).split(b"\n"):
        if not jsonl.all_objects([line]):
            continue  # that line goes by decode_line, whatever it is
        assert not reference_malformed(line), line[:200]
        assert isinstance(jsonl.decode_line(line), dict)


def _parse(lines: list[bytes], path: Path) -> tuple:
    ctx = ClaudeCode.context_for(path)
    out = ParsedLines(sessions={ctx.session_id}, file_session=ctx.session_id)
    parse_lines(lines, 0, str(path), ClaudeCode.markers, ClaudeCode.parser(ctx, None), out)
    return out.requests, out.compacts, out.metas, out.malformed, out.lines, out.first_ts, out.named


@SETTINGS
@given(which=st.integers(0, 10), changes=st.lists(mutations, min_size=0, max_size=3))
def test_both_paths_give_the_same_facts_and_counts(
    monkeypatch: pytest.MonkeyPatch, which: int, changes: list[Mutation]
) -> None:
    path = TRANSCRIPTS[which % len(TRANSCRIPTS)]
    lines = _mutated(which, changes).split(b"\n")[:-1]
    monkeypatch.setattr(jsonl, "CHECK_MIN_BYTES", 0)
    fast = _parse(lines, path)
    monkeypatch.setattr(jsonl, "all_objects", lambda lines: False)
    assert fast == _parse(lines, path)
    assert fast[3] == sum(reference_malformed(line) for line in lines)


@pytest.mark.skipif(not jsonl._BOUNDED, reason="CPython 3.11 only: from 3.12 every line goes by decode_line")
def test_an_intact_transcript_takes_the_chunk_path(monkeypatch: pytest.MonkeyPatch) -> None:
    lines = TRANSCRIPTS[0].read_bytes().split(b"\n")[:-1]
    assert not jsonl.all_objects(lines[:3]) or jsonl._check_object is not None  # small: not worth msgspec
    monkeypatch.setattr(jsonl, "CHECK_MIN_BYTES", 0)
    assert jsonl.all_objects(lines)
    assert not jsonl.all_objects([*lines, b"[]"])  # not an object: line by line, where it is counted


@pytest.mark.skipif(not jsonl._BOUNDED, reason="CPython 3.11 only: from 3.12 every line goes by decode_line")
def test_a_few_lines_never_load_msgspec(tmp_path: Path) -> None:
    # The statusline and a live tail read a few lines: they must not pay for importing msgspec.
    script = (
        "import sys\nfrom pathlib import Path\nfrom ctxtop.adapters import jsonl\n"
        f"lines = Path({str(TRANSCRIPTS[0])!r}).read_bytes().split(b'\\n')[:5]\n"
        "assert not jsonl.all_objects(lines)\nassert 'msgspec' not in sys.modules\n"
        "assert jsonl.all_objects(lines * 2000)\nassert 'msgspec' in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True, cwd=tmp_path)


@settings(max_examples=300, derandomize=True, deadline=None, database=None)
@given(
    before=st.binary(max_size=300),
    after=st.binary(max_size=300),
    needle=st.sampled_from(ClaudeCode.markers),
    cut=st.integers(0, 20),
    planted=st.booleans(),
)
def test_the_simd_marker_search_agrees_with_the_in_operator(
    before: bytes, after: bytes, needle: bytes, cut: int, planted: bool
) -> None:
    from stringzilla import contains

    # The needle whole, or cut short (a near miss), anywhere in arbitrary bytes.
    line = before + (needle if planted else needle[: cut % len(needle)]) + after
    for marker in ClaudeCode.markers:
        assert contains(line, marker) == (marker in line)
