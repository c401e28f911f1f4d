"""The real Codex CLI (``@openai/codex`` from npm, pinned in ``tests/e2e/package.json``), run offline.

Each run happens in a network namespace of its own (``unshare -n``) whose only interface is the loopback,
together with the fake Responses API it talks to (``tests/support/fake_responses.py``): Codex's other
traffic (plugin sync, update checks, telemetry) cannot leave the machine, it fails at once. The scratch
``CODEX_HOME`` holds a ``config.toml`` whose provider points at the fake with a dummy key.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support.claude_cli import E2E_DIR, require_binary
from tests.support.fake_responses import Step

CODEX_VERSION = "0.169.0"
CODEX_BIN = E2E_DIR / "node_modules" / "@openai" / "codex" / "bin" / "codex.js"
MODEL = "gpt-5-codex"
REPO = Path(__file__).resolve().parents[2]


@dataclass
class CodexRun:
    args: list[str]
    returncode: int
    stdout: str
    stderr: str
    reported: list[dict[str, int]] = field(default_factory=list)
    """What the fake API reported, one dict per answer (input_tokens, cached_tokens, output_tokens, ...)."""


class CodexCLI:
    """A scratch Codex installation: HOME, ``CODEX_HOME`` (``<home>/.codex``) and a project dir."""

    def __init__(self, root: Path, *, model: str = MODEL) -> None:
        self.binary = require_binary(CODEX_BIN)
        if shutil.which("unshare") is None or shutil.which("ip") is None:
            raise AssertionError("the Codex end-to-end tests need `unshare` and `ip` (util-linux, iproute2)")
        self.root = root
        self.home = root / "home"
        self.codex_home = self.home / ".codex"
        self.project = root / "project"
        for d in (self.codex_home, self.project):
            d.mkdir(parents=True, exist_ok=True)
        (self.codex_home / "config.toml").write_text(
            f'model = "{model}"\n'
            'model_provider = "fake"\n'
            "check_for_update_on_startup = false\n"
            "[model_providers.fake]\n"
            'name = "fake"\n'
            'base_url = "http://127.0.0.1:9/v1"\n'
            'wire_api = "responses"\n'
            'env_key = "FAKE_OPENAI_KEY"\n'
        )

    @property
    def sessions(self) -> Path:
        return self.codex_home / "sessions"

    def rollouts(self) -> list[Path]:
        return sorted(self.sessions.rglob("rollout-*.jsonl"))

    def env(self) -> dict[str, str]:
        return {
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin",
            "HOME": str(self.home),
            "CODEX_HOME": str(self.codex_home),
            "FAKE_OPENAI_KEY": "dummy",
            "RUST_LOG": "error",
            "NO_COLOR": "1",
            "TZ": "UTC",
            "LANG": "C.UTF-8",
            "PYTHONPATH": str(REPO),
        }

    def run(self, *args: str, steps: list[Step], timeout: float = 90, **usage: int) -> CodexRun:
        """``codex exec ARGS`` answered by ``steps`` (then "Done."); ``usage`` sets the fake's figures."""
        spec: dict[str, Any] = {"steps": [{"text": s.text, "command": s.command} for s in steps], **usage}
        script = self.root / "script.json"
        report = self.root / "report.json"
        script.write_text(json.dumps(spec))
        report.unlink(missing_ok=True)
        command = ["node", str(self.binary), "exec", "--skip-git-repo-check",
                   "-c", 'model_providers.fake.base_url="{url}"', *args]  # fmt: skip
        resolv = self.root / "resolv.conf"
        resolv.write_text("nameserver 127.0.0.1\noptions attempts:1 timeout:1\n")
        # A network and a mount namespace: only the loopback, and a resolv.conf naming the fake's refuser.
        setup = f'ip link set lo up && mount --bind {resolv} /etc/resolv.conf && exec "$0" "$@"'
        full = [
            "unshare", "-n", "-m", "sh", "-c", setup,
            sys.executable, "-m", "tests.support.fake_responses", str(script), str(report), "--", *command,
        ]  # fmt: skip
        proc = subprocess.run(
            full, cwd=self.project, env=self.env(), capture_output=True, text=True, timeout=timeout,
            stdin=subprocess.DEVNULL,
        )  # fmt: skip
        reported = json.loads(report.read_text())["reported"] if report.exists() else []
        return CodexRun(list(args), proc.returncode, proc.stdout, proc.stderr, reported)
