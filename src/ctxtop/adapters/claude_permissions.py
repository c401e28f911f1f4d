"""May the wrap hook rewrite a Bash command without changing what Claude Code's permissions decide?

Claude Code checks its permission rules against the command a PreToolUse hook returns. A rewritten command
(``python -m ctxtop run -- bash -c '…'``) no longer matches the user's ``Bash(rm:*)``-style rules, so wrapping a
command that a deny or ask rule covers would let it run, and wrapping one that only a specific allow rule
covers would make Claude Code ask. The wrap hook therefore wraps only when it can show the decision is the same:

- no deny or ask rule for Bash in any settings layer (managed, user, project, local) could match the original
  or the wrapped command (matched conservatively: a rule's literal text anywhere in the command counts);
- and every command would be allowed anyway: permission mode ``bypassPermissions``, or an allow rule for all
  of Bash (``Bash``, ``Bash(*)``, ``Bash(:*)``).

Rules given on Claude Code's command line (``--disallowedTools``) are invisible to hooks: with those, use the
post hook (``--filter post``), which never touches commands. The wrap hook also leaves alone commands that
rely on the calling shell (functions, aliases, unexported variables, ``trap``/``eval``/``source``) and
commands too long to pass as one argument.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

from ctxtop.adapters import paths
from ctxtop.adapters.claude_env import settings_layers

WRAP_DISABLED: str | None = (
    "the wrap hook is disabled until it can be shown never to let a command run that Claude Code would deny "
    "(issue 15: settings read from the wrong directory after `cd`, and spelling variants such as `rm  -rf` "
    "that Claude Code's own matcher denies); use --filter post"
)
"""While set, ``claude install --filter wrap`` refuses and an installed wrap hook never rewrites a command."""

MAX_WRAPPED = 64 * 1024
"""Linux limits one argument to 128 KiB; quoting can nearly double a command."""

_ALL_BASH = {"Bash", "Bash(*)", "Bash(:*)"}
_SHELL_STATE = re.compile(r"(?:^|[\s;&|(])(?:trap|eval|source|\.|alias|unalias|function)(?:\s|$)")
_VARIABLE = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)")
_ASSIGNED = re.compile(
    r"(?:^|[\s;&|(])(?:export\s+|local\s+|declare\s+(?:-\w+\s+)*|readonly\s+)?([A-Za-z_]\w*)="
)
_LOOP_OR_READ = re.compile(r"\b(?:for|select)\s+([A-Za-z_]\w*)\s+in\b|\bread\s+(?:-\w+\s+)*([A-Za-z_]\w*)")
_BUILTINS = frozenset(
    "cd pushd popd echo printf test [ [[ true false export unset set shift exit return : command type "
    "builtin wait kill umask ulimit hash times getopts let local declare readonly if then else elif fi for "
    "while until do done case esac in select time ! { } (( ))".split()
)
_MANAGED = (
    Path("/etc/claude-code/managed-settings.json"),
    Path("/Library/Application Support/ClaudeCode/managed-settings.json"),
)


def _bash_rules(layers: list[dict], kind: str) -> list[str]:
    rules = []
    for layer in layers:
        perms = layer.get("permissions") if isinstance(layer, dict) else None
        values = perms.get(kind) if isinstance(perms, dict) else None
        if isinstance(values, list):
            rules.extend(v.strip() for v in values if isinstance(v, str) and v.strip().startswith("Bash"))
    return rules


def _literal(rule: str) -> str | None:
    """The fixed text of a Bash rule (None: the rule covers every command)."""
    if rule in _ALL_BASH or not rule.startswith("Bash("):
        return None if rule in _ALL_BASH or rule == "Bash" else rule
    inner = rule[len("Bash(") : -1] if rule.endswith(")") else rule[len("Bash(") :]
    inner = inner.removesuffix(":*")
    head = inner.split("*", 1)[0].strip()
    return head or None


def _layers(payload: dict) -> list[dict]:
    """Every settings layer that can hold permission rules for this session, unreadable ones as deny-all."""
    out: list[dict] = []
    for managed in _MANAGED:
        try:
            data = json.loads(managed.read_text("utf-8"))
        except FileNotFoundError:
            continue
        except (OSError, ValueError):
            data = {"permissions": {"deny": ["Bash"]}}
        out.append(data if isinstance(data, dict) else {})
    config_dirs = []
    transcript = payload.get("transcript_path")
    if isinstance(transcript, str) and transcript:
        config_dirs.append(Path(transcript).parent.parent.parent)  # <config>/projects/<project>/<id>.jsonl
    config_dirs.extend(paths.claude_config_dirs())
    cwd = payload.get("cwd") if isinstance(payload.get("cwd"), str) else None
    seen: set[str] = set()
    for d in config_dirs:
        key = os.path.realpath(d)
        if key in seen:
            continue
        seen.add(key)
        for layer in settings_layers(d, cwd):
            # A settings file Claude Code may read but we cannot parse proves nothing: treat it as deny-all.
            out.append({"permissions": {"deny": ["Bash"]}} if layer.error is not None else layer.data)
        cwd = None  # the project and local layers once
    return out


_SEPARATORS = frozenset({";", "&&", "||", "|", "&", "|&", "(", ")", ";;", "{", "}"})
_KEYWORDS = frozenset({"do", "then", "else", "elif", "if", "while", "until", "!", "time", "{"})


def command_words(command: str) -> list[str] | None:
    """The words in command position (what the shell will look up and run); None if it cannot be tokenised."""
    import shlex

    lexer = shlex.shlex(command, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    try:
        tokens = list(lexer)
    except ValueError:
        return None
    words: list[str] = []
    expect = True
    for token in tokens:
        if token in _SEPARATORS:
            expect = True
            continue
        if not expect:
            continue
        if "=" in token.split("/", 1)[0] and not token.startswith("="):
            continue  # FOO=1 cmd: an assignment, the command follows
        if (
            token.startswith((">", "<"))
            or token[:1].isdigit()
            and token.rstrip("0123456789")[:1] in (">", "<")
        ):
            continue
        words.append(token)
        expect = token in _KEYWORDS
    return words


def relies_on_shell(command: str, first_words: list[str] | None = None) -> bool:
    """True when the command uses state only the calling shell has (functions, aliases, shell variables)."""
    if _SHELL_STATE.search(command):
        return True
    words = command_words(command) if first_words is None else first_words
    if words is None:
        return True
    for word in words:
        if not word or word in _BUILTINS or "/" in word or "=" in word:
            continue
        if shutil.which(word) is None:
            return True  # a function or an alias of the user's shell, or a typo: run it where it belongs
    assigned = {m.group(1) for m in _ASSIGNED.finditer(command)}
    for m in _LOOP_OR_READ.finditer(command):
        assigned.update(g for g in m.groups() if g)
    for name in _VARIABLE.findall(command):
        if name not in os.environ and name not in assigned:
            return True
    return False


def why_not_wrap(payload: dict, command: str, wrapped: str) -> str | None:
    """None when wrapping cannot change what Claude Code decides or does; else the reason not to wrap."""
    if WRAP_DISABLED is not None:
        return WRAP_DISABLED
    if len(wrapped) > MAX_WRAPPED:
        return "too long to pass as one argument"
    if relies_on_shell(command):
        return "uses the calling shell's functions, aliases or variables"
    layers = _layers(payload)
    for kind in ("deny", "ask"):
        for rule in _bash_rules(layers, kind):
            literal = _literal(rule)
            if literal is None or literal in command or literal in wrapped:
                return f"a permission rule ({kind}: {rule}) could apply"
    if payload.get("permission_mode") == "bypassPermissions":
        return None
    if any(rule in _ALL_BASH for rule in _bash_rules(layers, "allow")):
        return None
    return "only an allow rule for all of Bash (or bypassPermissions) lets a wrapped command run unasked"
