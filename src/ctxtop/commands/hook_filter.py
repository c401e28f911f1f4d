"""The bash-output filter hooks: ``post-tool-use`` (default) and ``pre-tool-use`` (opt-in wrap mode).

post-tool-use replaces a successful Bash command's output with the filtered text::

    {"hookSpecificOutput": {"hookEventName": "PostToolUse",
                            "updatedToolOutput": {"stdout": "<filtered>", "stderr": "", "interrupted": false}}}

The command, its exit code and the user's permissions are untouched. Outputs of 30,000 characters or more are
left alone: Claude Code sends the hook only their first 30,000 characters, so the tail (where test summaries
and errors usually are) would be lost; Claude Code persists those itself.

pre-tool-use rewrites the command to run under ``ctxtop run`` so that failing commands are filtered too::

    {"hookSpecificOutput": {"hookEventName": "PreToolUse", "updatedInput": {<tool_input, command replaced>}}}

It never returns a ``permissionDecision``: the user's own permission rules decide, as for any command.
Interactive commands, background commands and the user's ``[filter] exclude`` patterns are left alone.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shlex
import shutil
import sys
import tempfile
from typing import Any

from ctxtop.adapters import claude_permissions, filter_rules
from ctxtop.adapters.claude_permissions import why_not_wrap
from ctxtop.core.filters import MARK, simple_commands

PERSIST_CHARS = 30_000  # Claude Code 2.1.197 persists larger outputs and shows a 2 KB preview

_INTERACTIVE = re.compile(
    r"^(?:vim?|nvim|gvim|view|nano|pico|micro|emacs|emacsclient|joe|ed|less|more|most|man|info|top|htop|btop|atop"
    r"|iotop|nmon|glances|ssh|mosh|telnet|ftp|sftp|tmux|screen|byobu|watch|fzf|ranger|mc|nnn|lf|vifm|tig|lazygit"
    r"|gitui|ipython|bpython|ptpython|irb|pry|ghci|sqlite3|mysql|psql|mongo|mongosh|redis-cli|crontab\s+-e"
    r"|visudo|vipw|passwd|su|read|select|dialog|whiptail|gdb|lldb|pdb)\b"
    r"|^(?:python[\d.]*|node|deno|bun|lua|ruby|R|julia|ghci|php\s+-a)\s*$"
    r"|^(?:tail|journalctl|kubectl\s+logs|docker\s+logs)\b.*\s(?:-\w*f|--follow)\b"
    r"|^(?:docker|podman|kubectl)\s+(?:run|exec)\b.*\s-\w*(?:it|ti)\b"
    r"|^git\s+(?:add\s+(?:.*\s)?(?:-p|-i|--patch|--interactive)\b|rebase\s+(?:.*\s)?(?:-i|--interactive)\b"
    r"|mergetool|difftool|commit\b(?!.*\s(?:-\w*m|--message|-F|--file|--no-edit|-C|--reuse-message|--fixup)\b)"
    r"|tag\s+-a\b(?!.*\s-m\b)|(?:merge|pull|revert)\b(?!.*--no-edit)(?=.*\s-e\b|.*--edit\b))"
)
# A job left running in the background (`server &`, nohup, setsid) would hold ctxtop run's pipe open.
_BACKGROUND = re.compile(r"(?<![&>|<])&(?![&>])|(?:^|[\s;&|(])(?:nohup|disown|setsid)\b")
_CHANGES_DIR = re.compile(r"(?:^|[\s;&|(])(?:cd|pushd|popd)(?:\s|$|;)")


def _command(payload: dict[str, Any]) -> tuple[dict[str, Any], str] | None:
    if payload.get("tool_name") != "Bash":
        return None
    tool_input = payload.get("tool_input")
    if not isinstance(tool_input, dict):
        return None
    command = tool_input.get("command")
    if not isinstance(command, str) or not command.strip():
        return None
    return tool_input, command


def _wrapped(command: str) -> bool:
    return "ctxtop run" in command or "-m ctxtop" in command or "CTXTOP_SESSION_ID=" in command


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def post_tool_use(payload: dict[str, Any]) -> str | None:
    """Filter a successful Bash command's output; None leaves it unchanged."""
    found = _command(payload)
    if found is None:
        return None
    _, command = found
    response = payload.get("tool_response")
    if isinstance(response, str):
        response = {"stdout": response, "stderr": ""}
    if not isinstance(response, dict):
        return None
    if response.get("interrupted") or response.get("isImage") or response.get("backgroundTaskId"):
        return None
    stdout, stderr = _str(response.get("stdout")), _str(response.get("stderr"))
    if len(stdout) >= PERSIST_CHARS or _wrapped(command) or MARK + "filtered " in stdout:
        return None
    combined = stdout + ("\n" + stderr if stderr and stdout else stderr)
    from ctxtop.commands import hook
    from ctxtop.commands.run import filter_output, log_filtered

    cfg = filter_rules.load()
    filtered = filter_output(
        combined,
        command,
        source="post-tool-use",
        session_id=_str(payload.get("session_id")) or None,
        tool_use_id=_str(payload.get("tool_use_id")) or None,
        transcript_path=_str(payload.get("transcript_path")) or None,
        cwd=_str(payload.get("cwd")) or None,
        config=cfg,
    )
    if filtered.record is None:
        return None
    hook.defer(lambda: log_filtered(filtered))
    reply = {
        "hookSpecificOutput": {
            "hookEventName": "PostToolUse",
            "updatedToolOutput": {"stdout": filtered.text, "stderr": "", "interrupted": False},
        }
    }
    return json.dumps(reply, ensure_ascii=False)


