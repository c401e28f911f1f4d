"""The generic filter pipeline: clean-up, folding, elision, the pointer line and the size guarantees."""

from __future__ import annotations

import hashlib

import pytest

from ctxtop.core.filters import MARK, RuleSet, Settings, filter_text, parse_rules, pointer_line
from ctxtop.core.filters.generic import collapse_cr, is_important, strip_ansi

NO_RULES = RuleSet()
EAGER = Settings(min_chars=0)


def distinct(i: int) -> str:
    """A line unlike its neighbours even with numbers blanked (so only elision can remove it)."""
    return f"line {i} " + hashlib.sha1(str(i).encode()).hexdigest().translate(
        str.maketrans("0123456789", "ghijklmnop")
    )


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("\x1b[31mred\x1b[0m plain", "red plain"),
        ("\x1b]0;title\x07text", "text"),
        ("\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\", "link"),
        ("b\x08bo\x08ol\x08ld", "bold"),
        ("no escapes", "no escapes"),
    ],
)
def test_strip_ansi(raw: str, clean: str) -> None:
    assert strip_ansi(raw) == clean


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("10%\r50%\r100%\ndone\n", "100%\ndone\n"),
        ("a\r\nb\r\n", "a\nb\n"),
        ("progress 1\rprogress 2\r\n", "progress 2\n"),
        ("text\r   \r", "text"),
    ],
)
def test_collapse_cr(raw: str, clean: str) -> None:
    assert collapse_cr(raw) == clean


@pytest.mark.parametrize(
    "line",
    [
        "ERROR: could not build wheels",
        "src/a.c:3:12: error: 'y' undeclared",
        "E       assert 1 == 2",
        '  File "/tmp/x.py", line 3, in <module>',
        "Traceback (most recent call last):",
        "ValueError: bad",
        "npm ERR! code E404",
        "warning: unused variable",
        "FAILED tests/test_a.py::test_b - assert 0",
        "src/app.ts(3,5): error TS2322: Type 'string' is not assignable",
        "  3:5  error  'x' is not defined  no-undef",
        "thread 'main' panicked at src/main.rs:2:5:",
        "Segmentation fault (core dumped)",
    ],
)
def test_important_lines(line: str) -> None:
    assert is_important(line)


@pytest.mark.parametrize(
    "line", ["collected 4 items", "tests/test_errors.py::test_ok PASSED", "Downloading x.whl"]
)
def test_unimportant_lines(line: str) -> None:
    assert not is_important(line)


def test_small_output_passes_unchanged() -> None:
    raw = "\x1b[32mok\x1b[0m\n" * 10
    assert filter_text(raw, "anything", NO_RULES).text == raw


def test_repeated_lines_fold_with_count() -> None:
    raw = "start\n" + "same line here\n" * 50 + "end\n"
    res = filter_text(raw, "x", NO_RULES, EAGER, raw_path="/r.txt")
    assert res.lossy
    assert f"{MARK}previous line repeated 49 more times]" in res.text
    assert res.text.splitlines()[-1] == pointer_line(52, 3, "/r.txt")


def test_similar_lines_fold_keeping_ends() -> None:
    raw = "".join(f"[{i}/500] Compiling module_{i}.c ... ok\n" for i in range(1, 501)) + "BUILD OK\n"
    res = filter_text(raw, "./build.sh", NO_RULES, EAGER)
    lines = res.text.splitlines()
    assert lines[:2] == ["[1/500] Compiling module_1.c ... ok", "[2/500] Compiling module_2.c ... ok"]
    assert "[500/500] Compiling module_500.c ... ok" in lines
    assert "BUILD OK" in lines
    assert len(lines) < 10


def test_elision_keeps_every_important_line_with_context() -> None:
    # A successful output (warnings only) may be elided; its important lines keep their context.
    body = [distinct(i) for i in range(2000)]
    body[700] = "warning: the one thing that matters"
    body[1400] = "DeprecationWarning: call y() instead"
    raw = "\n".join(body) + "\n"
    res = filter_text(raw, "./long.sh", NO_RULES, Settings())
    out = res.text
    for k in (698, 699, 700, 701, 702, 1398, 1400, 1402):
        assert body[k] in out
    assert body[0] in out and body[1999] in out
    assert "lines elided]" in out
    assert len(out) < len(raw) / 3


