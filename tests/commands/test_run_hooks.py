"""The filter hooks: reply shapes, fail-open behaviour, and wrapped commands that behave like the original."""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ctxtop.commands import hook, hook_filter
from ctxtop.commands.hook_filter import is_interactive, post_tool_use, pre_tool_use, wrap_command
from ctxtop.sources.claude_code import permissions as claude_permissions
from tests.commands import corpus

EDGE = "edge/hook-inputs-reformatted.jsonl"
NOISY = (
    "".join(f"[{i}/700] Compiling module_{i}.c ... ok\n" for i in range(1, 701))
    + "warning: unused x\nBUILD OK\n"
)


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    # A session where Claude Code runs every command unasked: a project with no rules, started by `claude`
    # (in-process, the process tree is pytest's: Claude Code's command line is given).
    (tmp_path / "project").mkdir()
    monkeypatch.setattr(claude_permissions, "claude_argv", lambda: ["claude", "-p", "x"])
    values = {
        "CTXTOP_DATA_DIR": str(tmp_path / "data"),
        "CTXTOP_CONFIG_DIR": str(tmp_path / "cfg"),
        "CTXTOP_CACHE_DIR": str(tmp_path / "cache"),
        "CLAUDE_PROJECT_DIR": str(tmp_path / "project"),
        "CLAUDE_CONFIG_DIR": str(tmp_path / "claude"),
    }
    for k, v in values.items():
        monkeypatch.setenv(k, v)
    return values


def _payload(command: str, stdout: str, stderr: str = "", **response: object) -> dict:
    return {
        "session_id": "c45af7b1-cb7c-4e51-93db-8cbb250a877a",
        # A config dir that does not exist: no settings layer can hold permission rules.
        "transcript_path": "/nonexistent/claude/projects/-workspace/c45af7b1-cb7c-4e51-93db-8cbb250a877a.jsonl",
        "cwd": "/nonexistent/workspace",
        # Wrapping is only ever done where every command would run unasked anyway.
        "permission_mode": "bypassPermissions",
        "hook_event_name": "PostToolUse",
        "tool_name": "Bash",
        "tool_input": {"command": command, "description": "Build"},
        "tool_response": {
            "stdout": stdout,
            "stderr": stderr,
            "interrupted": False,
            "isImage": False,
            **response,
        },
        "tool_use_id": "toolu_01",
    }


def _hook(
    event: str, payload: object, env: dict[str, str], parent: str = "claude"
) -> subprocess.CompletedProcess[str]:
    """The hook as Claude Code runs it: a child of a shell of a process whose argv[0] is ``parent``."""
    data = payload if isinstance(payload, str) else json.dumps(payload)
    hook = f"{shlex.quote(sys.executable)} -m ctxtop hook {event}; exit $?"
    return subprocess.run(
        ["bash", "-c", f"exec -a {shlex.quote(parent)} bash -c {shlex.quote(hook)}"],
        input=data,
        capture_output=True,
        text=True,
        env=corpus.clean_env(env),
        timeout=20,
    )