def is_interactive(command: str) -> bool:
    """True when some part of ``command`` needs a terminal or an editor."""
    return any(_INTERACTIVE.search(seg) for seg in simple_commands(command))


def wrap_command(
    command: str,
    *,
    python: str | None = None,
    shell: str | None = None,
    env: dict[str, str] | None = None,
    cwd_file: str | None = None,
) -> str:
    """``command`` rewritten to run under ``ctxtop run`` in a child shell, with the same exit status.

    The whole command is one single-quoted argument, so heredocs, ``&&``, pipes and subshells reach the child
    shell byte for byte. When it changes directory, the final directory is carried back to the calling shell
    (Claude Code keeps the working directory between commands).
    """
    python = python or sys.executable
    shell = shell or shutil.which("bash") or "/bin/sh"
    prefix = "".join(f"{k}={shlex.quote(v)} " for k, v in (env or {}).items() if v)
    script = command
    tail = ""
    if _CHANGES_DIR.search(command):
        cwd_file = cwd_file or os.path.join(tempfile.gettempdir(), f"ctxtop-cwd-{secrets.token_hex(6)}")
        qf = shlex.quote(cwd_file)
        # An EXIT trap also runs after an explicit `exit N` and keeps N; same line, so error line numbers hold.
        script = f"trap {shlex.quote(f'pwd -P >| {qf} 2>/dev/null')} EXIT; {command}"
        tail = (
            f'; __ctxtop_rc=$?; if [ -s {qf} ]; then cd -- "$(cat {qf})"; fi; rm -f {qf}; (exit $__ctxtop_rc)'
        )
    return (
        f"{prefix}{shlex.quote(python)} -m ctxtop run -- {shlex.quote(shell)} -c {shlex.quote(script)}{tail}"
    )


def pre_tool_use(payload: dict[str, Any]) -> str | None:
    """Rewrite a Bash command to run under ``ctxtop run``; None leaves it unchanged."""
    if claude_permissions.WRAP_DISABLED is not None:
        return None  # fail safe: never rewrite while the wrap hook is disabled
    found = _command(payload)
    if found is None:
        return None
    tool_input, command = found
    if tool_input.get("run_in_background") or _wrapped(command) or is_interactive(command):
        return None
    if _BACKGROUND.search(command):
        return None
    cfg = filter_rules.load()
    if cfg.excluded(command):
        return None
    env = {
        "CTXTOP_SESSION_ID": _str(payload.get("session_id")),
        "CTXTOP_TOOL_USE_ID": _str(payload.get("tool_use_id")),
        "CTXTOP_TRANSCRIPT_PATH": _str(payload.get("transcript_path")),
    }
    wrapped = wrap_command(command, env=env)
    if why_not_wrap(payload, command, wrapped) is not None:
        return None
    updated = dict(tool_input)
    updated["command"] = wrapped
    reply = {"hookSpecificOutput": {"hookEventName": "PreToolUse", "updatedInput": updated}}
    return json.dumps(reply, ensure_ascii=False)
