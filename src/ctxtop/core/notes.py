"""State-preserving notes: the working state of a Claude Code session, small enough to survive compaction.

``build_notes`` reads decoded transcript lines (dicts, in file order) and keeps what an agent needs to carry
on after its context is summarised: the task list, the files it created or edited, the user's latest
requests, commands that failed and were not fixed since, decisions it stated, cwd and git branch. ``render``
turns that into at most ``NOTES_BUDGET`` bytes of text; user-pinned lines are always kept.
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

NOTES_BUDGET = 2048
EDIT_TOOLS = {"Edit": "edited", "MultiEdit": "edited", "NotebookEdit": "edited", "Write": "written"}
MAX_REQUESTS = 3
MAX_DECISIONS = 4
MAX_FAILURES = 5
MAX_FILES = 15

_TASK_ID = re.compile(r"Task #(\w+) created")
_DECISION = re.compile(
    r"\b(decided|decision|instead of|rather than|going with|go with|opted|opting|chose|choosing|"
    r"switch(?:ed|ing)? to|I'll (?:use|keep|switch|avoid|stick|replace|leave|go)|we'll use|will use)\b",
    re.IGNORECASE,
)
_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")
# User "messages" Claude Code writes itself: slash-command echoes, local command output, bash-mode input.
_NOT_A_REQUEST = (
    "<command-",
    "<local-command-",
    "<bash-",
    "<system-reminder>",
    "<user-prompt-submit-hook>",
    "[Request interrupted",
    "Caveat: The messages below",
    "<task-notification>",
)
_WRAPPED = re.compile(r"^<([a-z][\w-]*)>.*</\1>$", re.DOTALL)
_REJECTED = ("The user doesn't want to proceed", "[Request interrupted")
_ERROR_LINE = re.compile(r"error|fail|exception|not found|denied|no such", re.IGNORECASE)


@dataclass(slots=True)
class Task:
    id: str
    subject: str
    status: str = "pending"


@dataclass(slots=True)
class Failure:
    command: str
    detail: str


@dataclass(slots=True)
class Notes:
    """The working state of one session. Lists are oldest first."""

    session_id: str = ""
    cwd: str | None = None
    git_branch: str | None = None
    tasks: list[Task] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)
    """path -> "created" / "edited" / "written", in order of the last change."""
    requests: list[str] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    decisions: list[str] = field(default_factory=list)
    pins: list[str] = field(default_factory=list)
    own: list[str] = field(default_factory=list)
    """The user's own lines (typed in the notes), kept verbatim across rebuilds like pins."""

    def is_empty(self) -> bool:
        return not (
            self.tasks
            or self.files
            or self.requests
            or self.failures
            or self.decisions
            or self.pins
            or self.own
        )


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [b.get("text", "") for b in content if isinstance(b, dict) and b.get("type") == "text"]
        return "\n".join(p for p in parts if isinstance(p, str))
    return ""


