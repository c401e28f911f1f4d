"""Failing outputs mixed with varied noise: what the filter must never lose, judged apart from its rules.

Shared by ``tests/commands/test_failing_corpus.py`` and ``benchmarks/filter.py``. Each scenario is a bash
script run in a scratch directory: noise (build steps, downloads with ``\\r`` progress bars, passing tests,
coloured log lines, spinners...) around the output of a real tool where it exists on this machine (gcc,
valgrind, AddressSanitizer, python, node, rustc, a segfault and an abort) and a hand-written sample of a
real tool's output otherwise (jest, go test, gtest, git/ssh/curl network failures). A scenario's *needed*
lines are picked by its own judge (a regex over the raw output, written for that tool) or, for hand-written
samples, marked ``@@`` in the sample; noise lines never match a judge.

The three paths of a Bash output into the model are measured: ``ctxtop run`` (the wrap hook), ``ctxtop
filter`` (stdin, exit code unknown) and the PostToolUse hook (exit code unknown, outputs under 30,000
characters: Claude Code sends it only the head of longer ones, and ctxtop leaves those alone).
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tests.commands import corpus

_ANSI = re.compile(r"\x1b\[[0-9;]*m")


@dataclass(frozen=True)
class Scenario:
    name: str
    script: str  # bash, run in the scratch directory
    judge: Callable[[str], list[str]]  # the needed lines of a raw output
    exit_code: int
    run_extra: tuple[str, ...] = ()  # substrings the `ctxtop run` output must hold (what bash would print)
    tags: tuple[str, ...] = field(default=())


def _lines(pattern: str, exclude: str | None = None) -> Callable[[str], list[str]]:
    rx, ex = re.compile(pattern), re.compile(exclude) if exclude else None

    def judge(raw: str) -> list[str]:
        out = []
        for line in _ANSI.sub("", raw).splitlines():
            for part in line.split("\r"):
                if part.strip() and rx.search(part) and not (ex and ex.search(part)):
                    out.append(part.rstrip())
        return out

    return judge


def noise(kind: str, n: int, seed: int) -> str:
    """``n`` lines (or redraw groups) of one kind of noise, the same for the same seed."""
    rnd = random.Random(seed)

    def h(i: int) -> str:
        return hashlib.sha1(f"{seed}-{i}".encode()).hexdigest()[:10]

    out: list[str] = []
    for i in range(n):
        if kind == "build":
            out.append(f"[{i * 100 // n:3d}%] Building CXX object src/CMakeFiles/core.dir/unit_{i}.cpp.o\n")
        elif kind == "download":
            out.append(f"Downloading pkg_{h(i)}-1.{i}.tar.gz\n")
            for pct in range(0, 101, 10):
                bar = "#" * (pct // 5)
                out.append(f"\r  {pct:3d}% [{bar:<20}] {pct * 31 // 10} kB/s eta 0:00:0{9 - pct // 12}")
            out.append("\n")
        elif kind == "pass":
            out.append(f"  \x1b[32m\u2713\x1b[0m renders widget {h(i)} ({rnd.randint(1, 40)} ms)\n")
        elif kind == "log":
            out.append(
                f"2026-12-01T22:{i // 60 % 60:02d}:{i % 60:02d}.{rnd.randint(0, 999):03d}Z \x1b[36mINFO\x1b[0m "
                f"worker-{rnd.randint(1, 8)} handled request id={h(i)} path=/api/items/{h(i + 7)} "
                f"in {rnd.randint(2, 90)}ms\n"
            )
        elif kind == "slog":  # short distinct log lines: noise no rule recognises
            out.append(
                f"22:{i // 60 % 60:02d}:{i % 60:02d} INFO w{rnd.randint(1, 8)} handled {h(i)} in {rnd.randint(2, 90)}ms\n"
            )
        elif kind == "pip":
            out.append(f"Collecting lib-{h(i)}>=1.{i}\n")
            out.append(f"  Downloading lib_{h(i)}-1.{i}.0-py3-none-any.whl ({rnd.randint(5, 900)} kB)\n")
        elif kind == "spinner":
            out.extend(f"\r{c} resolving dependency tree {i}/{n}" for c in "|/-\\")
            out.append("\n" if i == n - 1 else "")
        elif kind == "gotest":
            out.append(f"=== RUN   TestCache_{h(i)}\n--- PASS: TestCache_{h(i)} (0.0{rnd.randint(0, 9)}s)\n")
        elif kind == "gtest":
            out.append(f"[ RUN      ] Parser.Case{i}\n[       OK ] Parser.Case{i} ({rnd.randint(0, 3)} ms)\n")
        elif kind == "dots":
            out.append("." * 70 + f" [{i * 100 // n:3d}%]\n")
    return "".join(out)


# Hand-written samples of real tools' failing output (the tools are not on this machine). ``@@`` marks a
# needed line; the marker is removed before the sample is printed.
JEST = """\
 FAIL  src/cart/total.test.ts
  ● cart › total › applies the member discount

