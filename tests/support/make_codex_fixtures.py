"""Write ``tests/fixtures/codex``: a ``CODEX_HOME`` of Codex CLI rollout files in the shape Codex writes them.

Run ``.venv/bin/python -m tests.support.make_codex_fixtures`` to regenerate the hand-written sessions (the
output is deterministic and committed); add ``--cli`` to also re-run the real Codex CLI for the sessions it
writes itself (``cli_main``; needs ``npm ci --prefix tests/e2e``). Where each field's shape comes from is in ``tests/fixtures/codex/README.md``; the token figures
each test expects are written out by hand in ``tests/sources/codex/expected.py``, not computed from here.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parents[1] / "fixtures" / "codex"

SHOP = "/home/dev/shop"
A = "01990a1c-2f3e-7a10-9b55-3c2d1e0f4a01"  # one plain session, events re-emitted
B = "01990a1c-2f3e-7a10-9b55-3c2d1e0f4a02"  # resumed a day later with another model
C = "01990a1c-2f3e-7a10-9b55-3c2d1e0f4a03"  # forked from B: B's history replayed at its start
D = "01990a1c-2f3e-7a10-9b55-3c2d1e0f4a04"  # live: the last line is half written
E = "01990a1c-2f3e-7a10-9b55-3c2d1e0f4a05"  # compacted by Codex, then a model genai-prices does not know

RATE_LIMITS = {
    "primary": {"used_percent": 6.0, "window_minutes": 300, "resets_at": 1795170000},
    "secondary": {"used_percent": 21.0, "window_minutes": 10080, "resets_at": 1795600000},
}


def line(ts: str, kind: str, payload: dict[str, Any]) -> str:
    return json.dumps({"timestamp": ts, "type": kind, "payload": payload}, separators=(",", ":"))


def meta(ts: str, sid: str, *, version: str = "0.169.0", forked_from: str | None = None) -> str:
    payload: dict[str, Any] = {
        "id": sid,
        "timestamp": ts,
        "cwd": SHOP,
        "originator": "codex_cli_rs",
        "cli_version": version,
        "instructions": None,
        "source": "cli",
        "model_provider": "openai",
    }
    if forked_from:
        payload["forked_from_id"] = forked_from
    payload["git"] = {
        "commit_hash": "4b8e0c2d9f1a7e3b5c6d8e9f0a1b2c3d4e5f6a7b",
        "branch": "fix-cart-totals",
        "repository_url": "git@example.invalid:dev/shop.git",
    }
    return line(ts, "session_meta", payload)


def turn_context(ts: str, model: str, turn: str) -> str:
    return line(
        ts,
        "turn_context",
        {
            "turn_id": turn,
            "cwd": SHOP,
            "approval_policy": "on-request",
            "sandbox_policy": {
                "type": "workspace-write",
                "writable_roots": [],
                "network_access": False,
                "exclude_tmpdir_env_var": False,
                "exclude_slash_tmp": False,
            },
            "model": model,
            "effort": "medium",
            "summary": "auto",
        },
    )


def usage(i: int, cached: int, o: int, reasoning: int) -> dict[str, int]:
    # total_tokens = input + output: OpenAI counts cached input inside input, reasoning inside output.
    return {
        "input_tokens": i,
        "cached_input_tokens": cached,
        "output_tokens": o,
        "reasoning_output_tokens": reasoning,
        "total_tokens": i + o,
    }


def token_count(ts: str, total: dict[str, int] | None, last: dict[str, int] | None, window: int) -> str:
    info = (
        None
        if total is None
        else {"total_token_usage": total, "last_token_usage": last, "model_context_window": window}
    )
    return line(ts, "event_msg", {"type": "token_count", "info": info, "rate_limits": RATE_LIMITS})


def user(ts: str, text: str) -> list[str]:
    return [
        line(
            ts,
            "response_item",
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]},
        ),
        line(ts, "event_msg", {"type": "user_message", "message": text, "images": []}),
    ]


def tool_call(ts: str, call: str, command: list[str], output: str) -> list[str]:
    return [
        line(ts, "response_item", {"type": "reasoning", "summary": [{"type": "summary_text", "text": "**Inspecting**"}],
                                   "content": None, "encrypted_content": "gAAAAABfixture"}),
        line(ts, "response_item", {"type": "function_call", "name": "shell",
                                   "arguments": json.dumps({"command": command, "workdir": SHOP}), "call_id": call}),
        line(ts, "event_msg", {"type": "exec_command_end", "call_id": call, "stdout": output, "stderr": "",
                               "aggregated_output": output, "exit_code": 0, "duration": {"secs": 0, "nanos": 90000000},
                               "formatted_output": output}),
        line(ts, "response_item", {"type": "function_call_output", "call_id": call,
                                   "output": json.dumps({"output": output, "metadata": {"exit_code": 0, "duration_seconds": 0.1}})}),
    ]  # fmt: skip


def answer(ts: str, text: str) -> list[str]:
    return [
        line(
            ts,
            "response_item",
            {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": text}]},
        ),
        line(ts, "event_msg", {"type": "agent_message", "message": text}),
    ]


def task(ts: str, kind: str, window: int) -> str:
    payload: dict[str, Any] = {"type": kind}
    if kind == "task_started":
        payload["model_context_window"] = window
    else:
        payload["last_agent_message"] = None
    return line(ts, "event_msg", payload)


def session_a() -> list[str]:
    w = 258400
    r1 = usage(8200, 0, 310, 192)
    t1 = r1
    r2 = usage(9400, 8064, 420, 256)
    t2 = usage(17600, 8064, 730, 448)
    r3 = usage(10100, 9344, 150, 64)
    t3 = usage(27700, 17408, 880, 512)
    return [
        meta("2026-11-20T09:15:02.120Z", A),
        turn_context("2026-11-20T09:15:02.300Z", "gpt-5-codex", "t1"),
        task("2026-11-20T09:15:02.310Z", "task_started", w),
        *user("2026-11-20T09:15:02.320Z", "list the failing tests"),
        # The first token_count of a session carries rate limits only (no usage yet).
        token_count("2026-11-20T09:15:03.001Z", None, None, w),
        *tool_call(
            "2026-11-20T09:15:05.410Z", "call_a1", ["bash", "-lc", "pytest -q"], "2 failed, 40 passed"
        ),
        token_count("2026-11-20T09:15:05.420Z", t1, r1, w),
        # Rate limits arrive with the next response's headers: the same counters again.
        token_count("2026-11-20T09:15:06.002Z", t1, r1, w),
        *answer("2026-11-20T09:15:09.700Z", "test_cart_total and test_discount fail."),
        token_count("2026-11-20T09:15:09.710Z", t2, r2, w),
        task("2026-11-20T09:15:09.720Z", "task_complete", w),
        turn_context("2026-11-20T09:20:11.000Z", "gpt-5-codex", "t2"),
        task("2026-11-20T09:20:11.010Z", "task_started", w),
        *user("2026-11-20T09:20:11.020Z", "why does test_discount fail?"),
        token_count("2026-11-20T09:20:11.900Z", t2, r2, w),
        *answer("2026-11-20T09:20:14.200Z", "The discount is applied twice."),
        token_count("2026-11-20T09:20:14.210Z", t3, r3, w),
        # A byte-identical copy of the last event.
        token_count("2026-11-20T09:20:14.210Z", t3, r3, w),
        task("2026-11-20T09:20:14.220Z", "task_complete", w),
    ]


def session_b_first_day() -> list[str]:
    w = 258400
    r1 = usage(12000, 0, 500, 300)
    r2 = usage(13000, 11776, 600, 320)
    t2 = usage(25000, 11776, 1100, 620)
    return [
        meta("2026-11-21T16:40:00.000Z", B),
        turn_context("2026-11-21T16:40:00.200Z", "gpt-5-codex", "t1"),
        task("2026-11-21T16:40:00.210Z", "task_started", w),
        *user("2026-11-21T16:40:00.220Z", "fix test_discount"),
        token_count("2026-11-21T16:40:01.000Z", None, None, w),
        *tool_call(
            "2026-11-21T16:40:04.000Z", "call_b1", ["bash", "-lc", "sed -n 1,80p cart.py"], "def total(..."
        ),
        token_count("2026-11-21T16:40:04.010Z", r1, r1, w),
        token_count("2026-11-21T16:40:04.600Z", r1, r1, w),
        *answer("2026-11-21T16:40:09.000Z", "Fixed: the discount is applied once."),
        token_count("2026-11-21T16:40:09.010Z", t2, r2, w),
        task("2026-11-21T16:40:09.020Z", "task_complete", w),
    ]


def session_b_resumed() -> list[str]:
    # `codex resume` appends to the same file (no new session_meta), the next day, here with another model.
    w = 258400
    t2 = usage(25000, 11776, 1100, 620)
    r3 = usage(14000, 12928, 700, 400)
    t3 = usage(39000, 24704, 1800, 1020)
    return [
        turn_context("2026-11-22T08:05:00.000Z", "gpt-5.1-codex", "t2"),
        task("2026-11-22T08:05:00.010Z", "task_started", w),
        *user("2026-11-22T08:05:00.020Z", "now add a regression test"),
        # The counters restored from the log, re-emitted when the rate limits arrive.
        token_count("2026-11-22T08:05:00.800Z", t2, usage(13000, 11776, 600, 320), w),
        *answer("2026-11-22T08:05:06.000Z", "Added test_discount_applied_once."),
        token_count("2026-11-22T08:05:06.010Z", t3, r3, w),
        task("2026-11-22T08:05:06.020Z", "task_complete", w),
    ]


def session_c(b_history: list[str]) -> list[str]:
    # A fork writes its own session_meta, then the parent's history (the parent's session_meta included),
    # every line stamped with the time of the fork, then its own turns.
    w = 258400
    stamp = "2026-11-23T10:00:00.050Z"
    replay = []
    for raw in b_history:
        obj = json.loads(raw)
        obj["timestamp"] = stamp
        replay.append(json.dumps(obj, separators=(",", ":")))
    r = usage(14500, 13000, 800, 500)
    t = usage(39500, 24776, 1900, 1120)
    return [
        meta("2026-11-23T10:00:00.000Z", C, forked_from=B),
        *replay,
        turn_context("2026-11-23T10:00:01.000Z", "gpt-5-codex", "t9"),
        task("2026-11-23T10:00:01.010Z", "task_started", w),
        *user("2026-11-23T10:00:01.020Z", "try a different fix: round before discounting"),
        token_count(
            "2026-11-23T10:00:01.700Z", usage(25000, 11776, 1100, 620), usage(13000, 11776, 600, 320), w
        ),
        *answer("2026-11-23T10:00:07.000Z", "Rounded before the discount."),
        token_count("2026-11-23T10:00:07.010Z", t, r, w),
        task("2026-11-23T10:00:07.020Z", "task_complete", w),
    ]


def session_d() -> tuple[list[str], str]:
    w = 258400
    r1 = usage(6000, 0, 200, 128)
    half = token_count(
        "2026-11-24T11:00:09.010Z", usage(12800, 5888, 500, 256), usage(6800, 5888, 300, 128), w
    )
    return (
        [
            meta("2026-11-24T11:00:00.000Z", D),
            turn_context("2026-11-24T11:00:00.100Z", "gpt-5-mini", "t1"),
            task("2026-11-24T11:00:00.110Z", "task_started", w),
            *user("2026-11-24T11:00:00.120Z", "summarise README.md"),
            *tool_call("2026-11-24T11:00:03.000Z", "call_d1", ["bash", "-lc", "cat README.md"], "# shop"),
            token_count("2026-11-24T11:00:03.010Z", r1, r1, w),
            *answer("2026-11-24T11:00:09.000Z", "A small shop."),
        ],
        half[: len(half) // 2],
    )


def session_e() -> list[str]:
    w = 272000
    r1 = usage(180000, 0, 2000, 1024)
    r2 = usage(24000, 0, 900, 512)
    t2 = usage(204000, 0, 2900, 1536)
    r3 = usage(25500, 23936, 400, 0)
    t3 = usage(229500, 23936, 3300, 1536)
    return [
        meta("2026-11-25T13:00:00.000Z", E, version="0.46.0"),
        turn_context("2026-11-25T13:00:00.100Z", "gpt-5.2-codex", "t1"),
        *user("2026-11-25T13:00:00.200Z", "read the whole log directory and explain the outage"),
        token_count("2026-11-25T13:00:30.000Z", r1, r1, w),
        # Codex compacted the history: its summary replaces it.
        line("2026-11-25T13:00:31.000Z", "compacted", {"message": "Summary: the outage began at 02:10 ...",
                                                      "replacement_history": []}),
        line("2026-11-25T13:00:31.010Z", "event_msg", {"type": "context_compacted"}),
        token_count("2026-11-25T13:00:40.000Z", t2, r2, w),
        turn_context("2026-11-25T13:05:00.000Z", "gpt-oss-local", "t2"),
        *user("2026-11-25T13:05:00.100Z", "and the fix?"),
        token_count("2026-11-25T13:05:09.000Z", t3, r3, w),
    ]  # fmt: skip


def write(rel: str, lines: list[str], tail: str = "") -> None:
    path = OUT / "sessions" / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{x}\n" for x in lines) + tail, encoding="utf-8")


def main() -> None:
    write(f"2026/11/20/rollout-2026-11-20T09-15-02-{A}.jsonl", session_a())
    b1 = session_b_first_day()
    write(f"2026/11/21/rollout-2026-11-21T16-40-00-{B}.jsonl", b1 + session_b_resumed())
    write(f"2026/11/23/rollout-2026-11-23T10-00-00-{C}.jsonl", session_c(b1))
    lines, half = session_d()
    write(f"2026/11/24/rollout-2026-11-24T11-00-00-{D}.jsonl", lines, half)
    write(f"2026/11/25/rollout-2026-11-25T13-00-00-{E}.jsonl", session_e())


CLI_SCENARIOS = OUT / "cli-scenarios.json"


def cli_main() -> None:
    """Run the real Codex CLI (``tests/support/codex_cli.py``) and keep what it wrote, with what the fake said.

    Three sessions: ``plain`` (a command, then an answer), ``resumed`` (``codex exec resume`` appends a turn
    to the same file) and ``forked`` (``codex exec fork`` of ``plain``: a new file whose cumulative totals
    start from the parent's). The files go to ``sessions/`` beside the hand-written ones (under the day they
    were written); ``cli-scenarios.json`` records each session's id, file and the usage the fake reported.
    """
    import shutil
    import tempfile

    from tests.support.codex_cli import CODEX_VERSION, CodexCLI
    from tests.support.fake_responses import run, say

    for old in json.loads(CLI_SCENARIOS.read_text()).values() if CLI_SCENARIOS.exists() else []:
        (OUT / old["file"]).unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="ctxtop-codex-fixtures-") as tmp:
        cli = CodexCLI(Path(tmp))
        scenarios: dict[str, dict[str, Any]] = {}

        def record(name: str, reported: list[dict[str, int]], known: set[Path]) -> str:
            new = [p for p in cli.rollouts() if p not in known]
            path = new[0] if new else max(cli.rollouts(), key=lambda p: p.stat().st_mtime)
            sid = path.stem[-36:]
            rel = path.relative_to(cli.codex_home).as_posix()
            entry = scenarios.setdefault(name, {"session_id": sid, "file": rel, "reported": []})
            entry["reported"] += reported
            return sid

        def go(name: str, *args: str, steps: list, **usage: int) -> str:
            known = set(cli.rollouts())
            result = cli.run(*args, steps=steps, **usage)
            assert result.returncode == 0, result.stderr[-2000:]
            return record(name, result.reported, known)

        plain = go(
            "plain", "run the tests", steps=[run("echo '2 failed, 40 passed'"), say("Two tests fail.")]
        )
        resumed = go("resumed", "fix the cart", steps=[say("Fixed.")], start_input=9000)
        go("resumed", "resume", resumed, "now add a test", steps=[say("Added.")], start_input=12000)
        go("forked", "fork", plain, "try another way", steps=[say("Another way.")], start_input=15000)
        for entry in scenarios.values():
            target = OUT / entry["file"]
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(cli.codex_home / entry["file"], target)
        CLI_SCENARIOS.write_text(json.dumps({"codex_version": CODEX_VERSION, **scenarios}, indent=2) + "\n")


if __name__ == "__main__":
    import sys

    main()
    if "--cli" in sys.argv:
        cli_main()
