"""State-preserving notes: the working state of a Claude Code session, small enough to survive compaction.

``build_notes`` reads the facts a source found in the session's log (``Where``, ``Asked``, ``Said``,
``Called``, ``Returned``, ``TaskList``, in log order: ``sources.claude_code.notes`` reads them out of a
transcript) and keeps what an agent needs to carry
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
_REJECTED = ("The user doesn't want to proceed", "[Request interrupted")
_ERROR_LINE = re.compile(r"error|fail|exception|not found|denied|no such", re.IGNORECASE)


# The facts a source reads out of a session's log for the notes (``sources.claude_code.notes`` reads Claude
# Code's transcript into them), in log order.


@dataclass(frozen=True, slots=True)
class Where:
    """Where the session runs (a line that records its cwd or its session id)."""

    cwd: str | None
    git_branch: str | None = None
    session_id: str | None = None


@dataclass(frozen=True, slots=True)
class Asked:
    """A request the user typed."""

    text: str


@dataclass(frozen=True, slots=True)
class Said:
    """Text the model wrote (decisions are read out of it)."""

    text: str


@dataclass(frozen=True, slots=True)
class Called:
    """The model called a tool."""

    id: str
    name: str
    input: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Returned:
    """A tool call's result: its text, whether it is an error, and the tool's structured result."""

    id: str
    text: str
    is_error: bool = False
    result: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class TaskList:
    """The whole task list, as the agent's harness reminds the model of it."""

    items: Sequence[Any]


NoteFact = Where | Asked | Said | Called | Returned | TaskList


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


def one_line(text: str, limit: int) -> str:
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
        self.uses: dict[str, tuple[str, Mapping[str, Any]]] = {}
        self.pending: set[str] = set()
        self.failures: dict[tuple[str, ...], Failure] = {}
        self.decisions: list[str] = []

    def feed(self, fact: NoteFact) -> None:
        if isinstance(fact, Where):
            if fact.cwd:
                self.notes.cwd = fact.cwd
            if fact.git_branch:
                self.notes.git_branch = fact.git_branch
            if not self.notes.session_id and fact.session_id:
                self.notes.session_id = fact.session_id
        elif isinstance(fact, Said):
            for sentence in _SENTENCE.split(fact.text):
                sentence = sentence.strip()
                if 15 <= len(sentence) <= 240 and _DECISION.search(sentence):
                    line = one_line(sentence, 200)
                    if line in self.decisions:
                        self.decisions.remove(line)
                    self.decisions.append(line)
        elif isinstance(fact, Called):
            self.uses[fact.id] = (fact.name, fact.input)
            self.pending.add(fact.id)
        elif isinstance(fact, Returned):
            self._result(fact)
        elif isinstance(fact, Asked):
            self.notes.requests.append(one_line(fact.text, 240))
        elif isinstance(fact, TaskList):
            self._replace_tasks(fact.items)

    def _result(self, fact: Returned) -> None:
        if fact.id not in self.uses:
            return
        self.pending.discard(fact.id)
        name, tool_input = self.uses[fact.id]
        if fact.is_error:
            if name == "Bash" and not fact.text.startswith(_REJECTED):
                self._failed(str(tool_input.get("command", "")), fact.text)
            return
        self._apply(name, tool_input, fact.text, fact.result)

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
            self.tasks[task_id] = Task(task_id, one_line(subject, 160))
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
                task.subject = one_line(tool_input["subject"], 160)

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
        self.failures[key] = Failure(one_line(first_line, 120), one_line(detail, 140))

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
            self.tasks[task_id] = Task(task_id, one_line(str(subject), 160), status)

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


def build_notes(
    facts: Iterable[NoteFact],
    *,
    pins: Sequence[str] = (),
    session_id: str = "",
    own: Sequence[str] = (),
) -> Notes:
    """The working state of a session from the facts its log holds, oldest first, with the user's pins and own
    lines."""
    builder = _Builder(session_id)
    for fact in facts:
        builder.feed(fact)
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
