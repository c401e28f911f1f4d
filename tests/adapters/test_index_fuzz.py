"""Fuzz the index with mutated real transcripts (issue 15): byte flips, truncations, duplicated and dropped
lines, torn writes, deep nesting, lone surrogates, invalid UTF-8, huge integers, NaN/Infinity, BOMs, NULs.
Whatever the damage: no crash, no hang, every malformed line counted (against an oracle independent of
ctxtop's decoder), and an index fed the file in random appended chunks equal to a cold one.
``benchmarks/fuzz_index.py N`` runs the same cases at length."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.fuzz_transcripts import KINDS, TRANSCRIPTS, Mutation, mutate, run_case

mutations = st.builds(
    Mutation,
    kind=st.sampled_from(KINDS),
    where=st.floats(min_value=0, max_value=1),
    n=st.integers(min_value=0, max_value=2**16),
)


@settings(
    max_examples=200,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    which=st.sampled_from(TRANSCRIPTS),
    changes=st.lists(mutations, min_size=1, max_size=5),
    cuts=st.lists(st.floats(min_value=0, max_value=1), min_size=1, max_size=6),
)
def test_mutated_transcripts_never_crash_and_incremental_equals_cold(
    tmp_path: Path, corpus: Path, monkeypatch, which: str, changes: list[Mutation], cuts: list[float]
) -> None:
    from ctxtop.adapters import jsonl

    # These transcripts are small: check them a chunk at a time, as a big history's are.
    monkeypatch.setattr(jsonl, "CHECK_MIN_BYTES", 0)
    data = (corpus / which).read_bytes()
    for change in changes:
        data = mutate(data, change)
    cold, incremental, malformed = run_case(tmp_path / "case", which, data, cuts)
    assert sum(f[2] for f in cold[1]) == malformed
    assert incremental == cold
