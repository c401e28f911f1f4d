"""Compaction forensics: which facts of ctxtop's notes survived each compaction.

For every compaction a source found in a session's log (``Compaction``; ``sources.claude_code.notes`` reads
Claude Code's ``compact_boundary`` lines), the facts the notes (``core.notes``) held just before it
(open tasks, files created or edited, decisions, failures not yet fixed, pinned lines) are looked for in what
the model saw right after it: the compaction summary, the context hooks added (ctxtop's SessionStart hook
re-injects the notes there), and the names of the files Claude Code re-attached. The score is "kept 9 of 11".

The matcher survives paraphrase in practice because it looks for names, not sentences:

- a file is kept when its base name (``models.py``) appears;
- a task, decision or pin when most of its significant words appear (crudely stemmed, so "refactoring"
  matches "refactor"): 60% for tasks and decisions, 80% for pins (pins are meant to be copied word for word);
- a failure when an identifier of it appears: an error name (``KeyError``), a test or function name
  (``test_mean``), a file base name, else the command's program and first argument.

What it cannot see: synonyms and renamings ("records become classes" for "convert records to dataclasses"),
a file named only by a directory or by what it does, whether a kept task is still described as open (a
summary saying "task X is done" keeps X), and facts the model had before the compaction but the notes never
held. Text compared is the text of the records; images and files' contents are not read.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from ctxtop.core.notes import NoteFact, Notes, build_notes, command_key

TYPE_CHECKING = False
if TYPE_CHECKING:
    pass

TASK_SHARE = 0.6
PIN_SHARE = 0.8

_WORD = re.compile(r"[A-Za-z][A-Za-z0-9_]+")
_IDENTIFIER = re.compile(
    r"\b(?:[A-Za-z_][\w.]*(?:Error|Exception|Failure|Warning)|[a-z]+_[\w]+|[\w-]+\.[a-z]{1,5}|[A-Z]+\d+)\b"
)
_STOP = frozenset(
    "the and for with that this from into then than them they their there when what which while will "
    "would should could have has had been being are was were not but all any each every some more most "
    "also only just very make made use using used add added task step steps file files".split()
)


@dataclass(frozen=True, slots=True)
class Fact:
    kind: str
    """"task", "file", "decision", "failure" or "pin"."""
    text: str
    """The fact as the notes state it."""


@dataclass(slots=True)
class Retention:
    """One compaction and what of the notes' facts the model saw right after it."""

    index: int
    """1-based, in transcript order."""
    ts: float
    trigger: str
    pre_tokens: int
    kept: list[tuple[Fact, str]] = field(default_factory=list)
    """(fact, where it was found: "summary", "hook context" or "re-attached file")."""
    lost: list[Fact] = field(default_factory=list)
    notes_reinjected: bool = False
    """A hook added ctxtop's notes (``<ctxtop-notes>``) right after the compaction."""
    has_summary: bool = False

    @property
    def total(self) -> int:
        return len(self.kept) + len(self.lost)

    @property
    def score(self) -> str:
        return f"kept {len(self.kept)} of {self.total}"

    @property
    def lost_open_tasks(self) -> list[Fact]:
        return [f for f in self.lost if f.kind == "task"]


def facts_of(notes: Notes) -> list[Fact]:
    """The facts of the notes that must survive a compaction."""
    out = [Fact("task", t.subject) for t in notes.tasks if t.status != "completed" and t.subject]
    out += [Fact("file", path) for path in notes.files]
    out += [Fact("decision", d) for d in notes.decisions]
    out += [Fact("failure", f"`{f.command}` -> {f.detail}") for f in notes.failures]
    out += [Fact("pin", p) for p in notes.pins]
    return out


def _stem(word: str) -> str:
    word = word.lower()
    for suffix in ("ing", "ed", "es", "s", "e"):
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def _words(text: str) -> set[str]:
    return {_stem(w) for w in _WORD.findall(text) if len(w) >= 3 and w.lower() not in _STOP}


def _basename(path: str) -> str:
    return path.rstrip("/").rsplit("/", 1)[-1]


def found(fact: Fact, text: str, words: set[str] | None = None) -> bool:
    """Whether ``text`` shows ``fact`` (see the module docstring for the rules)."""
    words = _words(text) if words is None else words
    if fact.kind == "file":
        name = _basename(fact.text)
        return bool(name) and re.search(rf"(?<![\w.-]){re.escape(name)}(?![\w-])", text) is not None
    if fact.kind == "failure":
        command, _, detail = fact.text.partition(" -> ")
        ids = {m.group(0) for m in _IDENTIFIER.finditer(detail)}
        ids |= {_basename(m.group(0)) for m in _IDENTIFIER.finditer(command) if "." in m.group(0)}
        if any(re.search(rf"(?<![\w.]){re.escape(i)}(?![\w])", text) for i in ids):
            return True
        key = command_key(command.strip("`"))[:2]
        return bool(key) and all(_stem(k) in words or k in text for k in key)
    if fact.kind == "pin" and " ".join(fact.text.split()) in " ".join(text.split()):
        return True
    wanted = _words(fact.text)
    if not wanted:
        return fact.text.strip() in text
    share = PIN_SHARE if fact.kind == "pin" else TASK_SHARE
    return len(wanted & words) >= share * len(wanted)


@dataclass(frozen=True, slots=True)
class Compaction:
    """One compaction as a source read it from the session's log."""

    ts: float
    trigger: str
    """What started it ("auto", "manual", "unknown")."""
    pre_tokens: int
    facts_before: int
    """How many of the session's note facts (``core.notes``) came before it."""
    seen: Mapping[str, str]
    """What the model saw right after it, up to its next request, by where: "summary", "hook context",
    "re-attached file" (names of the files re-attached)."""
    has_summary: bool = False


def retention(
    facts: Sequence[NoteFact], compactions: Sequence[Compaction], *, pins: Sequence[str] = (),
    session_id: str = "",
) -> list[Retention]:  # fmt: skip
    """Every compaction of a session with what survived it: the notes built from the facts before it, looked
    for in what the model saw after it."""
    out: list[Retention] = []
    for c in compactions:
        notes = build_notes(facts[: c.facts_before], pins=pins, session_id=session_id)
        words = {k: _words(v) for k, v in c.seen.items()}
        reinjected = "<ctxtop-notes>" in c.seen.get("hook context", "")
        r = Retention(len(out) + 1, c.ts, c.trigger, c.pre_tokens, notes_reinjected=reinjected,
                      has_summary=c.has_summary)  # fmt: skip
        for fact in facts_of(notes):
            where = next((k for k, text in c.seen.items() if text and found(fact, text, words[k])), None)
            if where is None:
                r.lost.append(fact)
            else:
                r.kept.append((fact, where))
        out.append(r)
    return out


def as_dict(r: Retention) -> dict[str, object]:
    from ctxtop.core.report import iso

    return {
        "index": r.index, "timestamp": iso(r.ts), "trigger": r.trigger, "pre_tokens": r.pre_tokens,
        "score": r.score, "kept_count": len(r.kept), "total": r.total, "has_summary": r.has_summary,
        "notes_reinjected": r.notes_reinjected,
        "kept": [{"kind": f.kind, "text": f.text, "where": where} for f, where in r.kept],
        "lost": [{"kind": f.kind, "text": f.text} for f in r.lost],
        "lost_open_tasks": [f.text for f in r.lost_open_tasks],
    }  # fmt: skip