@@    expect(received).toEqual(expected) // deep equality

@@    - Expected  - 2
@@    + Received  + 2

      Object {
@@    -   "discount": 0.1,
@@    -   "total": 90,
@@    +   "discount": 0,
@@    +   "total": 100,
      }

@@      12 |     const cart = makeCart([item(100)], { member: true });
@@      13 |     expect(total(cart)).toEqual({ total: 90, discount: 0.1 });
@@         |                         ^
      14 |   });

@@      at Object.<anonymous> (src/cart/total.test.ts:13:25)

  ● cart › total › rounds to cents

@@    expect(received).toBe(expected) // Object.is equality

@@    Expected: 10.01
@@    Received: 10.005

@@      at Object.<anonymous> (src/cart/total.test.ts:21:29)

@@Test Suites: 1 failed, 11 passed, 12 total
@@Tests:       2 failed, 140 passed, 142 total
Snapshots:   0 total
Time:        4.812 s
Ran all test suites.
"""

GO_TEST = """\
=== RUN   TestMean
@@    stats_test.go:42: Mean([]float64{1, 2}) = 1.4, want 1.5
@@        inputs were read from testdata/pairs.csv
@@        tolerance 1e-9 exceeded by 0.1
--- FAIL: TestMean (0.00s)
=== RUN   TestMedian/odd
@@    stats_test.go:77: got 3, want 2
--- FAIL: TestMedian/odd (0.00s)
@@FAIL
@@FAIL	example.com/stats	0.014s
FAIL
"""

GTEST = """\
[ RUN      ] Tokenizer.SplitsOnComma
@@tokenizer_test.cc:31: Failure
@@Expected equality of these values:
@@  parts.size()
@@    Which is: 3
@@  4u
@@    Which is: 4
[  FAILED  ] Tokenizer.SplitsOnComma (0 ms)
[----------] 41 tests from Tokenizer (3 ms total)
[==========] 41 tests from 1 test suite ran. (3 ms total)
[  PASSED  ] 40 tests.
@@[  FAILED  ] 1 test, listed below:
@@[  FAILED  ] Tokenizer.SplitsOnComma
"""

NETWORK = """\
@@ssh: connect to host build-7.internal port 22: Connection reset by peer
@@fatal: Could not read from remote repository.
Please make sure you have the correct access rights
and the repository exists.
@@HTTP/1.1 403 Forbidden
@@Server responded 503 Service Unavailable for GET /v2/manifests/latest
@@usage: deploy [-h] [--env {dev,prod}] [--dry-run] target
@@deploy: error: argument --env: invalid choice: 'stage' (choose from 'dev', 'prod')
@@ioctl(TIOCGWINSZ): Invalid argument
@@write /var/lib/registry/blob: no space left on device
@@Received disconnect from 10.0.0.7 port 22:2: Too many authentication failures
@@Host key verification failed.
"""

SEGV_C = "int main(void) { volatile int *p = 0; return *p; }\n"
ABORT_C = "#include <assert.h>\nint main(void) { int ready = 0; assert(ready == 1); return 0; }\n"
LEAK_C = """\
#include <stdlib.h>
#include <stdio.h>
int main(void) {
    int *p = malloc(10 * sizeof(int));
    int s = p[10];
    char *leak = malloc(64);
    leak[0] = 1;
    printf("%d\\n", s > 0);
    free(p);
    return 0;
}
"""
BROKEN_C = """\
#include <stdio.h>
static int scale(int x) { int unused; return x * factor; }
int main(void) {
    char *name = 42;
    printf("%d\\n", scale(2), name);
    return undefined_thing;
}
"""
PY_CHAINED = """\
import json

