"""Token reduction of the bash-output filter over the noisy set, as ratios against the raw output.

Runs each real tool of ``tests/commands/corpus.py`` (pytest, pip, gcc, ls -R, a progress-bar script) under
``ctxtop run`` in a scratch directory, then prints raw vs filtered tokens per case, the total reduction over
the noisy set (target: at least 60% fewer tokens) and the error lines lost over the failing set (target: 0).

    python benchmarks/filter.py
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.commands import corpus  # noqa: E402

from ctxtop.core.filters.tokens import count_tokens  # noqa: E402


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="ctxtop-bench-") as tmp:
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
        return 0 if lost_total == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
