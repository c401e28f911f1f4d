"""The bash-output filter hooks: ``post-tool-use`` (default) and ``pre-tool-use`` (opt-in wrap mode).

post-tool-use replaces a successful Bash command's output with the filtered text::

    {"hookSpecificOutput": {"hookEventName": "PostToolUse",
                            "updatedToolOutput": {"stdout": "<filtered>", "stderr": "", "interrupted": false}}}

The command, its exit code and the user's permissions are untouched. Outputs of 30,000 characters or more are
left alone: Claude Code sends the hook only their first 30,000 characters, so the tail (where test summaries
and errors usually are) would be lost; Claude Code persists those itself.

pre-tool-use rewrites the command to run under ``ctxtop run`` so that failing commands are filtered too::

    {"hookSpecificOutput": {"hookEventName": "PreToolUse", "updatedInput": {<tool_input, command replaced>}}}

It never returns a ``permissionDecision``, and it rewrites only in sessions where Claude Code runs every
command unasked (see :mod:`ctxtop.sources.claude_code.permissions`). Interactive commands, background commands
and the user's ``[filter] exclude`` patterns are left alone.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import stat
import sys

from ctxtop.adapters import paths
from ctxtop.sources.claude_code.permissions import why_command_stays, why_rules_could_apply

# The filter rules (TOML, regexes) are imported only where needed: the pre hook's usual answer ("rules exist,
# leave the command alone") must not pay for them on every Bash call.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any

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
    from ctxtop.core.filters import MARK

    if len(stdout) >= PERSIST_CHARS or _wrapped(command) or MARK + "filtered " in stdout:
        return None
    combined = stdout + ("\n" + stderr if stderr and stdout else stderr)
    from ctxtop.adapters import filter_rules
    from ctxtop.commands import hook
    from ctxtop.services.filtering import filter_output, log_filtered

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
    from ctxtop.core.filters import simple_commands

    return any(_INTERACTIVE.search(seg) for seg in simple_commands(command))


def _safe_ancestors(path: Path) -> bool:
    """No other user can replace ``path`` or anything above it (owned by us or root; sticky if shared)."""
    uid = os.getuid()
    for d in path.parents:
        try:
            st = os.stat(d)
        except OSError:
            return False
        if st.st_uid not in (uid, 0) or (st.st_mode & 0o022 and not st.st_mode & stat.S_ISVTX):
            return False
    return True


def carry_dir() -> Path | None:
    """A directory only this user can write, for the cwd carry-back file; None when none can be made safe.

    A shared name such as ``/tmp/ctxtop-cwd-…`` could be pre-created by another local user, and the calling
    shell ``cd``s to whatever the file says, so the file lives in ctxtop's cache dir, which must be a real
    directory (no symlink) of ours with mode 0700, under directories no one else can rename it in.
    """
    path = paths.cache_dir() / "cwd"
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            os.mkdir(path, 0o700)
        except FileExistsError:
            pass
        st = os.lstat(path)
    except OSError:
        return None
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid() or st.st_mode & 0o077:
        return None
    return path if _safe_ancestors(path) else None


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
    (Claude Code keeps the working directory between commands) through a file in :func:`carry_dir`, never a
    shared name; ``cwd_file`` overrides it. ValueError when no private directory can be had.
    """
    import shutil

    python = python or sys.executable
    shell = shell or shutil.which("bash") or "/bin/sh"
    prefix = "".join(f"{k}={shlex.quote(v)} " for k, v in (env or {}).items() if v)
    script = command
    tail = ""
    if _CHANGES_DIR.search(command):
        if cwd_file is None:
            private = carry_dir()
            if private is None:
                raise ValueError("no private directory for the cwd carry-back file")
            cwd_file = str(private / f"cwd-{os.urandom(8).hex()}")
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
    found = _command(payload)
    if found is None:
        return None
    tool_input, command = found
    if tool_input.get("run_in_background") or _wrapped(command) or _BACKGROUND.search(command):
        return None
    if why_rules_could_apply(payload) is not None:
        return None  # checked first: it is the common answer and needs no filter rules
    if is_interactive(command):
        return None
    from ctxtop.adapters import filter_rules

    cfg = filter_rules.load()
    if cfg.excluded(command):
        return None
    env = {
        "CTXTOP_SESSION_ID": _str(payload.get("session_id")),
        "CTXTOP_TOOL_USE_ID": _str(payload.get("tool_use_id")),
        "CTXTOP_TRANSCRIPT_PATH": _str(payload.get("transcript_path")),
    }
    try:
        wrapped = wrap_command(command, env=env)
    except ValueError:
        return None
    if why_command_stays(command, wrapped) is not None:
        return None
    updated = dict(tool_input)
    updated["command"] = wrapped
    reply = {"hookSpecificOutput": {"hookEventName": "PreToolUse", "updatedInput": updated}}
    return json.dumps(reply, ensure_ascii=False)