def test_pointer_line_is_last_and_single() -> None:
    raw = "".join(f"noise {i % 3}\n" for i in range(3000))
    res = filter_text(raw, "x", NO_RULES, raw_path="/tmp/raw.txt")
    lines = res.text.splitlines()
    assert lines[-1].startswith(MARK + "filtered ") and "/tmp/raw.txt" in lines[-1]
    assert sum(1 for line in lines if line.startswith(MARK + "filtered ")) == 1


def test_only_ansi_removed_is_not_lossy() -> None:
    raw = "".join(f"\x1b[1m{distinct(i)}\x1b[0m\n" for i in range(60))
    res = filter_text(raw, "x", NO_RULES, EAGER)
    assert res.changed and not res.lossy
    assert MARK not in res.text


def test_passthrough_rule_leaves_output_alone() -> None:
    rules = RuleSet.merge(parse_rules("[[rule]]\nname='r'\nmode='passthrough'\ncommands=['^cat\\b']\n", "t"))
    raw = "same\n" * 1000
    assert filter_text(raw, "cat big.txt", rules).text == raw
    assert filter_text(raw, "cat big.txt | pytest", rules).text == raw  # no filtering rule matched
    assert filter_text(raw, "./gen.sh", rules).text != raw


def test_output_never_longer_than_input_even_when_filtering_saves_little() -> None:
    raw = "a\n" * 5 + "x" * 1300 + "\n"
    res = filter_text(raw, "x", NO_RULES, EAGER, raw_path="/a/very/long/path/" + "p" * 200)
    assert len(res.text) <= len(raw)


def test_error_lines_of_every_runtime_survive_in_a_sea_of_noise() -> None:
    # Lines a review found elided (found by name or phrase, indented or not, in any position).
    from ctxtop.adapters.filter_rules import builtin_rules

    rules = RuleSet.merge(list(builtin_rules()), [])
    errors = [
        "Uncaught TypeError: x is undefined", "  KeyError: 1", "      ModuleNotFoundError: No module named 'q'",
        "subprocess.CalledProcessError: Command 'x' returned non-zero exit status 2",
        "sqlalchemy.exc.OperationalError: (sqlite3.OperationalError) no such table: t",
        "django.db.utils.IntegrityError: UNIQUE constraint failed", "java.lang.NullPointerException",
        "Caused by: java.io.IOException: Broken pipe", "Exit code 137", "Illegal instruction",
        "Unhandled Rejection at: Promise { <pending> }",
    ]  # fmt: skip
    noise = [f"[{i}/2000] compiling unit_{i}.o ... ok" for i in range(2000)]
    lines = noise[:]
    for n, line in enumerate(errors):
        lines.insert(150 * (n + 1), line)
    for command in ("./build.sh", "make", "pytest", "npm install"):
        kept = filter_text("\n".join(lines) + "\n", command, rules).text
        missing = [e for e in errors if e not in kept]
        assert not missing, (command, missing)


def test_backspaces_erase_within_a_line_only() -> None:
    # (400 KB of overstrike took minutes with the old regex loop; one linear pass now.)
    assert strip_ansi("a" * 200_000 + "\x08" * 200_000 + "ok") == "ok"
    assert strip_ansi("ab\x08c\nx\x08\x08y") == "ac\ny"
    assert strip_ansi("\x08\x08start\nend\x08") == "start\nen"


# --- Failing outputs lose only recognised noise (issue 15 item 14) -------------------------------------


