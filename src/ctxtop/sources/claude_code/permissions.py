"""May the wrap hook rewrite a Bash command? Only where no permission rule of the user's could be involved.

Claude Code checks its permission rules against the command a PreToolUse hook returns. A rewritten command
(``python -m ctxtop run -- bash -c '…'``) no longer matches the user's rules, and Claude Code's matcher
normalises spelling (``rm  -rf``, ``"rm"``, ``r\\m``, ``env rm``…) and checks file paths of Bash commands
against ``Read``/``Edit`` rules too, so no re-implementation of it can be trusted. The rule is instead safe
by construction: the wrap hook rewrites a command only when Claude Code would run *every* command unasked,
so that no decision exists that a rewrite could change:

- the hook input's ``permission_mode`` is ``bypassPermissions`` (in any other mode Claude Code asks for
  some commands even with an allow rule for all of Bash, e.g. writes under ``.git`` or ``.claude``);
- no ``deny`` or ``ask`` rule of any kind (not only Bash) exists in any settings file Claude Code may read:
  managed (``managed-settings.json`` and ``managed-settings.d/*.json``), user (the config dir's
  ``settings.json``, ``cowork_settings.json`` and ``remote-settings.json``), and ``.claude/settings.json`` /
  ``.claude/settings.local.json`` of the project root (``$CLAUDE_PROJECT_DIR``), of the hook's ``cwd``, and
  of every directory above them;
- Claude Code's own command line carries no ``--disallowedTools``, ``--settings``, ``--add-dir`` or
  ``--permission-prompt-tool`` (read from ``/proc``; where it cannot be read, nothing is rewritten).

On any doubt (a settings file that cannot be read or parsed, an unknown mode, no project dir, no Claude Code
process found) the command is left as written. The wrap hook also leaves alone commands that rely on the
calling shell (functions, aliases, unexported variables, ``trap``/``eval``/``source``) and commands too long
to pass as one argument.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from ctxtop.sources.claude_code import layout

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: the pre hook runs on every Bash call; typing costs ~5 ms
if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

MAX_WRAPPED = 64 * 1024
"""Linux limits one argument to 128 KiB; quoting can nearly double a command."""

MAX_SETTINGS_BYTES = 4 * 1024 * 1024
"""A settings file larger than this is not parsed (within the hook's budget): nothing is rewritten."""

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
MANAGED_DIRS = (Path("/etc/claude-code"), Path("/Library/Application Support/ClaudeCode"))
_USER_FILES = ("settings.json", "settings.local.json", "cowork_settings.json", "remote-settings.json")
_PROJECT_FILES = (".claude/settings.json", ".claude/settings.local.json")
# Command-line options of Claude Code that add rules or decide permissions where a hook cannot see them.
RISKY_FLAGS = (
    "--disallowedTools",
    "--disallowed-tools",
    "--settings",
    "--add-dir",
    "--permission-prompt-tool",
)
_MAX_ANCESTORS = 4  # the hook, run by Claude Code through `sh -c`, perhaps behind a launcher such as `uv run`


class Doubt(Exception):
    """Something that decides permissions could not be read: do not rewrite."""


def _read_settings(path: Path) -> dict | None:
    """The parsed file, None when it does not exist; raises :class:`Doubt` when it cannot be judged."""
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_SETTINGS_BYTES + 1)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        raise Doubt(f"cannot read {path}: {exc.strerror or exc}") from None
    if len(raw) > MAX_SETTINGS_BYTES:
        raise Doubt(f"{path} is too large to check")
    if not raw.strip():
        return None  # Claude Code treats an empty file as no settings
    try:
        data = json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError):
        raise Doubt(f"{path} is not valid JSON") from None
    if not isinstance(data, dict):
        raise Doubt(f"{path} is not a JSON object")
    return data


def _restrictive_rules(data: dict, path: Path) -> str | None:
    """A description of the first deny or ask rule in ``data`` (any tool), else None."""
    perms = data.get("permissions")
    if perms is None:
        return None
    if not isinstance(perms, dict):
        raise Doubt(f"{path}: 'permissions' is not an object")
    for kind in ("deny", "ask"):
        values = perms.get(kind)
        if values is None or values == []:
            continue
        if not isinstance(values, list):
            raise Doubt(f"{path}: permissions.{kind} is not a list")
        return f"a permission rule ({kind}: {values[0]!r}) in {path}"
    return None


def _ancestors(path: Path) -> Iterator[Path]:
    yield path
    yield from path.parents


