"""No needed line of a failing output is lost on any path: ``ctxtop run``, ``ctxtop filter``, the post hook.

The corpus (``failing_corpus.py``) runs real tools where this machine has them (gcc, valgrind,
AddressSanitizer, python, node, rustc, a segfault and an abort) and hand-written samples otherwise, each inside
varied noise; its judges pick the needed lines independently of the filter's own patterns.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.commands import failing_corpus


@pytest.fixture(scope="module")
def measured(tmp_path_factory: pytest.TempPathFactory) -> dict[str, failing_corpus.Measured]:
    root = tmp_path_factory.mktemp("failing")
    env = {"CTXTOP_DATA_DIR": str(root / "data"), "CTXTOP_CONFIG_DIR": str(root / "cfg")}
    scenarios = failing_corpus.build(root / "work")
    # Each scenario is a handful of subprocesses: run them side by side.
    with ThreadPoolExecutor(max_workers=6) as pool:
        done = pool.map(lambda s: failing_corpus.measure(s, root / "work", env), scenarios)
        return {m.scenario.name: m for m in done}


NAMES = [
    "gcc-diagnostics", "asan-overflow", "segfault", "abort", "valgrind-memcheck", "python-chained-traceback",
    "error-after-column-4000", "cr-overwritten-error", "unterminated-osc", "node-assert-diff", "node-test-tap",
    "rustc-errors", "rust-panic-backtrace", "jest-expected-received", "go-test-errorf", "gtest-which-is",
    "keywordless-failures", "keywordless-real-tools",
]  # fmt: skip


@pytest.mark.parametrize("name", NAMES)
def test_no_needed_line_lost_on_any_path(measured: dict[str, failing_corpus.Measured], name: str) -> None:
    if name not in measured:
        pytest.skip(f"{name}: its tool is not installed here")
    m = measured[name]
    assert m.run_exit == m.scenario.exit_code
    assert m.needed["run"] and m.needed["filter"], "the judge found nothing: the scenario is broken"
    assert {p: lines for p, lines in m.lost.items() if lines} == {}


def test_the_post_hook_sees_most_of_the_corpus(measured: dict[str, failing_corpus.Measured]) -> None:
    """Outputs of 30,000 characters or more never reach the post hook whole; most of the corpus is below."""
    assert sum(1 for m in measured.values() if "post" in m.needed) >= len(measured) * 2 // 3
