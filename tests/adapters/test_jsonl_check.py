"""The chunk check (``jsonl.all_objects``, msgspec) that lets a cold index decode only the lines it parses:
it must never accept a line ``decode_line`` (``JSON.parse``'s behaviour) would count as malformed, and
whichever path a chunk takes, the facts and counts come out the same. Fed the fuzz's mutations of the
fixture transcripts (written by the real CLI)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ctxtop.adapters import jsonl
from ctxtop.adapters.index import ParsedLines, parse_block, parse_lines
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


def _read(read: Callable, data: object, path: Path) -> tuple:
    """What ``read`` (``parse_lines`` or ``parse_block``) makes of ``data`` as the start of ``path``."""
    ctx = ClaudeCode.context_for(path)
    out = ParsedLines(sessions={ctx.session_id}, file_session=ctx.session_id)
    read(data, 0, str(path), ClaudeCode.markers, ClaudeCode.parser(ctx, None), out)
    return out.requests, out.compacts, out.metas, out.malformed, out.lines, out.first_ts, out.named


def _parse(lines: list[bytes], path: Path) -> tuple:
    return _read(parse_lines, lines, path)


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


def _parse_block(data: bytes, path: Path) -> tuple:
    return _read(parse_block, memoryview(data), path)


@SETTINGS
@given(which=st.integers(0, 10), changes=st.lists(mutations, min_size=0, max_size=3))
def test_a_block_gives_the_facts_and_counts_of_its_lines_read_one_by_one(
    monkeypatch: pytest.MonkeyPatch, which: int, changes: list[Mutation]
) -> None:
    # The whole-block path (one C check, a search over the block, the narrow decode) against the line-by-line
    # path with the one decoder and parse_claude, on the real CLI's transcripts mutated.
    path = TRANSCRIPTS[which % len(TRANSCRIPTS)]
    data = _mutated(which, changes)
    body = data[: data.rfind(b"\n")] if b"\n" in data else data
    monkeypatch.setattr(jsonl, "CHECK_MIN_BYTES", 0)
    fast = _parse_block(body, path)
    monkeypatch.setattr(jsonl, "all_objects", lambda lines: False)
    monkeypatch.setattr(jsonl, "block_objects", lambda block, lines: False)
    assert fast == _parse(body.split(b"\n"), path)
    assert fast[3] == sum(reference_malformed(line) for line in body.split(b"\n"))


@pytest.mark.skipif(not jsonl._BOUNDED, reason="CPython 3.11 only: from 3.12 every line goes by decode_line")
def test_the_block_check_takes_one_object_per_line_and_nothing_else(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(jsonl, "CHECK_MIN_BYTES", 0)
    intact = TRANSCRIPTS[0].read_bytes().rstrip(b"\n")
    n = intact.count(b"\n") + 1
    assert jsonl.block_objects(memoryview(intact), n)
    # msgspec alone would read the first as newline-delimited JSON with as many objects as lines: two objects
    # on one line and one object over two lines, each of those lines malformed for JSON.parse. The others are
    # declined too (a blank line, a \r or a space at a line's edge, an array, a lone surrogate): the line by
    # line path has the last word on them, and accepts some.
    for block in (
        b'{"a":1}{"b":2}\n{"c":\n3}',
        b'{"a":1}\n\n{"b":2}',
        b'{"a":1}\r\n{"b":2}',
        b' {"a":1}\n{"b":2}',
        b'{"a":1}\n[]',
        b'{"a":1}\n{"b":"\\ud800"}',
    ):
        assert not jsonl.block_objects(memoryview(block), block.count(b"\n") + 1), block
    assert jsonl.block_objects(memoryview(b"{}\n{}\n{}"), 3)
    assert not jsonl.block_objects(memoryview(b"{}\n{}\n{}"), 2)


@settings(max_examples=200, derandomize=True, deadline=None, database=None)
@given(
    lines=st.lists(st.binary(max_size=40).map(lambda b: b.replace(b"\n", b"")), max_size=30),
    tail=st.binary(max_size=20).map(lambda b: b.replace(b"\n", b"")),
    chunk=st.integers(1, 64),
)
def test_blocks_hold_exactly_the_complete_lines(tmp_path_factory: pytest.TempPathFactory, lines: list[bytes],
                                                tail: bytes, chunk: int) -> None:  # fmt: skip
    from ctxtop.adapters.tailer import read_appended

    path = tmp_path_factory.mktemp("blocks") / "t.jsonl"
    path.write_bytes(b"".join(line + b"\n" for line in lines) + tail)
    got: list[tuple[int, bytes]] = []
    read = read_appended(str(path), None, chunk_bytes=chunk, on_block=lambda b, o: got.append((o, bytes(b))))
    # Joined back, the blocks are the file's complete lines, each block starting where it says it does.
    assert [line for _, block in got for line in block.split(b"\n")] == lines
    data = path.read_bytes()
    assert all(data[o : o + len(block)] == block for o, block in got)
    assert read.state.offset == len(data) - len(tail)
    assert read_appended(str(path), None, chunk_bytes=chunk).lines == lines


def test_a_block_keys_requests_without_ids_by_their_lines_offset(monkeypatch: pytest.MonkeyPatch) -> None:
    # Without requestId a request is keyed by its line's place in the file: both paths must name the same one.
    path = TRANSCRIPTS[0]
    body = path.read_bytes().rstrip(b"\n").replace(b'"requestId":', b'"requestIx":')
    monkeypatch.setattr(jsonl, "CHECK_MIN_BYTES", 0)
    fast = _parse_block(body, path)
    assert fast[0] and all(r[0].startswith(f"line:{path}:") for r in fast[0])
    monkeypatch.setattr(jsonl, "block_objects", lambda block, lines: False)
    assert fast == _parse(body.split(b"\n"), path)