def load(path):
    with open(path) as fh:
        return json.load(fh)

def main():
    try:
        load("settings.json")
    except FileNotFoundError as exc:
        raise RuntimeError("cannot start without settings") from exc

main()
"""
NODE_ASSERT = """\
const assert = require('assert');
assert.deepStrictEqual(
  {id: 7, tags: ['a', 'b'], owner: {name: 'ann'}},
  {id: 7, tags: ['a', 'c'], owner: {name: 'bob'}});
"""
NODE_TAP = """\
import { test } from 'node:test';
import assert from 'node:assert';
for (let i = 0; i < 40; i++) test(`adds ${i}`, () => assert.equal(i + 1, i + 1));
test('parses header', () => assert.strictEqual('Content-Type', 'content-type'));
"""
RUST_E = 'fn main() {\n    let x: i32 = "five";\n    println!("{}", y);\n}\n'
RUST_PANIC = (
    'fn main() {\n    let v = vec![1, 2, 3];\n    let i = v.len() + 4;\n    println!("{}", v[i]);\n}\n'
)
CR_OVERWRITE = r"""
import sys
for i in range(1, 41):
    sys.stdout.write(f"\rfetching chunk {i}/40")
    if i == 17:
        sys.stdout.write("\rchunk 17: checksum mismatch, retrying")
    if i == 29:
        sys.stdout.write("\rERROR: chunk 29 truncated at byte 4096")