def _sea(needle: list[str], n: int = 1500) -> str:
    """``needle`` in the middle of ``n`` distinct, unrecognised log lines."""
    body = [distinct(i) for i in range(n)]
    body[n // 2 : n // 2] = needle
    return "\n".join(body) + "\n"


def test_a_failing_output_is_never_elided_by_default() -> None:
    raw = _sea(["Segmentation fault (core dumped)"])
    res = filter_text(raw, "./run.sh", NO_RULES, Settings(), raw_path="/r.txt", exit_code=139)
    assert all(distinct(i) in res.text for i in range(1500))
    assert "lines elided]" not in res.text
    # It is too long for Claude Code to keep whole: the pointer line ends it anyway.
    assert res.text.splitlines()[-1] == pointer_line(1501, 1501, "/r.txt")


def test_a_failure_line_makes_the_output_failing_whatever_the_exit_code() -> None:
    raw = _sea(["FAIL src/a.test.ts", "    Expected: 3", "    Received: 4"])
    for code in (None, 0):
        res = filter_text(raw, "./t.sh", NO_RULES, Settings(), exit_code=code)
        assert all(distinct(i) in res.text for i in range(0, 1500, 7))


def test_a_successful_output_is_still_elided_and_zero_errors_is_not_a_failure() -> None:
    raw = _sea(["ERROR SUMMARY: 0 errors from 0 contexts", "Found 0 errors."])
    res = filter_text(raw, "./t.sh", NO_RULES, Settings(), exit_code=0)
    assert "lines elided]" in res.text and "Found 0 errors." in res.text


def test_a_failing_output_still_loses_recognised_noise() -> None:
    passes = [f"  ✓ renders widget {i} ({i % 9} ms)" for i in range(400)]
    raw = "\n".join(passes + ["FAIL src/w.test.ts", "    Expected: 3"]) + "\n"
    from ctxtop.adapters.filter_rules import builtin_rules

    res = filter_text(raw, "npx jest", RuleSet.merge(list(builtin_rules())), Settings(), exit_code=1)
    assert "✓ renders widget 17" not in res.text and "    Expected: 3" in res.text


def test_similar_lines_fold_in_a_failing_output_only_when_they_are_noise() -> None:
    frames = [f"    frame {i} in handler_{i}" for i in range(30)]  # same shape, not noise
    bars = [f"downloading {i}/300 [####      ] {i}%" for i in range(30)]
    raw = "\n".join(["ERROR: upload failed", *frames, *bars]) + "\n" + "x" * 1300 + "\n"
    res = filter_text(raw, "./up.sh", NO_RULES, EAGER, exit_code=1)
    assert all(f in res.text for f in frames)
    assert "downloading 15/300" not in res.text


@pytest.mark.parametrize(
    "line",
    [
        "==4242== Invalid read of size 4",
        "==4242==    at 0x109173: main (a.c:5)",
        "==4242==    by 0x10916A: main (a.c:4)",
        "    #0 0x560c7d3eb209 in main /tmp/fc/a.c:5",
        "SUMMARY: AddressSanitizer: heap-buffer-overflow /tmp/fc/a.c:5 in main",
        "0x604000000038 is located 0 bytes to the right of 40-byte region",
        "    Expected: 10.01",
        "    Received: 10.005",
        "    - Expected  - 2",
        "+     name: 'ann'",
        "    Which is: 3",
        "not ok 6 - parses header",
        "    stats_test.go:42: Mean([]float64{1, 2}) = 1.4, want 1.5",
        '3 |     println!("{}", y);',
        "  |                    ^",
        " --> e.rs:3:20",
        "ssh: connect to host h port 22: Connection reset by peer",
        "HTTP/1.1 403 Forbidden",
        "usage: deploy [-h] [--env {dev,prod}] target",
        "ioctl(TIOCGWINSZ): Invalid argument",
        "index out of bounds: the len is 3 but the index is 7",
        "x" * 5000 + ' "status": "error"',
    ],
)
def test_error_lines_of_every_kind_are_important(line: str) -> None:
    assert is_important(line)


def test_an_unterminated_osc_ends_at_the_line_end() -> None:
    raw = "\x1b]0;building target\nld: error: undefined symbol\nmore\x07\ndone\n"
    assert strip_ansi(raw) == "\nld: error: undefined symbol\nmore\x07\ndone\n"
    assert strip_ansi("a\x1bPq#0;1\nb") == "a\nb"


def test_an_error_overwritten_by_cr_is_kept() -> None:
    raw = "fetching 1/40\rchunk 17: checksum mismatch\rfetching 18/40\rdone 40/40\n"
    assert collapse_cr(raw) == "chunk 17: checksum mismatch\ndone 40/40\n"
    assert collapse_cr("10%\r50%\r100%\n") == "100%\n"


def test_the_pointer_line_says_exactly_what_a_capped_raw_file_lacks() -> None:
    line = pointer_line(10, 2, "/r.txt", (4, 96, 100))
    assert line.endswith("full output: /r.txt; bytes 4-95 of 100 are not in it (too large to keep)]")