def _one_line(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def command_key(command: str) -> tuple[str, ...]:
    """What makes two commands "the same" for fixed-failure tracking.

    Options and the interpreter's version suffix are ignored, so ``python3 -m pytest -q tests`` fixes
    ``python -m pytest tests``. Only the first line counts (heredoc bodies, commit messages vary).
    """
    command = command.strip().split("\n", 1)[0]
    try:
        words = shlex.split(command)
    except ValueError:
        words = command.split()
    if not words:
        return ()
    head = os.path.basename(words[0]).rstrip("0123456789.")
    return (head, *(w for w in words[1:] if not w.startswith("-")))


class _Builder:
    def __init__(self, session_id: str) -> None:
        self.notes = Notes(session_id=session_id)
        self.tasks: dict[str, Task] = {}
        self.uses: dict[str, tuple[str, dict[str, Any]]] = {}
        self.pending: set[str] = set()
        self.failures: dict[tuple[str, ...], Failure] = {}
        self.decisions: list[str] = []

    def feed(self, obj: Mapping[str, Any]) -> None:
        if obj.get("isSidechain") is True:
            return
        kind = obj.get("type")
        if isinstance(obj.get("cwd"), str) and obj["cwd"]:
            self.notes.cwd = obj["cwd"]
            branch = obj.get("gitBranch")
            # Outside a git repository Claude Code writes "HEAD": that is no branch.
            if isinstance(branch, str) and branch and branch != "HEAD":
                self.notes.git_branch = branch
        if not self.notes.session_id and isinstance(obj.get("sessionId"), str):
            self.notes.session_id = obj["sessionId"]
        message = obj.get("message")
        content = message.get("content") if isinstance(message, Mapping) else None
        if kind == "assistant" and isinstance(content, list):
            for block in content:
                if isinstance(block, Mapping):
                    self._assistant_block(block)
        elif kind == "user":
            self._user(obj, content)
        elif kind == "attachment" and isinstance(obj.get("attachment"), Mapping):
            self._attachment(obj["attachment"])

    def _assistant_block(self, block: Mapping[str, Any]) -> None:
        if block.get("type") == "text" and isinstance(block.get("text"), str):
            for sentence in _SENTENCE.split(block["text"]):
                sentence = sentence.strip()
                if 15 <= len(sentence) <= 240 and _DECISION.search(sentence):
                    line = _one_line(sentence, 200)
                    if line in self.decisions:
                        self.decisions.remove(line)
                    self.decisions.append(line)
        elif block.get("type") == "tool_use" and isinstance(block.get("id"), str):
            tool_input = block.get("input")
            self.uses[block["id"]] = (
                str(block.get("name")),
                tool_input if isinstance(tool_input, dict) else {},
            )
            self.pending.add(block["id"])

    def _user(self, obj: Mapping[str, Any], content: Any) -> None:
        if isinstance(content, list) and any(
            isinstance(b, Mapping) and b.get("type") == "tool_result" for b in content
        ):
            result = obj.get("toolUseResult")
            for block in content:
                if isinstance(block, Mapping) and block.get("type") == "tool_result":
                    self._result(block, result if isinstance(result, Mapping) else {})
            return
        text = user_request(obj)
        if text:
            self.notes.requests.append(_one_line(text, 240))

    def _result(self, block: Mapping[str, Any], result: Mapping[str, Any]) -> None:
        tool_id = block.get("tool_use_id")
        if not isinstance(tool_id, str) or tool_id not in self.uses:
            return
        self.pending.discard(tool_id)
        name, tool_input = self.uses[tool_id]
        text = _text_of(block.get("content"))
        if block.get("is_error") is True:
            if name == "Bash" and not text.startswith(_REJECTED):
                self._failed(str(tool_input.get("command", "")), text)
            return
        self._apply(name, tool_input, text, result)

    def _apply(self, name: str, tool_input: Mapping[str, Any], text: str, result: Mapping[str, Any]) -> None:
        if name == "Bash":
            key = command_key(str(tool_input.get("command", "")))
            self.failures.pop(key, None)
        elif name in EDIT_TOOLS:
            path = tool_input.get("file_path") or tool_input.get("notebook_path")
            if isinstance(path, str) and path:
                action = EDIT_TOOLS[name]
                if name == "Write" and result.get("type") == "create":
                    action = "created"
                previous = self.notes.files.pop(path, None)
                # A file created in this session stays "created" however often it is edited afterwards.
                self.notes.files[path] = "created" if previous == "created" else action
        elif name == "TodoWrite":
            todos = tool_input.get("todos")
            if isinstance(todos, list):
                self._replace_tasks(todos)
        elif name == "TaskCreate":
            found = result.get("task")
            created: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
            match = _TASK_ID.search(text)
            task_id = str(created.get("id") or (match.group(1) if match else len(self.tasks) + 1))
            subject = str(tool_input.get("subject") or created.get("subject") or "")
            self.tasks[task_id] = Task(task_id, _one_line(subject, 160))
        elif name == "TaskUpdate":
            task_id = str(tool_input.get("taskId", ""))
            status = tool_input.get("status")
            if status == "deleted":
                self.tasks.pop(task_id, None)
                return
            task = self.tasks.setdefault(task_id, Task(task_id, ""))
            if isinstance(status, str) and status:
                task.status = status
            if isinstance(tool_input.get("subject"), str) and tool_input["subject"]:
                task.subject = _one_line(tool_input["subject"], 160)

    def _failed(self, command: str, text: str) -> None:
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        detail = lines[0] if lines else "failed"
        # The most telling line is usually the last one that names an error.
        telling = next((line for line in reversed(lines[1:]) if _ERROR_LINE.search(line)), None)
        if telling or len(lines) > 1:
            detail = f"{detail}: {telling or lines[-1]}"
        key = command_key(command)
        self.failures.pop(key, None)
        first_line = command.strip().splitlines()[0] if command.strip() else command
        self.failures[key] = Failure(_one_line(first_line, 120), _one_line(detail, 140))

    def _replace_tasks(self, items: Sequence[Any]) -> None:
        self.tasks = {}
        for index, item in enumerate(items, 1):
            if not isinstance(item, Mapping):
                continue
            task_id = str(item.get("id") or index)
            subject = item.get("subject") or item.get("content") or ""
            status = item.get("status")
            if not isinstance(status, str):
                status = "pending"
            self.tasks[task_id] = Task(task_id, _one_line(str(subject), 160), status)

    def _attachment(self, attachment: Mapping[str, Any]) -> None:
        # Claude Code re-injects the whole task list as a reminder: the most complete snapshot there is.
        if attachment.get("type") in ("task_reminder", "todo_reminder") and isinstance(
            attachment.get("content"), list
        ):
            self._replace_tasks(attachment["content"])

    def finish(self, pins: Sequence[str], own: Sequence[str] = ()) -> Notes:
        # Tool calls still waiting for their result (the transcript ends mid-turn) count as done.
        for tool_id in list(self.pending):
            name, tool_input = self.uses[tool_id]
            if name in ("TodoWrite", "TaskCreate", "TaskUpdate"):
                self._apply(name, tool_input, "", {})
        notes = self.notes
        notes.tasks = list(self.tasks.values())
        notes.requests = notes.requests[-MAX_REQUESTS:]
        notes.failures = list(self.failures.values())[-MAX_FAILURES:]
        notes.decisions = self.decisions[-MAX_DECISIONS:]
        notes.pins = [p.strip() for p in pins if p.strip()]
        notes.own = [line.rstrip() for line in own if line.strip()]
        return notes


def user_request(obj: Mapping[str, Any]) -> str | None:
    """The text the user typed, if ``obj`` is a user record that is a real request (not a tool result, a
    slash-command echo, a compaction summary or other text Claude Code writes as the user)."""
    if obj.get("type") != "user" or obj.get("isSidechain") is True:
        return None
    if obj.get("isMeta") or obj.get("isCompactSummary") or obj.get("isVisibleInTranscriptOnly"):
        return None
    message = obj.get("message")
    content = message.get("content") if isinstance(message, Mapping) else None
    if isinstance(content, list) and any(
        isinstance(b, Mapping) and b.get("type") == "tool_result" for b in content
    ):
        return None
    text = _text_of(content).strip()
    if not text or text.startswith(_NOT_A_REQUEST) or _WRAPPED.match(text):
        return None
    return text


def session_title(records: Iterable[Mapping[str, Any]], limit: int = 80) -> str | None:
    """What tells a session apart: Claude Code's ``summary`` record (the newest), else the first request."""
    summary = first = None
    for obj in records:
        if obj.get("type") == "summary" and isinstance(obj.get("summary"), str) and obj["summary"].strip():
            summary = obj["summary"]
        elif first is None:
            first = user_request(obj)
    title = summary or first
    return _one_line(title, limit) if title else None


def build_notes(
    records: Iterable[Mapping[str, Any]],
    *,
    pins: Sequence[str] = (),
    session_id: str = "",
    own: Sequence[str] = (),
) -> Notes:
    """The working state of a session from its decoded transcript lines, oldest first, with the user's pins
    and own lines."""
    builder = _Builder(session_id)
    for obj in records:
        if isinstance(obj, Mapping):
            builder.feed(obj)
    return builder.finish(pins, own)


def _display_path(path: str, cwd: str | None) -> str:
    if cwd and path.startswith(cwd.rstrip("/") + "/"):
        return path[len(cwd.rstrip("/")) + 1 :]
    return path


_STATUS_ORDER = {"in_progress": 0, "pending": 1, "completed": 2}


OWN_HEADING = "Your notes (kept as you wrote them):"
"""The last section: every line after it is the user's own, and rebuilds keep it word for word."""


def own_lines(text: str, written: str | None) -> list[str]:
    """The user's own lines in a notes text: everything after ``OWN_HEADING``, and any other line that
    ``written`` (the text ctxtop last wrote) does not have: a line typed into a rebuilt section."""
    head, sep, tail = text.partition(OWN_HEADING)
    known = set((written or "").splitlines())
    added = [line.rstrip() for line in head.splitlines() if line.strip() and written is not None
             and line not in known]  # fmt: skip
    section = [line.rstrip() for line in tail.splitlines() if line.strip()] if sep else []
    # A line moved from a rebuilt section into the own section is not counted twice.
    return [line for line in added if line not in section] + section


def render(notes: Notes, budget: int = NOTES_BUDGET) -> str:
    """Notes as text of at most ``budget`` UTF-8 bytes (pins and the user's own lines may exceed it: they
    always survive).

    When the state does not fit, the least useful lines go first: older decisions, completed tasks, older
    requests, older files, older failures.
    """
    tasks = sorted(notes.tasks, key=lambda t: _STATUS_ORDER.get(t.status, 1))
    sections: dict[str, list[str]] = {
        "Tasks": [f"[{t.status}] #{t.id} {t.subject}".rstrip() for t in tasks],
        "Files created or edited": [
            f"{_display_path(path, notes.cwd)} ({action})"
            for path, action in list(notes.files.items())[-MAX_FILES:]
        ],
        "Latest user requests": [f'"{r}"' for r in notes.requests],
        "Failed and not yet fixed": [f"`{f.command}` -> {f.detail}" for f in notes.failures],
        "Decisions": list(notes.decisions),
    }
    # Older entries go first; completed tasks before open ones; one request and one task always stay.
    drop_plan = [
        "Decisions",
        "Tasks:completed",
        "Latest user requests",
        "Files created or edited",
        "Failed and not yet fixed",
        "Tasks",
    ]
    while True:
        text = _format(notes, sections)
        if len(text.encode("utf-8")) <= budget or not _drop_one(sections, drop_plan):
            return text


def _drop_one(sections: dict[str, list[str]], plan: Sequence[str]) -> bool:
    for name in plan:
        if name == "Tasks:completed":
            tasks = sections["Tasks"]
            for index in range(len(tasks) - 1, -1, -1):
                if tasks[index].startswith("[completed]"):
                    del tasks[index]
                    return True
            continue
        items = sections[name]
        keep = 1 if name in ("Latest user requests", "Tasks") else 0
        if len(items) > keep:
            del items[0]
            return True
    return False


def _format(notes: Notes, sections: Mapping[str, list[str]]) -> str:
    where = notes.cwd or "?"
    if notes.git_branch:
        where += f" (git branch {notes.git_branch})"
    lines = [f"Working directory: {where}"]
    if notes.pins:
        lines.append("Pinned by the user:")
        lines.extend(f"- {pin}" for pin in notes.pins)
    for title, items in sections.items():
        if not items:
            continue
        lines.append(f"{title}:")
        lines.extend(f"- {item}" for item in items)
        hidden = len(notes.files) - len(items)
        if title == "Files created or edited" and hidden:
            lines.append(f"- (+{hidden} earlier files)")
    if notes.own:
        lines.append(OWN_HEADING)
        lines.extend(notes.own)
    return "\n".join(lines) + "\n"


def summariser_instructions(notes_text: str) -> str:
    """What the PreCompact hook adds to the summariser's instructions."""
    return (
        "ctxtop notes: the working state of this session is listed below. The summary must keep these facts, "
        "verbatim where possible: every task with its status, every file created or edited, the user's "
        "latest requests, the commands that still fail, the decisions taken, the working directory and git "
        "branch. Lines pinned by the user and the user's own notes must be copied word for word.\n"
        f"<ctxtop-notes>\n{_fenced(notes_text)}\n</ctxtop-notes>\n"
    )


def additional_context(notes_text: str) -> str:
    """What the SessionStart hook gives the model after compaction."""
    return (
        "Working state of this session saved by ctxtop just before compaction (newer than the summary; "
        "trust it where they differ):\n"
        f"<ctxtop-notes>\n{_fenced(notes_text)}\n</ctxtop-notes>"
    )


def _fenced(notes_text: str) -> str:
    """Notes hold text copied from commands and pins: they must not be able to close the notes tag."""
    return notes_text.rstrip().replace("</ctxtop-notes", "<\\/ctxtop-notes")