def _wait_for_log(data: Path) -> dict:
    """The hook logs from a detached child after replying: wait for its record."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        for log in (data / "filter-log").glob("*.jsonl"):
            text = log.read_text()
            if text.endswith("\n"):
                return json.loads(text.splitlines()[0])
        time.sleep(0.05)
    raise AssertionError("no filter-log record")


def test_post_reply_shape_and_raw_saved(env: dict[str, str]) -> None:
    proc = _hook("post-tool-use", _payload("./build.sh", NOISY, "note: from stderr\n"), env)
    assert proc.returncode == 0 and proc.stderr == ""
    reply = json.loads(proc.stdout)
    assert set(reply) == {"hookSpecificOutput"}
    out = reply["hookSpecificOutput"]
    assert out["hookEventName"] == "PostToolUse" and set(out) == {"hookEventName", "updatedToolOutput"}
    updated = out["updatedToolOutput"]
    assert set(updated) == {"stdout", "stderr", "interrupted"}
    assert updated["stderr"] == "" and updated["interrupted"] is False
    text = updated["stdout"]
    for kept in ("warning: unused x", "BUILD OK", "note: from stderr"):
        assert kept in text
    assert len(text) < len(NOISY) / 10
    raw_path = corpus.raw_path_of(text)
    assert raw_path is not None and raw_path.read_text() == NOISY + "\nnote: from stderr\n"
    rec = _wait_for_log(Path(env["CTXTOP_DATA_DIR"]))
    assert rec["session_id"] == "c45af7b1-cb7c-4e51-93db-8cbb250a877a" and rec["source"] == "post-tool-use"
    assert rec["transcript_path"].endswith(".jsonl") and rec["raw_tokens"] > rec["filtered_tokens"]


def test_real_hook_inputs_pass_without_reply(env: dict[str, str], public_corpus: Path) -> None:
    """Every recorded hook input (small outputs, other tools, other events) leaves the output alone."""
    for line in (public_corpus / EDGE).read_text().splitlines():
        payload = json.loads(line)
        assert post_tool_use(payload) is None
        if payload.get("tool_name") != "Bash":
            assert pre_tool_use(payload) is None


@pytest.mark.parametrize(
    "payload",
    [
        _payload("./build.sh", NOISY, interrupted=True),
        _payload("./build.sh", NOISY, backgroundTaskId="b1"),
        _payload("./build.sh", NOISY * 2),  # over 30,000 chars: Claude Code only sent the head
        _payload("CTXTOP_SESSION_ID=x python -m ctxtop run -- bash -c './build.sh'", NOISY),
        {**_payload("./build.sh", NOISY), "tool_name": "Read"},
        {**_payload("./build.sh", NOISY), "tool_response": None},
        {**_payload("./build.sh", NOISY), "tool_input": "not a dict"},
    ],
)
def test_post_leaves_alone(env: dict[str, str], payload: dict) -> None:
    assert post_tool_use(payload) is None


def test_post_tool_response_as_string(env: dict[str, str]) -> None:
    reply = post_tool_use({**_payload("./build.sh", ""), "tool_response": NOISY})
    assert reply is not None and "BUILD OK" in reply


def test_user_exclusion(env: dict[str, str]) -> None:
    cfg = Path(env["CTXTOP_CONFIG_DIR"])
    cfg.mkdir(parents=True)
    (cfg / "config.toml").write_text("[filter]\nexclude = ['build\\.sh']\n")
    assert post_tool_use(_payload("./build.sh", NOISY)) is None
    assert pre_tool_use(_payload("./build.sh", "")) is None
    assert post_tool_use(_payload("./other.sh", NOISY)) is not None


@pytest.mark.parametrize(
    "data", ["", "not json", "[1, 2]", '{"tool_name": "Bash"}', '{"tool_input": {"command": 5}}']
)
@pytest.mark.parametrize("event", ["post-tool-use", "pre-tool-use"])
def test_bad_input_fails_open(env: dict[str, str], event: str, data: str) -> None:
    proc = _hook(event, data, env)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "", "")


def test_slow_handler_is_cut_at_the_budget(env: dict[str, str]) -> None:
    script = (
        "import sys, time, argparse\n"
        "from ctxtop.commands import hook\n"
        "def slow(payload):\n    time.sleep(10)\n    return 'too late'\n"
        "hook.HANDLERS['post-tool-use'] = ('__main__', 'slow')\n"
        "sys.exit(hook.run(argparse.Namespace(event='post-tool-use')))\n"
    )
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-c", script], input="{}", capture_output=True, text=True, env=corpus.clean_env(env)
    )
    assert (proc.returncode, proc.stdout) == (0, "")
    assert time.monotonic() - started < 3


def test_handler_exception_fails_open(env: dict[str, str]) -> None:
    script = (
        "import sys, argparse\n"
        "from ctxtop.commands import hook\n"
        "def boom(payload):\n    raise RuntimeError('x')\n"
        "hook.HANDLERS['pre-tool-use'] = ('__main__', 'boom')\n"
        "sys.exit(hook.run(argparse.Namespace(event='pre-tool-use')))\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], input="{}", capture_output=True, text=True)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "", "")


def test_pre_hook_outside_claude_or_with_risky_flags_never_rewrites(env: dict[str, str]) -> None:
    # Claude Code's command line is read from /proc: not found, or carrying rules a hook cannot see -> no rewrite.
    payload = _payload("pytest -q", "")
    assert _hook("pre-tool-use", payload, env).stdout != ""
    # Nested deeper than Claude Code ever runs its hooks (the suite itself may run under Claude Code).
    nested = (
        f"exec -a python3 bash -c {shlex.quote(f'{sys.executable} -m ctxtop hook pre-tool-use; exit $?')}"
    )
    for _ in range(4):
        nested = f"bash -c {shlex.quote(nested + '; exit $?')}; exit $?"
    proc = subprocess.run(
        ["bash", "-c", nested], input=json.dumps(payload), capture_output=True, text=True,
        env=corpus.clean_env(env), timeout=20,
    )  # fmt: skip
    assert (proc.returncode, proc.stdout) == (0, "")
    for flag in ("--disallowedTools", "--settings=x.json", "--add-dir", "--permission-prompt-tool"):
        args = shlex.join(["claude", "-p", "hi", flag, "Bash(rm:*)"])
        proc = subprocess.run(
            ["bash", "-c", f"exec -a claude bash -c {shlex.quote(f'{sys.executable} -m ctxtop hook pre-tool-use; exit $?')} {args}"],
            input=json.dumps(payload), capture_output=True, text=True, env=corpus.clean_env(env), timeout=20,
        )  # fmt: skip
        assert (proc.returncode, proc.stdout) == (0, ""), flag


@pytest.mark.parametrize("size", [hook.MAX_INPUT_BYTES + 1, 100 * 1024 * 1024])
def test_pre_hook_stops_reading_a_huge_input(env: dict[str, str], size: int) -> None:
    # A real hook process fed by a pipe: it reads at most MAX_INPUT_BYTES, answers "no change" and exits,
    # so the writer sees a closed pipe long before the end (100 MB used to take 1.2 s to read and parse).
    head = json.dumps(_payload("pytest -q", ""))[:-1] + ', "pad": "'
    proc = subprocess.Popen(
        ["bash", "-c", f"exec -a claude bash -c {shlex.quote(f'{sys.executable} -m ctxtop hook pre-tool-use; exit $?')}"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=corpus.clean_env(env),
        bufsize=0,
    )  # fmt: skip
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    sent = 0
    chunk = b"x" * 65536
    try:
        proc.stdin.write(head.encode())
        while sent < size:
            proc.stdin.write(chunk)
            sent += len(chunk)
        proc.stdin.write(b'"}')
    except BrokenPipeError:
        pass
    with contextlib.suppress(BrokenPipeError):
        proc.stdin.close()
    assert proc.wait(timeout=30) == 0
    out, err = proc.stdout.read(), proc.stderr.read()
    assert (proc.returncode, out, err) == (0, b"", b"")
    if size > 2 * hook.MAX_INPUT_BYTES:
        # Stopped reading: the rest was never consumed (a pipe holds at most 1 MiB beyond what was read).
        assert sent < hook.MAX_INPUT_BYTES + 2 * 1024 * 1024, sent


def test_pre_hook_reads_a_large_input_under_the_bound(env: dict[str, str]) -> None:
    payload = _payload("pytest -q", "")
    payload["pad"] = "x" * (hook.MAX_INPUT_BYTES // 4)
    assert "updatedInput" in _hook("pre-tool-use", payload, env).stdout


def test_pre_reply_shape_never_decides_permission(env: dict[str, str]) -> None:
    payload = _payload("pytest -q", "")
    payload["tool_input"]["timeout"] = 120000
    proc = _hook("pre-tool-use", payload, env)
    reply = json.loads(proc.stdout)
    out = reply["hookSpecificOutput"]
    assert set(out) == {"hookEventName", "updatedInput"} and out["hookEventName"] == "PreToolUse"
    assert "permissionDecision" not in proc.stdout
    updated = out["updatedInput"]
    assert updated["description"] == "Build" and updated["timeout"] == 120000
    assert " -m ctxtop run -- " in updated["command"] and "pytest -q" in updated["command"]


@pytest.mark.parametrize(
    "command",
    [
        "vim notes.txt",
        "git commit",
        "git commit -a",
        "git rebase -i HEAD~3",
        "git add -p",
        "cd x && less README.md",
        "tail -f log.txt",
        "ssh host",
        "python",
        "docker run -it ubuntu bash",
    ],
)
def test_interactive_commands_not_wrapped(command: str) -> None:
    assert is_interactive(command)
    assert pre_tool_use(_payload(command, "")) is None


@pytest.mark.parametrize(
    "command",
    [
        "git commit -m 'msg'",
        "git commit --no-edit --amend",
        "python3 -m pytest -q",
        "python3 script.py",
        "make -j4",
    ],
)
def test_ordinary_commands_wrapped(env: dict[str, str], command: str) -> None:
    assert not is_interactive(command)
    assert pre_tool_use(_payload(command, "")) is not None


def test_background_commands_not_wrapped(env: dict[str, str]) -> None:
    payload = _payload("npm run dev", "")
    payload["tool_input"]["run_in_background"] = True
    assert pre_tool_use(payload) is None


def _bash(script: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-c", script], cwd=cwd, capture_output=True, text=True, env=corpus.clean_env(env)
    )


@pytest.mark.parametrize(
    ("command", "stdout", "code"),
    [
        ("echo 'single quotes' \"and $((1 + 2))\"", "single quotes and 3\n", 0),
        ("cat <<'EOF'\nheredoc $HOME 'q' \"d\"\nEOF", "heredoc $HOME 'q' \"d\"\n", 0),
        ("cat <<EOF\nx\nEOF", "x\n", 0),
        ("true && echo and || echo or", "and\n", 0),
        ("printf 'b\\na\\n' | sort | head -1", "a\n", 0),
        ("(echo sub; exit 5)", "sub\n", 5),
        ("echo out; echo err >&2; exit 7", "out\nerr\n", 7),
        ("f() { echo fn \"$1\"; }; f 'x y'", "fn x y\n", 0),
        ("echo $'tab\\there'", "tab\there\n", 0),
        ("false", "", 1),
    ],
)
def test_wrapped_command_behaves_like_the_original(
    env: dict[str, str], tmp_path: Path, command: str, stdout: str, code: int
) -> None:
    proc = _bash(wrap_command(command, shell="/bin/bash"), tmp_path, env)
    assert (proc.stdout, proc.returncode) == (stdout, code)


def test_cwd_carry_back_file_is_private(env: dict[str, str], tmp_path: Path) -> None:
    # Another local user could pre-create a shared /tmp name and steer the shell's `cd`: the file lives in a
    # 0700 dir of ours instead, and where no such dir can be had the command is not wrapped.
    wrapped = wrap_command("cd sub", shell="/bin/bash")
    assert "/tmp/ctxtop-cwd" not in wrapped
    private = tmp_path / "cache" / "cwd"
    assert f"{private}/cwd-" in wrapped
    assert private.stat().st_mode & 0o777 == 0o700 and private.stat().st_uid == os.getuid()
    assert pre_tool_use(_payload("cd sub && make", "")) is not None
    (tmp_path / "cache").chmod(0o777)  # a parent others can write: they could swap the dir
    assert pre_tool_use(_payload("cd sub && make", "")) is None
    assert pre_tool_use(_payload("make", "")) is not None  # no carry-back needed
    (tmp_path / "cache").chmod(0o700)
    private.rmdir()
    (tmp_path / "elsewhere").mkdir(mode=0o700)
    private.symlink_to(tmp_path / "elsewhere")
    assert pre_tool_use(_payload("cd sub && make", "")) is None
    private.unlink()
    private.mkdir(mode=0o755)
    assert pre_tool_use(_payload("cd sub && make", "")) is None
    with pytest.raises(ValueError):
        wrap_command("cd sub", shell="/bin/bash")
    private.chmod(0o700)
    assert pre_tool_use(_payload("cd sub && make", "")) is not None
    if os.geteuid() == 0:  # a dir of the right mode that another user owns (pre-created by them)
        os.chown(private, 65534, 65534)
        assert pre_tool_use(_payload("cd sub && make", "")) is None
        os.chown(private, 0, 0)


def test_wrapped_cd_carries_the_directory_back(env: dict[str, str], tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    wrapped = wrap_command("cd sub && echo in; exit 3", shell="/bin/bash")
    proc = _bash(f"{wrapped}\necho rc=$?; pwd", tmp_path, env)
    assert proc.stdout.splitlines() == ["in", "rc=3", str(tmp_path / "sub")]
    assert list((tmp_path / "cache" / "cwd").iterdir()) == []


def test_wrapped_failing_noisy_command_is_filtered_with_exit_code(
    env: dict[str, str], tmp_path: Path
) -> None:
    cmd = "for i in $(seq 1 800); do echo \"test_$i PASSED ok-$i\"; done; echo 'FAILED test_x - boom'; exit 1"
    proc = _bash(wrap_command(cmd, shell="/bin/bash"), tmp_path, env)
    assert proc.returncode == 1
    assert "FAILED test_x - boom" in proc.stdout and len(proc.stdout) < 1500
    assert corpus.raw_path_of(proc.stdout) is not None


def test_hook_filter_has_no_heavy_imports() -> None:
    code = (
        "import sys, ctxtop.commands.hook, ctxtop.commands.hook_filter, ctxtop.commands.run\n"
        "bad = [m for m in ('textual', 'watchdog', 'anthropic', 'tiktoken') if m in sys.modules]\n"
        "print(bad)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
    assert hook_filter.PERSIST_CHARS == 30_000


@pytest.mark.parametrize(
    ("command", "wrapped"),
    [
        ("npm run dev &", False),
        ("server & sleep 1; curl localhost", False),
        ("nohup ./long.sh > log", False),
        ("make 2>&1 | tee log", True),
        ("ls &> out && cat out", True),
        ("echo a >&2", True),
    ],
)
def test_background_jobs_not_wrapped(env: dict[str, str], command: str, wrapped: bool) -> None:
    assert (pre_tool_use(_payload(command, "")) is not None) is wrapped
