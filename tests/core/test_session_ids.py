"""Short session ids: unique among the sessions shown, accepted back wherever a session id is."""

from __future__ import annotations

import pytest

from ctxtop.core.session_ids import matches, resolve, short_id, short_ids, time_ordered

V4 = "2d2c09b6-5a1e-4c3b-9f0e-7d6c5b4a3921"
# Codex's ids of three sessions started within three seconds (tests/fixtures/codex, written by the real CLI):
# the first 8 characters are the same millisecond timestamp's head.
V7 = ["01a23458-b466-7bc3-8549-3fe38b032625", "01a23458-b948-7510-b7d3-5e6b246b255b",
      "01a23458-c11c-7aa3-9f43-0bb6c7afc852"]  # fmt: skip


@pytest.mark.parametrize(
    ("sid", "shown"),
    [
        (V4, "2d2c09b6"),
        (V7[0], "8b032625"),  # the random tail
        ("agent-a7", "agent-a7"),
        ("short", "short"),
        ("01a23458-b466-4bc3-8549-3fe38b032625", "01a23458"),  # version 4: the head
    ],
)
def test_short_id_is_the_head_or_a_time_ordered_ids_random_tail(sid: str, shown: str) -> None:
    assert short_id(sid) == shown


def test_time_ordered_ids_started_together_show_apart() -> None:
    assert len({v[:8] for v in V7}) == 1  # the bug: one short id for three sessions
    shown = short_ids([*V7, V4])
    assert shown == {V7[0]: "8b032625", V7[1]: "246b255b", V7[2]: "c7afc852", V4: "2d2c09b6"}
    assert len(set(shown.values())) == 4
    assert all(resolve([*V7, V4], text) == [sid] for sid, text in shown.items())


def test_ids_that_would_look_the_same_are_lengthened_until_they_differ() -> None:
    a, b = "abcdefgh-1111", "abcdefgh-2222"
    assert short_ids([a, b, V4]) == {a: "abcdefgh-1", b: "abcdefgh-2", V4: "2d2c09b6"}
    twins = ["0199aaaa-0000-7000-8000-00000000beef", "0199bbbb-0000-7000-8000-11110000beef"]
    assert short_ids(twins) == {twins[0]: "00000beef", twins[1]: "10000beef"}


def test_what_is_accepted_back() -> None:
    assert time_ordered(V7[0]) and not time_ordered(V4)
    assert matches(V7[0], "01a23458") and matches(V7[0], "8b032625") and matches(V7[0], V7[0])
    assert not matches(V4, V4[-8:])  # only a time-ordered id is named by its tail
    assert resolve([V4, *V7], "") == sorted([V4, *V7])  # nothing typed names them all: refused as ambiguous
    assert resolve(V7, "01a23458") == sorted(V7)  # a shared head names them all: the caller refuses
    assert resolve([V4, V4 + "-fork"], V4) == [V4]  # an exact id wins over the longer ones it starts