sys.stdout.write("\rfetched 40/40 chunks\n")
sys.exit(1)
"""
LONG_LINE = r"""
import json, sys
payload = {"items": [{"id": i, "sku": f"SKU-{i:05d}", "qty": i % 7} for i in range(260)]}
payload["status"] = "error"
payload["message"] = "disk quota exceeded for tenant 42"
print(json.dumps(payload))
sys.exit(2)
"""


def _sample(text: str) -> tuple[str, Callable[[str], list[str]]]:
    needed = [line[2:].rstrip() for line in text.splitlines() if line.startswith("@@")]
    plain = "".join((line[2:] if line.startswith("@@") else line) + "\n" for line in text.splitlines())

    def judge(raw: str) -> list[str]:
        return [n for n in needed if n.strip()]

    return plain, judge


_NOISE_WANTED: set[tuple[str, int, int]] = set()


def _noise(kind: str, n: int, seed: int) -> str:
    """The script step printing that noise (pre-generated, so the scenario's run time is the tool's)."""
    _NOISE_WANTED.add((kind, n, seed))
    return f"noise {kind} {n} {seed}"


def build(root: Path) -> list[Scenario]:
    """Create the scratch files under ``root`` and return the scenarios that can run on this machine."""
    root.mkdir(parents=True, exist_ok=True)
    bin_dir = root / "bin"
    bin_dir.mkdir(exist_ok=True)
    (root / "noise").mkdir(exist_ok=True)
    runner = bin_dir / "noise"
    runner.write_text(f'#!/bin/sh\nexec cat {shlex.quote(str(root / "noise"))}/"$1-$2-$3.txt"\n')
    runner.chmod(0o755)
    out: list[Scenario] = []

    def tool(name: str, text: str, code: int) -> Callable[[str], list[str]]:
        plain, judge = _sample(text)
        (root / f"{name}.sample").write_text(plain)
        exe = bin_dir / name
        exe.write_text(f"#!/bin/sh\ncat {shlex.quote(str(root / f'{name}.sample'))}\nexit {code}\n")
        exe.chmod(0o755)
        return judge

    def write(name: str, text: str) -> None:
        (root / name).write_text(text)

    gcc = shutil.which("gcc")
    if gcc:
        write("broken.c", BROKEN_C)
        out.append(Scenario(
            "gcc-diagnostics",
            f"{_noise('build', 100, 1)}; gcc -Wall -Wextra -c broken.c -o /dev/null; rc=$?; "
            f"{_noise('log', 10, 2)}; exit $rc",
            _lines(r"^broken\.c:|^\s*\d+ \| |^\s+\| +[\^~]"), 1,
        ))  # fmt: skip
        for name, src in (("leak", LEAK_C), ("segv", SEGV_C), ("abort", ABORT_C)):
            write(f"{name}.c", src)
            subprocess.run([gcc, "-g", "-O0", f"{name}.c", "-o", name], cwd=root, check=True)
        subprocess.run([gcc, "-g", "-fsanitize=address", "leak.c", "-o", "asan"], cwd=root, check=True)
        out.append(Scenario(
            "asan-overflow",
            f"{_noise('pass', 80, 3)}; ./asan; rc=$?; {_noise('download', 10, 4)}; exit $rc",
            _lines(r"^==\d+==ERROR|^(READ|WRITE) of size|^\s+#\d+ 0x|is located|by thread T\d+ here|^SUMMARY:"),
            1,
        ))  # fmt: skip
        # Under the wrap hook bash runs the crashing program as its last command (exec): only ctxtop can
        # report the signal. Unwrapped, bash reports it itself ("bash: line 1: PID Segmentation fault").
        out.append(Scenario(
            "segfault",
            f"{_noise('log', 40, 5)}; {_noise('spinner', 13, 6)}; ./segv",
            _lines(r"Segmentation fault"), 139, run_extra=("Segmentation fault",),
        ))  # fmt: skip
        out.append(Scenario(
            "abort",
            f"{_noise('dots', 66, 7)}; ./abort",
            _lines(r"Assertion .* failed|^Aborted"), 134, run_extra=("Aborted",),
        ))  # fmt: skip
    if shutil.which("valgrind") and gcc:
        out.append(Scenario(
            "valgrind-memcheck",
            f"{_noise('build', 83, 8)}; valgrind --leak-check=full --error-exitcode=3 ./leak; rc=$?; "
            f"{_noise('log', 10, 9)}; exit $rc",
            _lines(r"^==\d+== \S", r"Memcheck, a memory|Copyright|Using Valgrind|rerun with"), 3,
        ))  # fmt: skip
    write("chained.py", PY_CHAINED)
    out.append(Scenario(
        "python-chained-traceback",
        f"{_noise('pip', 40, 10)}; python3 chained.py; rc=$?; {_noise('log', 10, 11)}; exit $rc",
        _lines(r'^Traceback|^\s+File "|^    \S|^\w+(Error|Exception)\b|^During handling|^The above exception'
               r"|^\s+\^+$"),
        1,
    ))  # fmt: skip
    write("long_line.py", LONG_LINE)
    out.append(Scenario(
        "error-after-column-4000",
        f"{_noise('log', 36, 12)}; python3 long_line.py; rc=$?; {_noise('log', 16, 13)}; exit $rc",
        _lines(r'"status": "error"'), 2,
    ))  # fmt: skip
    write("cr_overwrite.py", CR_OVERWRITE)
    out.append(Scenario(
        "cr-overwritten-error",
        f"{_noise('download', 13, 14)}; python3 cr_overwrite.py; rc=$?; {_noise('pass', 26, 15)}; exit $rc",
        _lines(r"checksum mismatch|ERROR: chunk"), 1,
    ))  # fmt: skip
    out.append(Scenario(
        "unterminated-osc",
        # A title escape without its BEL (a tool killed mid-write), then errors, then a BEL much later.
        f"{_noise('build', 33, 16)}; printf '\\033]0;building target'; printf 'linking app\\n';"
        " printf 'ld: error: undefined symbol: vtable for Widget\\n'; printf '>>> referenced by widget.o\\n';"
        " printf 'collect2: error: ld returned 1 exit status\\n';"
        f" {_noise('log', 13, 17)}; printf 'done\\a\\n'; exit 1",
        _lines(r"ld: error|>>> referenced|collect2: error"), 1,
    ))  # fmt: skip
    if shutil.which("node"):
        write("assert.js", NODE_ASSERT)
        out.append(Scenario(
            "node-assert-diff",
            f"{_noise('spinner', 20, 18)}; node assert.js; rc=$?; {_noise('pass', 33, 19)}; exit $rc",
            _lines(r"^AssertionError|^\+ actual - expected|^[+-] {3,}\S|^\s+at .*assert\.js|^  (actual|expected):"),
            1,
        ))  # fmt: skip
        write("tap.test.mjs", NODE_TAP)
        out.append(Scenario(
            "node-test-tap",
            f"{_noise('build', 50, 20)}; node --test --test-reporter=tap tap.test.mjs; rc=$?; exit $rc",
            _lines(r"^not ok|^  (location|failureType|expected|actual|operator):|^    [+-] '|^# fail [1-9]"), 1,
        ))  # fmt: skip
    if shutil.which("rustc"):
        write("e.rs", RUST_E)
        out.append(Scenario(
            "rustc-errors",
            f"{_noise('download', 10, 21)}; rustc --color never e.rs; rc=$?; {_noise('log', 10, 22)}; exit $rc",
            _lines(r"^error(\[E\d+\])?:|^\s*--> |^\s*\d+ [|+-] |^\s+\|\s+[\^-]|^\s+\|\s+\S|^help:"), 1,
        ))  # fmt: skip
        write("p.rs", RUST_PANIC)
        subprocess.run(["rustc", "-o", "panic", "p.rs"], cwd=root, check=True, capture_output=True)
        out.append(Scenario(
            "rust-panic-backtrace",
            f"{_noise('gotest', 50, 23)}; RUST_BACKTRACE=1 ./panic; rc=$?; exit $rc",
            _lines(r"panicked at|index out of bounds|^\s+\d+: p::main"), 101,
        ))  # fmt: skip
    judge = tool("jest", JEST, 1)
    out.append(
        Scenario(
            "jest-expected-received", f"{_noise('pass', 133, 24)}; ./bin/jest --ci; rc=$?; exit $rc", judge, 1
        )
    )
    judge = tool("go", GO_TEST, 1)
    out.append(Scenario(
        "go-test-errorf",
        f"{_noise('gotest', 100, 25)}; ./bin/go test ./stats/...; rc=$?; {_noise('gotest', 33, 26)}; exit $rc",
        judge, 1,
    ))  # fmt: skip
    judge = tool("gtest_runner", GTEST, 1)
    out.append(Scenario(
        "gtest-which-is",
        f"{_noise('gtest', 100, 27)}; ./bin/gtest_runner; rc=$?; exit $rc", judge, 1,
    ))  # fmt: skip
    judge = tool("deploy", NETWORK, 2)
    out.append(Scenario(
        "keywordless-failures",
        f"{_noise('log', 60, 28)}; ./bin/deploy --env stage; rc=$?; {_noise('log', 13, 29)}; exit $rc",
        judge, 2,
    ))  # fmt: skip
    real = [
        "ls --bogus-flag", "sleep abc", "mkdir /proc/ctxtop-x", "kill -0 999999",
        "dd if=/dev/zero of=/dev/full bs=1 count=1", "python3 -c 'import argparse; p=argparse.ArgumentParser(prog=\"tool\"); p.add_argument(\"n\", type=int); p.parse_args([\"x\"])'",
    ]  # fmt: skip
    out.append(Scenario(
        "keywordless-real-tools",
        f"{_noise('pip', 26, 30)}; " + "; ".join(f"{c} 2>&1" for c in real) + "; exit 1",
        _lines(r"^(ls|sleep|mkdir|bash: line \d+: kill|dd|tool|usage|Try )\b|^\S+: line \d+: kill|^usage:"), 1,
    ))  # fmt: skip
    # Most needed lines sit in the middle of a long output, where default elision used to cut.
    scenarios = [
        Scenario(sc.name, f"{_noise('slog', 250, i)}; {sc.script}" if sc.run_extra else
                 f"{_noise('slog', 250, i)}; ( {sc.script} ); rc=$?; {_noise('slog', 150, 100 + i)}; exit $rc",
                 sc.judge, sc.exit_code, sc.run_extra)
        for i, sc in enumerate(out)
    ]  # fmt: skip
    for kind, n, seed in _NOISE_WANTED:
        (root / "noise" / f"{kind}-{n}-{seed}.txt").write_text(noise(kind, n, seed))
    return scenarios


@dataclass
class Measured:
    scenario: Scenario
    raw: str  # the scenario's output run directly (stderr merged), as the filter and the post hook see it
    exit_code: int
    needed: dict[str, list[str]]  # path -> needed lines
    lost: dict[str, list[str]]  # path -> needed lines missing from that path's output
    chars: dict[str, tuple[int, int]]  # path -> (raw chars, output chars)
    run_exit: int = 0


def _env(root: Path, extra: dict[str, str]) -> dict[str, str]:
    env = corpus.clean_env(extra)
    env["PATH"] = f"{root / 'bin'}:{env.get('PATH', '')}"
    return env


def _visible(text: str) -> str:
    return _ANSI.sub("", text)


def measure(scenario: Scenario, root: Path, env: dict[str, str]) -> Measured:
    """Run one scenario directly and through the three paths; count the needed lines each one lost."""
    e = _env(root, env)
    # Unwrapped, Claude Code's shell runs the command and reports a signal itself: `; exit $?` keeps bash
    # from exec'ing the last command, so it does the same here.
    direct = subprocess.run(
        ["bash", "-c", scenario.script + "; exit $?"], cwd=root, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        env=e,
    )  # fmt: skip
    raw = direct.stdout.decode("utf-8", "surrogateescape")
    ctxtop = [sys.executable, "-m", "ctxtop"]
    needed: dict[str, list[str]] = {}
    lost: dict[str, list[str]] = {}
    chars: dict[str, tuple[int, int]] = {}

    run = subprocess.run(
        [*ctxtop, "run", "--", "bash", "-c", scenario.script], cwd=root, capture_output=True, env=e
    )
    out = run.stdout.decode("utf-8", "surrogateescape")
    raw_path = corpus.raw_path_of(out)
    run_raw = raw_path.read_text("utf-8", "surrogateescape") if raw_path else out
    want = scenario.judge(run_raw) + [x for x in scenario.run_extra]
    needed["run"] = want
    lost["run"] = [n for n in want if n not in _visible(out)]
    chars["run"] = (len(run_raw), len(out))

    filt = subprocess.run(
        [*ctxtop, "filter", "--command", scenario.script], input=direct.stdout, capture_output=True, env=e
    )
    out = filt.stdout.decode("utf-8", "surrogateescape")
    needed["filter"] = scenario.judge(raw)
    lost["filter"] = [n for n in needed["filter"] if n not in _visible(out)]
    chars["filter"] = (len(raw), len(out))

    if len(raw) < 30_000:
        payload = {
            "session_id": "bench", "transcript_path": "/nonexistent/t.jsonl", "cwd": str(root),
            "hook_event_name": "PostToolUse", "tool_name": "Bash", "tool_use_id": "toolu_bench",
            "tool_input": {"command": scenario.script},
            "tool_response": {"stdout": raw, "stderr": "", "interrupted": False, "isImage": False},
        }  # fmt: skip
        hook = subprocess.run(
            [*ctxtop, "hook", "post-tool-use"], input=json.dumps(payload).encode(), capture_output=True, env=e
        )
        reply = hook.stdout.decode()
        out = json.loads(reply)["hookSpecificOutput"]["updatedToolOutput"]["stdout"] if reply.strip() else raw
        needed["post"] = scenario.judge(raw)
        lost["post"] = [n for n in needed["post"] if n not in _visible(out)]
        chars["post"] = (len(raw), len(out))
    return Measured(scenario, raw, direct.returncode, needed, lost, chars, run.returncode)
