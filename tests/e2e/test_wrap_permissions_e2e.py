"""The wrap hook never lets a command run that Claude Code denies: real CLI, every settings scope, many spellings.

Each scenario runs the same scripted session twice with the real ``claude`` binary, once without ctxtop and
once with ``ctxtop claude install --filter wrap``: one turn of many Bash calls (spelling variants and
compositions of denied ``rm -rf`` / ``touch`` commands, each on its own target), then ``cd sub``, then more
calls from the subdirectory. For every command Claude Code denies without ctxtop, it must deny it with ctxtop
too, and its effect (a directory deleted, a file created) must not happen; in fact every effect and every
decision must be the same. A control scenario without rules shows that the hook really rewrites there.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.claude_cli import CLAUDE_VERSION, ClaudeCLI, tool_results
from tests.support.fake_api import FakeAPI, Reply, bash, text

pytestmark = pytest.mark.timeout(240)

DENY = ["Bash(rm -rf:*)", "Bash(touch:*)"]
PROBE = "printenv CTXTOP_TOOL_USE_ID || echo unwrapped"

# (command, target relative to the project, "deleted" | "created")
FIRST: list[tuple[str, str, str]] = [
    ("rm -rf d01", "d01", "deleted"),
    ("rm  -rf d02", "d02", "deleted"),
    ("rm\t-rf d03", "d03", "deleted"),
    ('"rm" -rf d04', "d04", "deleted"),
    ("r\\m -rf d05", "d05", "deleted"),
    ("env rm -rf d07", "d07", "deleted"),
    ("/bin/rm -rf d08", "d08", "deleted"),
    ("true; rm -rf d09", "d09", "deleted"),
    ("true && rm -rf d10", "d10", "deleted"),
    ("echo x | rm -rf d12", "d12", "deleted"),
    ("(rm -rf d13)", "d13", "deleted"),
    ("echo $(rm -rf d14)", "d14", "deleted"),
    ("bash -c 'rm -rf d16'", "d16", "deleted"),
    ("rm -rf d18 && echo REMOVED", "d18", "deleted"),
    ("touch c01", "c01", "created"),
    ('"touch" c04', "c04", "created"),
    ("t\\ouch c05", "c05", "created"),
    ("true; touch c08", "c08", "created"),
    ("FOO=1 touch c13", "c13", "created"),
    ("touch .claude/c16", ".claude/c16", "created"),
    ("rm -rf .git", ".git", "deleted"),
    ("printf x > c17", "c17", "created"),  # an ordinary command: runs in every scenario
    (PROBE, "", ""),
]
# After `cd sub` (issue 15 (a): the hook's cwd is then sub/, Claude Code's settings are still the root's).
AFTER_CD: list[tuple[str, str, str]] = [
    ("rm -rf ../d20", "d20", "deleted"),
    ("touch ../c20", "c20", "created"),
    ("printf x > ../c21", "c21", "created"),
    ("cd .. && rm -rf d22", "d22", "deleted"),  # last: Claude Code keeps the new cwd (inside the project)
    (PROBE, "", ""),
]
ALL = FIRST + AFTER_CD
# The hook's decision depends on the scope, not on the spelling (with a rule anywhere it rewrites nothing), so
# most scopes run a short list and the full one runs in the project scope on both pinned versions.
SHORT = {"rm -rf d01", "rm  -rf d02", '"rm" -rf d04', "touch c01", "printf x > c17", PROBE, "rm -rf ../d20"}
SHORT |= {"printf x > ../c21", "touch .claude/c16", "rm -rf .git"}


def _commands(full: bool) -> tuple[list[tuple[str, str, str]], list[tuple[str, str, str]]]:
    if full:
        return FIRST, AFTER_CD
    return [c for c in FIRST if c[0] in SHORT], [c for c in AFTER_CD if c[0] in SHORT]


@dataclass
class Outcome:
    decisions: dict[str, tuple[bool, str]]  # command -> (denied, the tool_result text)
    effects: dict[str, bool]  # command -> its effect happened


def _can_fake_managed_settings() -> bool:
    # Claude Code reads managed settings from /etc/claude-code only; a private mount namespace with an overlay
    # on /etc gives this one run its own, without touching the machine's (or other tests') /etc.
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        return False
    probe = subprocess.run(
        ["unshare", "-m", "--propagation", "private", "true"], capture_output=True, timeout=10
    )
    return probe.returncode == 0


def _prepare(claude: ClaudeCLI) -> None:
    project = claude.project
    for d in ("sub", ".git", ".claude"):
        (project / d).mkdir(exist_ok=True)
    for _, target, kind in ALL:
        if kind == "deleted" and target != ".git":
            (project / target).mkdir()
            (project / target / "important").write_text("keep me")


def _script(fake_api: FakeAPI, full: bool) -> None:
    first, after_cd = _commands(full)

    def calls(items: list[tuple[str, str, str]]) -> Reply:
        return Reply(tool_calls=[("Bash", {"command": c, "description": "step"}) for c, _, _ in items])

    fake_api.script([calls(first), bash("cd sub", "enter sub"), calls(after_cd), text("done")])


def _run(claude: ClaudeCLI, mode: str, flags: list[str], managed: dict[str, Any] | None) -> None:
    argv = [str(claude.binary), "-p", "go", "--output-format", "json", "--model", claude.model,
            "--permission-mode", mode, *flags]  # fmt: skip
    if managed is not None:
        etc = claude.home.parent / "etc-overlay"
        for d in ("upper", "work"):
            (etc / d).mkdir(parents=True)
        source = etc / "managed-settings.json"
        source.write_text(json.dumps(managed))
        setup = (
            f"mount -t overlay overlay -o lowerdir=/etc,upperdir={etc}/upper,workdir={etc}/work /etc"
            f" && mkdir -p /etc/claude-code && cp {source} /etc/claude-code/managed-settings.json"
            ' && exec "$@"'
        )
        argv = ["unshare", "-m", "--propagation", "private", "sh", "-c", setup, "sh", *argv]
    proc = subprocess.run(
        argv, cwd=claude.project, env=claude.env(), stdin=subprocess.DEVNULL, capture_output=True, text=True,
        timeout=180,
    )  # fmt: skip
    assert proc.returncode == 0, (
        f"claude exited {proc.returncode}: {proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"
    )


def _outcome(claude: ClaudeCLI, full: bool) -> Outcome:
    records = claude.records()
    commands = {
        b["id"]: b["input"]["command"]
        for r in records
        if r.get("type") == "assistant"
        for b in r["message"]["content"]
        if b.get("type") == "tool_use"
    }
    decisions: dict[str, tuple[bool, str]] = {}
    for i, res in enumerate(tool_results(records)):
        content = res["content"]
        body = content if isinstance(content, str) else " ".join(str(b.get("text", "")) for b in content)
        command = commands[res["tool_use_id"]]
        # "Permission to use Bash … has been denied", or "Claude requested permissions to …" (asked headless).
        denied = bool(res.get("is_error")) and "permission" in body.lower()
        key = command if command not in decisions else f"{command} #{i}"
        decisions[key] = (denied, body.strip())
    effects = {}
    first, after_cd = _commands(full)
    for command, target, kind in first + after_cd:
        if kind == "deleted":
            path = claude.project / target
            effects[command] = not path.exists()
        elif kind == "created":
            effects[command] = (claude.project / target).exists()
    return Outcome(decisions, effects)


def _session(
    tmp: Path, fake_api: FakeAPI, scope: str, mode: str, version: str, full: bool, *, wrap: bool
) -> Outcome:
    claude = ClaudeCLI(tmp, fake_api, version=version)
    _prepare(claude)
    if wrap:
        claude.ctxtop(
            "claude",
            "install",
            "--no-compaction",
            "--filter",
            "wrap",
            "--settings",
            str(claude.settings_path),
        )
        assert "PreToolUse" in claude.settings().get("hooks", {})
    flags: list[str] = []
    managed = None
    rules = {"permissions": {"deny": DENY}}
    if scope == "user":
        settings = claude.settings()
        settings.update(rules)
        claude.settings_path.write_text(json.dumps(settings, indent=2))
    elif scope in ("project", "local"):
        name = "settings.json" if scope == "project" else "settings.local.json"
        (claude.project / ".claude" / name).write_text(json.dumps(rules))
    elif scope == "cli":
        flags = ["--disallowedTools", *DENY]
    elif scope == "managed":
        managed = rules
    elif scope == "allow-all-bash":
        settings = claude.settings()
        settings["permissions"] = {"allow": ["Bash"]}
        claude.settings_path.write_text(json.dumps(settings, indent=2))
    _script(fake_api, full)
    _run(claude, mode, flags, managed)
    return _outcome(claude, full)


def _both(
    tmp: Path, fake_api: FakeAPI, scope: str, mode: str, version: str, full: bool
) -> tuple[Outcome, Outcome]:
    """The session without ctxtop and with the wrap hook, run side by side (each with its own fake API)."""
    with FakeAPI() as other, ThreadPoolExecutor(2) as pool:
        plain = pool.submit(_session, tmp / "plain", fake_api, scope, mode, version, full, wrap=False)
        wrapped = pool.submit(_session, tmp / "wrap", other, scope, mode, version, full, wrap=True)
        return plain.result(), wrapped.result()


MANAGED_OK = _can_fake_managed_settings()
NEWEST = "2.1.332"
SCENARIOS = [
    pytest.param("project", "bypassPermissions", CLAUDE_VERSION, True, id="project"),
    pytest.param("project", "bypassPermissions", NEWEST, True, id=f"project-{NEWEST}"),
    pytest.param("user", "bypassPermissions", CLAUDE_VERSION, False, id="user"),
    pytest.param("local", "bypassPermissions", CLAUDE_VERSION, False, id="local"),
    pytest.param("cli", "bypassPermissions", CLAUDE_VERSION, False, id="cli-disallowedTools"),
    pytest.param(
        "managed",
        "bypassPermissions",
        CLAUDE_VERSION,
        False,
        id="managed",
        marks=pytest.mark.skipif(
            not MANAGED_OK,
            reason="faking /etc/claude-code needs root and unshare (a private mount namespace)",
        ),
    ),
    # Claude Code asks (so, headless, denies) writes under .git and .claude even with an allow rule for all
    # of Bash: the reason the wrap hook rewrites in bypassPermissions mode only.
    pytest.param("allow-all-bash", "default", CLAUDE_VERSION, False, id="allow-all-bash-default-mode"),
]


@pytest.mark.parametrize(("scope", "mode", "version", "full"), SCENARIOS)
def test_wrap_hook_denies_everything_claude_code_denies(
    tmp_path: Path, fake_api: FakeAPI, scope: str, mode: str, version: str, full: bool
) -> None:
    plain, wrapped = _both(tmp_path, fake_api, scope, mode, version, full)

    denied = {c for c, (d, _) in plain.decisions.items() if d}
    if scope != "allow-all-bash":
        # The scenario means something: Claude Code itself denies the spellings of issue 15, after `cd` too.
        spellings = (
            ("rm  -rf d02", "rm\t-rf d03", '"rm" -rf d04', "r\\m -rf d05") if full else ("rm  -rf d02",)
        )
        for command in (*spellings, "rm -rf ../d20"):
            assert command in denied, f"Claude Code did not deny {command!r}: {plain.decisions.get(command)}"
    else:
        assert {"touch .claude/c16", "rm -rf .git"} <= denied, plain.decisions
    for command in denied:
        assert wrapped.decisions[command][0], (
            f"{scope}: Claude Code denies {command!r} without ctxtop but not with the wrap hook: "
            f"{wrapped.decisions[command][1][:300]}"
        )
        if command in wrapped.effects:
            assert not wrapped.effects[command], f"{scope}: the effect of denied {command!r} happened"
    decided = {c: d for c, (d, _) in plain.decisions.items()}
    assert {c: d for c, (d, _) in wrapped.decisions.items()} == decided
    assert wrapped.effects == plain.effects
    assert plain.effects["printf x > c17"] and plain.effects["printf x > ../c21"]
    # With rules in play (or outside bypassPermissions) the hook does not rewrite at all.
    assert all(body == "unwrapped" for c, (_, body) in wrapped.decisions.items() if c.startswith(PROBE))


@pytest.mark.parametrize(("version", "full"), [(CLAUDE_VERSION, True), (NEWEST, False)])
def test_wrap_hook_rewrites_where_nothing_can_be_denied(
    tmp_path: Path, fake_api: FakeAPI, version: str, full: bool
) -> None:
    # Control: bypassPermissions and no rule anywhere. The same session runs the same commands, every effect is
    # the same, and the probe shows the commands really ran under `ctxtop run` (cd carried back included).
    plain, wrapped = _both(tmp_path, fake_api, "none", "bypassPermissions", version, full)
    assert not any(d for d, _ in plain.decisions.values()), plain.decisions
    assert not any(d for d, _ in wrapped.decisions.values()), wrapped.decisions
    assert wrapped.effects == plain.effects and all(plain.effects.values()), plain.effects
    probes = [body for c, (_, body) in wrapped.decisions.items() if c.startswith(PROBE)]
    assert len(probes) == 2 and all(p.startswith("toolu_") for p in probes), probes
    assert all(body == "unwrapped" for c, (_, body) in plain.decisions.items() if c.startswith(PROBE))