def settings_files(payload: Mapping, env: Mapping[str, str]) -> list[Path]:
    """Every settings file Claude Code may read for this session (plus the directories above the project)."""
    project = env.get("CLAUDE_PROJECT_DIR", "")
    if not project or not os.path.isabs(project):
        raise Doubt("no CLAUDE_PROJECT_DIR from Claude Code")
    files: list[Path] = []
    for managed in MANAGED_DIRS:
        files.append(managed / "managed-settings.json")
        drop_ins = managed / "managed-settings.d"
        try:
            names = sorted(os.listdir(drop_ins))
        except (FileNotFoundError, NotADirectoryError):
            names = []
        except OSError as exc:
            raise Doubt(f"cannot list {drop_ins}: {exc.strerror or exc}") from None
        files.extend(drop_ins / n for n in names if n.endswith(".json"))
    config_dirs = []
    transcript = payload.get("transcript_path")
    if isinstance(transcript, str) and transcript:
        config_dirs.append(Path(transcript).parent.parent.parent)  # <config>/projects/<project>/<id>.jsonl
    config_dirs.extend(layout.claude_config_dirs())
    for d in config_dirs:
        files.extend(d / name for name in _USER_FILES)
    roots = [Path(project)]
    cwd = payload.get("cwd")
    if isinstance(cwd, str) and os.path.isabs(cwd):
        roots.append(Path(cwd))
    try:
        roots.append(Path(os.getcwd()))
    except OSError:
        pass
    seen: set[Path] = set()
    for root in roots:
        for d in _ancestors(root):
            if d in seen:
                continue
            seen.add(d)
            files.extend(d / name for name in _PROJECT_FILES)
    return list(dict.fromkeys(files))


def _proc(pid: int) -> tuple[int, list[str]]:
    """(parent pid, argv) of a process, from /proc."""
    with open(f"/proc/{pid}/stat", "rb") as fh:
        ppid = int(fh.read().rsplit(b")", 1)[1].split()[1])
    with open(f"/proc/{pid}/cmdline", "rb") as fh:
        argv = [a.decode("utf-8", "replace") for a in fh.read().split(b"\0")]
    return ppid, argv


def _is_claude(argv: list[str]) -> bool:
    for arg in argv[:2]:
        name = os.path.basename(arg).lower()
        if name.startswith("claude") or "claude-code" in arg.lower():
            return True
    return False


def claude_argv(start: int | None = None) -> list[str]:
    """The command line of the Claude Code process that runs this hook (its nearest ``claude`` ancestor)."""
    pid = os.getppid() if start is None else start
    for _ in range(_MAX_ANCESTORS):
        if pid <= 1:
            break
        try:
            ppid, argv = _proc(pid)
        except (OSError, ValueError, IndexError):
            raise Doubt("cannot read Claude Code's command line from /proc") from None
        if _is_claude(argv):
            return argv
        pid = ppid
    raise Doubt("no Claude Code process found above the hook")


def risky_flag(argv: list[str]) -> str | None:
    for arg in argv[1:]:
        if arg == "--":
            break
        for flag in RISKY_FLAGS:
            if arg == flag or arg.startswith(flag + "="):
                return flag
    return None


def why_rules_could_apply(payload: Mapping, env: Mapping[str, str] | None = None) -> str | None:
    """None when Claude Code runs every Bash command of this session unasked; else why it might not."""
    env = os.environ if env is None else env
    mode = payload.get("permission_mode")
    if mode != "bypassPermissions":
        return f"permission mode {mode!r} is not bypassPermissions"
    try:
        for path in settings_files(payload, env):
            data = _read_settings(path)
            if data is not None:
                rule = _restrictive_rules(data, path)
                if rule:
                    return rule
        flag = risky_flag(claude_argv())
    except Doubt as exc:
        return str(exc)
    if flag:
        return f"Claude Code was started with {flag}"
    return None


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
    import shutil

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


def why_command_stays(command: str, wrapped: str) -> str | None:
    """None when the command behaves the same wrapped (in a child shell); else why it would not."""
    if len(wrapped) > MAX_WRAPPED:
        return "too long to pass as one argument"
    if relies_on_shell(command):
        return "uses the calling shell's functions, aliases or variables"
    return None


def why_not_wrap(
    payload: Mapping, command: str, wrapped: str, env: Mapping[str, str] | None = None
) -> str | None:
    """None when wrapping cannot change what Claude Code decides or does; else the reason not to wrap."""
    return why_command_stays(command, wrapped) or why_rules_could_apply(payload, env)
