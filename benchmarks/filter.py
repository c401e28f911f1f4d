"""Token reduction of the bash-output filter over the noisy set, and needed lines lost over failing outputs.

Part 1 runs each real tool of ``tests/commands/corpus.py`` (pytest, pip, gcc, ls -R, a progress-bar script)
under ``ctxtop run`` in a scratch directory, then prints raw vs filtered tokens per case, the total reduction
over the noisy set (target: at least 60% fewer tokens) and the error lines lost over its failing cases.

Part 2 runs the failing-output corpus of ``tests/commands/failing_corpus.py`` (valgrind, AddressSanitizer,
gcc, rustc, a Rust panic, python, node assert and TAP, a segfault and an abort, jest/go/gtest samples,
keyword-less failures, a ``\\r``-overwritten error, an unterminated OSC escape, an error past column 4,000,
all inside varied noise) through the three paths (``ctxtop run``, ``ctxtop filter``, the PostToolUse hook)
and prints the needed lines each path lost (target: 0) and its output/raw character ratio.

    python benchmarks/filter.py            # both parts
    PYTHONPATH=/path/to/other/src python benchmarks/filter.py   # the same corpus against another tree
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.commands import corpus, failing_corpus  # noqa: E402

from ctxtop.core.filters.tokens import count_tokens  # noqa: E402


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="ctxtop-bench-", ignore_cleanup_errors=True) as tmp:
        root = Path(tmp)
        env = {"CTXTOP_DATA_DIR": str(root / "data"), "CTXTOP_CONFIG_DIR": str(root / "cfg")}
        cases = corpus.build(root)
        print(
            f"{'case':<22} {'exit':>4} {'raw tok':>8} {'filtered':>8} {'ratio':>6} {'errors kept':>12} {'time':>6}"
        )
        raw_total = out_total = errors_total = lost_total = 0
        for case in cases:
            started = time.monotonic()
            proc = corpus.run_filtered(case, env)
            elapsed = time.monotonic() - started
            out = proc.stdout.decode("utf-8", "replace")
            raw_path = corpus.raw_path_of(out)
            raw = raw_path.read_text("utf-8", "replace") if raw_path else out
            raw_tok, out_tok = count_tokens(raw) or 0, count_tokens(out) or 0
            must = corpus.must_keep_lines(raw)
            lost = [line for line in must if line not in out]
            raw_total += raw_tok
            out_total += out_tok
            if case.failing:
                errors_total += len(must)
                lost_total += len(lost)
            ok = "" if proc.returncode == case.exit_code else f" (expected {case.exit_code})"
            print(
                f"{case.name:<22} {proc.returncode:>4} {raw_tok:>8} {out_tok:>8} {out_tok / max(raw_tok, 1):>6.2f} "
                f"{len(must) - len(lost):>5}/{len(must):<6} {elapsed:>5.1f}s{ok}"
            )
        print()
        print(f"noisy set: {raw_total} -> {out_total} tokens, ratio {out_total / max(raw_total, 1):.3f} "
              f"({1 - out_total / max(raw_total, 1):.1%} fewer)")  # fmt: skip
        print(f"failing set: {lost_total} of {errors_total} error/diagnostic lines lost")
        print()
        failing_lost = failing(root / "failing", env)
        return 0 if lost_total == 0 and failing_lost == 0 else 1


def failing(root: Path, env: dict[str, str]) -> int:
    """Part 2: needed lines lost per path over the failing-output corpus; returns the total lost."""
    paths = ("run", "filter", "post")
    print(
        f"{'failing scenario':<26} {'exit':>4} " + " ".join(f"{p + ' lost':>11} {'ratio':>5}" for p in paths)
    )
    need = dict.fromkeys(paths, 0)
    lost = dict.fromkeys(paths, 0)
    chars = {p: [0, 0] for p in paths}
    for scenario in failing_corpus.build(root):
        m = failing_corpus.measure(scenario, root, env)
        cells = []
        for p in paths:
            if p not in m.needed:
                cells.append(f"{'(>30K)':>11} {'':>5}")
                continue
            need[p] += len(m.needed[p])
            lost[p] += len(m.lost[p])
            raw_c, out_c = m.chars[p]
            chars[p][0] += raw_c
            chars[p][1] += out_c
            cells.append(f"{len(m.lost[p]):>5}/{len(m.needed[p]):<5} {out_c / max(raw_c, 1):>5.2f}")
        ok = (
            ""
            if m.run_exit == scenario.exit_code
            else f" (run exit {m.run_exit}, expected {scenario.exit_code})"
        )
        print(f"{scenario.name:<26} {m.exit_code:>4} " + " ".join(cells) + ok)
        for p in paths:
            for line in m.lost.get(p, [])[:3]:
                print(f"    lost by {p}: {line[:100]!r}")
    print()
    for p in paths:
        ratio = chars[p][1] / max(chars[p][0], 1)
        print(
            f"failing corpus, {p:<6}: {lost[p]} of {need[p]} needed lines lost; output/raw chars {ratio:.3f}"
        )
    return sum(lost.values())


if __name__ == "__main__":
    raise SystemExit(main())
