"""Run the real Claude Code CLI (npm, pinned in tests/e2e/package.json) headless against a ``FakeAPI``.

Two versions are pinned: 2.1.197 (``@anthropic-ai/claude-code``) and the newest one npm served when it was
added, 2.1.332 (the alias ``claude-code-2.1.332``). Both packages declare the bin name ``claude``, so
``node_modules/.bin/claude`` points at whichever npm linked last: each version is run from its own package
directory instead. ``ClaudeCLI(..., version=V)`` picks one; a test runs on both with
``@pytest.mark.parametrize("claude", CLAUDE_VERSIONS, indirect=True)``.

``ClaudeCLI(home, fake_api).run("prompt")`` runs ``claude -p PROMPT --output-format json`` in a scratch
project with a scratch HOME and ``CLAUDE_CONFIG_DIR``, pointed at the fake API on 127.0.0.1 with a dummy key,
every ``ANTHROPIC_*``/``CLAUDE_*`` variable of the caller's environment removed and all non-essential traffic
(telemetry, auto-update, error reports) disabled, so a run can reach nothing but 127.0.0.1. Install the
binary with ``npm ci --prefix tests/e2e``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support.fake_api import FakeAPI

E2E_DIR = Path(__file__).resolve().parents[1] / "e2e"
NODE_BIN = E2E_DIR / "node_modules" / ".bin"
CCUSAGE_BIN = NODE_BIN / "ccusage"
RECORDER = Path(__file__).resolve().parent / "hook_recorder.py"
CLAUDE_VERSION = "2.1.197"
"""The version a test runs unless it asks for another."""
CLAUDE_BINARIES = {
    "2.1.197": E2E_DIR / "node_modules" / "@anthropic-ai" / "claude-code" / "bin" / "claude.exe",
    "2.1.332": E2E_DIR / "node_modules" / "claude-code-2.1.332" / "bin" / "claude.exe",
}
CLAUDE_VERSIONS = tuple(CLAUDE_BINARIES)
CLAUDE_BIN = CLAUDE_BINARIES[CLAUDE_VERSION]
MODEL = "claude-opus-4-8"
INSTALL_HINT = "run `npm ci --prefix tests/e2e` (or set CTXTOP_SKIP_E2E=1 to skip the end-to-end tests)"

# Variables of the caller that must never leak into a test run (real keys, real config dirs, proxies).
_STRIPPED_PREFIXES = (
    "ANTHROPIC_", "CLAUDE_", "CLAUDECODE", "OTEL_", "AWS_", "GOOGLE_", "VERTEX_", "CTXTOP_", "PYTEST_", "XDG_",
)  # fmt: skip
_STRIPPED = {
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
    "NODE_OPTIONS",
}


def require_binary(path: Path) -> Path:
    """The binary's path; fails (never skips) with an install hint when it is missing."""
    if not path.exists():
        raise AssertionError(f"{path.relative_to(E2E_DIR.parents[1])} is missing: {INSTALL_HINT}")
    return path


