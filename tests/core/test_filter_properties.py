"""Property tests: any byte stream is filtered without crashing and never grows beyond one pointer line."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ctxtop.adapters.filter_rules import builtin_rules
from ctxtop.core.filters import MARK, RuleSet, Settings, filter_text, pointer_line

RULES = RuleSet.merge(list(builtin_rules()))
COMMANDS = st.sampled_from(["pytest -v", "pip install x", "ls -R", "gcc a.c", "./script.sh", "cat f", ""])
LINES = st.sampled_from(
    [
        b"tests/a.py::test_x PASSED [ 10%]",
        b"ERROR: something broke",
        b"Collecting foo",
        b"\x1b[31mred\x1b[0m",
        b"10%\r20%\r30%",
        b"  Downloading x.whl (1 MB)",
        b"\xff\xfe\x00binary\x80",
        b"x" * 5000,
        b"",
    ]
)
STREAMS = st.one_of(
    st.binary(max_size=6000),
    st.lists(LINES, max_size=400).map(lambda ls: b"\n".join(ls)),
    st.lists(st.one_of(LINES, st.binary(max_size=80)), max_size=200).map(lambda ls: b"\r\n".join(ls)),
)
POINTER_BUDGET = len(pointer_line(10**9, 10**9, "/p")) + 1


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=STREAMS, command=COMMANDS, min_chars=st.sampled_from([0, 1200]))
def test_any_bytes_never_crash_and_never_grow(data: bytes, command: str, min_chars: int) -> None:
    raw = data.decode("utf-8", "surrogateescape")
    res = filter_text(raw, command, RULES, Settings(min_chars=min_chars), raw_path="/p")
    out = res.text.encode("utf-8", "surrogateescape")
    assert len(out) <= len(data)
    assert len(res.text) <= len(raw) + POINTER_BUDGET
    if res.lossy:
        assert res.text.endswith("\n") and res.text.splitlines()[-1].startswith(MARK + "filtered ")
    else:
        assert MARK + "filtered " not in res.text[-POINTER_BUDGET:] or MARK.encode() in data


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(min_size=0, max_size=120), min_size=1, max_size=300), COMMANDS)
def test_important_lines_always_survive(lines: list[str], command: str) -> None:
    lines = [
        line.replace("\r", "").replace("\x1b", "").replace("\x08", "").replace("\x9b", "") for line in lines
    ]
    lines.insert(len(lines) // 2, "ERROR: the needle 12345")
    raw = "\n".join(lines * 5)
    res = filter_text(raw, command, RULES, Settings(min_chars=0))
    assert "ERROR: the needle 12345" in res.text