def clean_env(**extra: str) -> dict[str, str]:
    """The caller's environment without any Anthropic/Claude/proxy variable, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_STRIPPED_PREFIXES) and k not in _STRIPPED}
    env.update(extra)
    return env


@dataclass
class Run:
    """One finished ``claude -p`` run."""

    args: list[str]
    returncode: int
    stdout: str
    stderr: str
    seconds: float
    result: dict[str, Any] = field(default_factory=dict)  # the --output-format json object

    @property
    def session_id(self) -> str:
        return str(self.result.get("session_id", ""))


class ClaudeCLI:
    """A scratch Claude Code installation: HOME, config dir and project dir under ``root``."""

    def __init__(
        self,
        root: Path,
        api: FakeAPI,
        *,
        model: str = MODEL,
        version: str = CLAUDE_VERSION,
        project: str = "proj",
    ) -> None:
        self.version = version
        self.binary = require_binary(CLAUDE_BINARIES[version])
        self.api = api
        self.model = model
        self.home = root / "home"
        self.config_dir = root / "home" / ".claude"
        self.project = root / project
        for d in (self.home, self.config_dir, self.project):
            d.mkdir(parents=True, exist_ok=True)
        self._write_config()
        self.env_extra: dict[str, str] = {}

    def _write_config(self) -> None:
        # Onboarding done and the project trusted, so no first-run screen can wait for input.
        config = {
            "hasCompletedOnboarding": True,
            "lastOnboardingVersion": self.version,
            "numStartups": 1,
            "autoUpdates": False,
            "customApiKeyResponses": {"approved": ["dummy"], "rejected": []},
            "projects": {
                str(self.project): {
                    "hasTrustDialogAccepted": True,
                    "hasCompletedProjectOnboarding": True,
                    "allowedTools": [],
                }
            },
        }
        (self.config_dir / ".claude.json").write_text(json.dumps(config, indent=2))

    @property
    def settings_path(self) -> Path:
        return self.config_dir / "settings.json"

    @property
    def projects_dir(self) -> Path:
        return self.config_dir / "projects"

    def env(self) -> dict[str, str]:
        return clean_env(
            HOME=str(self.home),
            ANTHROPIC_BASE_URL=self.api.url,
            ANTHROPIC_API_KEY="dummy",
            CLAUDE_CONFIG_DIR=str(self.config_dir),
            CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC="1",
            DISABLE_AUTOUPDATER="1",
            DISABLE_TELEMETRY="1",
            DISABLE_ERROR_REPORTING="1",
            DISABLE_BUG_COMMAND="1",
            CLAUDE_CODE_DISABLE_TERMINAL_TITLE="1",
            # Hooks run `python -m ctxtop`: the interpreter running the tests has ctxtop installed.
            PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
            NO_COLOR="1",
            # Claude Code refuses --dangerously-skip-permissions as root unless it is told it is sandboxed.
            IS_SANDBOX="1",
            # ctxtop (the hooks and the commands the tests run) keeps its dirs in the scratch HOME too.
            CTXTOP_DATA_DIR=str(self.home / "ctxtop" / "data"),
            CTXTOP_CACHE_DIR=str(self.home / "ctxtop" / "cache"),
            CTXTOP_CONFIG_DIR=str(self.home / "ctxtop" / "config"),
            CTXTOP_API_LOG_DIR=str(self.home / "ctxtop" / "api-logs"),
            **self.env_extra,
        )

    def ctxtop(self, *args: str, check: bool = True, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """``python -m ctxtop ARGS`` in the same scratch environment (HOME, config dir) as ``claude``."""
        proc = subprocess.run(
            [sys.executable, "-m", "ctxtop", *args],
            cwd=self.project,
            env=self.env(),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if check and proc.returncode != 0:
            raise AssertionError(f"ctxtop {' '.join(args)} exited {proc.returncode}:\n{proc.stderr[-3000:]}")
        return proc

    def settings(self) -> dict[str, Any]:
        return json.loads(self.settings_path.read_text()) if self.settings_path.exists() else {}

    def add_recorder_hooks(self, *events: str) -> Path:
        """Add a recording-only hook (``hook_recorder.py``) for each event; returns its log path."""
        log = self.home / "hook-events.jsonl"
        settings = self.settings()
        hooks = settings.setdefault("hooks", {})
        for event in events:
            command = f"{sys.executable} {RECORDER} {log} {event}"
            hooks.setdefault(event, []).append({"hooks": [{"type": "command", "command": command}]})
        self.settings_path.write_text(json.dumps(settings, indent=2))
        return log

    def hook_events(self) -> list[dict[str, Any]]:
        """What the recorder hooks logged, in order."""
        log = self.home / "hook-events.jsonl"
        if not log.exists():
            return []
        return [json.loads(line) for line in log.read_text().splitlines() if line.strip()]

    def run(self, prompt: str, *extra: str, timeout: float = 50, check: bool = True) -> Run:
        """``claude -p PROMPT`` with bypassed permissions; ``extra`` e.g. ("--continue",)."""
        args = [
            str(self.binary),
            "-p",
            prompt,
            "--output-format",
            "json",
            "--model",
            self.model,
            "--dangerously-skip-permissions",
            *extra,
        ]
        started = time.monotonic()
        proc = subprocess.run(
            args,
            cwd=self.project,
            env=self.env(),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        run = Run(args, proc.returncode, proc.stdout, proc.stderr, time.monotonic() - started)
        try:
            run.result = json.loads(proc.stdout.strip().splitlines()[-1]) if proc.stdout.strip() else {}
        except ValueError:
            run.result = {}
        if check and proc.returncode != 0:
            raise AssertionError(
                f"claude exited {proc.returncode} after {run.seconds:.1f}s\nstdout: {proc.stdout[-3000:]}\n"
                f"stderr: {proc.stderr[-3000:]}\nunhandled requests: {self.api.unknown()}"
            )
        return run

    def interactive(
        self,
        prompts: Sequence[str],
        *,
        done: Callable[[int], bool],
        timeout: float = 60,
        model: str | None = None,
    ) -> str:
        """Run ``claude`` interactively under a pseudo-terminal (the statusLine command only runs there),
        type each prompt and wait until ``done(i)`` holds for it, quit; returns what the terminal showed.

        ``model`` None starts Claude Code on its default model.
        """
        import pty
        import select
        import signal

        config = json.loads((self.config_dir / ".claude.json").read_text())
        config["bypassPermissionsModeAccepted"] = True
        (self.config_dir / ".claude.json").write_text(json.dumps(config, indent=2))
        args = [str(self.binary), "--dangerously-skip-permissions"]
        if model:
            args += ["--model", model]
        env = self.env()
        env.pop("NO_COLOR", None)
        env["TERM"] = "xterm-256color"
        env["COLUMNS"], env["LINES"] = "200", "50"
        pid, fd = pty.fork()
        if pid == 0:  # the child: exec claude in the project
            try:
                os.chdir(self.project)
                os.execve(args[0], args, env)
            finally:
                os._exit(127)
        screen = bytearray()

        def pump(seconds: float) -> None:
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                ready, _, _ = select.select([fd], [], [], 0.05)
                if ready:
                    try:
                        screen.extend(os.read(fd, 65536))
                    except OSError:
                        return

        try:
            import fcntl
            import struct
            import termios

            fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 200, 0, 0))
            deadline = time.monotonic() + timeout
            # Wait for the prompt box before typing (the first frames draw the welcome screen).
            while time.monotonic() < deadline and b">" not in screen:
                pump(0.2)
            pump(1.0)
            for i, prompt in enumerate(prompts):
                os.write(fd, prompt.encode())
                pump(0.3)
                os.write(fd, b"\r")
                while time.monotonic() < deadline and not done(i):
                    pump(0.2)
                if not done(i):
                    raise AssertionError(
                        f"interactive claude did not finish prompt {i} in {timeout}s; screen tail:\n"
                        f"{bytes(screen[-3000:]).decode('utf-8', 'replace')}\nunhandled: {self.api.unknown()}"
                    )
        finally:
            try:
                os.kill(pid, signal.SIGTERM)
                for _ in range(20):
                    if os.waitpid(pid, os.WNOHANG)[0]:
                        break
                    time.sleep(0.1)
                else:
                    os.kill(pid, signal.SIGKILL)
                    os.waitpid(pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass
            os.close(fd)
        return bytes(screen).decode("utf-8", "replace")

    def transcripts(self) -> list[Path]:
        """Every session transcript written so far (subagent files included)."""
        return sorted(self.projects_dir.rglob("*.jsonl"))

    def records(self, session_id: str | None = None) -> list[dict[str, Any]]:
        """The records of the main transcript of ``session_id`` (default: the only session)."""
        files = [p for p in self.transcripts() if "subagents" not in p.parts]
        if session_id is not None:
            files = [p for p in files if p.stem == session_id]
        assert len(files) == 1, f"expected one transcript, found {files}"
        return [json.loads(line) for line in files[0].read_text().splitlines() if line.strip()]


def tool_results(records: Sequence[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Every tool_result block of the user records, in order."""
    for rec in records:
        content = (rec.get("message") or {}).get("content") if rec.get("type") == "user" else None
        if isinstance(content, list):
            yield from (b for b in content if isinstance(b, dict) and b.get("type") == "tool_result")


def copy_tree(src: Path, dst: Path) -> Path:
    """A writable copy of a read-only fixture tree."""
    shutil.copytree(src, dst)
    for p in [dst, *dst.rglob("*")]:
        p.chmod(0o755 if p.is_dir() else 0o644)
    return dst
