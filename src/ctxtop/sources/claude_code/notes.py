"""What the compaction notes read of a Claude Code transcript: its decoded lines (the tail, skipping kinds that
never carry working state), the facts in them (``core.notes``: where the session runs, requests, what the
model said, tool calls and results, task lists; ``core.forensics.Compaction``: each compaction and what the
model saw right after it) and the session's title (from the head). Core never reads the transcript's JSON.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from ctxtop.core import forensics
from ctxtop.core import notes as core_notes
from ctxtop.core.notes import Asked, Called, NoteFact, Returned, Said, TaskList, Where
from ctxtop.core.records import content_text, parse_ts

TAIL_BYTES = 48 * 1024 * 1024
# Record kinds that never carry working state; skipped before JSON decoding (they can be large).
_SKIP_MARKERS = (b'"type":"progress"', b'"type":"file-history-snapshot"', b'"type":"queue-operation"')


def iter_transcript(path: Path, max_bytes: int = TAIL_BYTES) -> Iterator[dict[str, Any]]:
    """Decoded lines of a transcript, streamed; undecodable lines (a last line being written) are skipped.

    Only the last ``max_bytes`` are read: parsing runs at roughly 100 MB/s and the hook has one second, so
    for a giant transcript the recent state (and the task reminders Claude Code repeats) beats no notes.
    """
    with open(path, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        if size > max_bytes:
            fh.seek(size - max_bytes)
            fh.readline()  # the rest of a cut line
        for line in fh:
            head = line[:400]
            if any(marker in head for marker in _SKIP_MARKERS):
                continue
            try:
                obj = json.loads(line)
            except ValueError:
                continue
            if isinstance(obj, dict):
                yield obj


def read(records: Iterable[Any]) -> tuple[list[NoteFact], list[forensics.Compaction]]:
    """The note facts of a transcript's decoded lines (file order; subagent sidechains skipped), and its
    compactions."""
    objs = [o for o in records if isinstance(o, Mapping) and o.get("isSidechain") is not True]
    facts: list[NoteFact] = []
    compactions: list[forensics.Compaction] = []
    where: tuple[str | None, str | None, str | None] = (None, None, None)
    for i, obj in enumerate(objs):
        kind = obj.get("type")
        cwd = obj.get("cwd") if isinstance(obj.get("cwd"), str) and obj["cwd"] else None
        sid = obj.get("sessionId") if isinstance(obj.get("sessionId"), str) else None
        if cwd or sid:
            branch = obj.get("gitBranch")
            # Outside a git repository Claude Code writes "HEAD": that is no branch.
            branch = branch if isinstance(branch, str) and branch and branch != "HEAD" and cwd else None
            if (cwd, branch, sid) != where:  # every line repeats them: a fact only when they change
                where = (cwd, branch, sid)
                facts.append(Where(cwd, branch, sid))
        message = obj.get("message")
        content = message.get("content") if isinstance(message, Mapping) else None
        if kind == "assistant" and isinstance(content, list):
            facts.extend(_assistant(content))
        elif kind == "user":
            facts.extend(_user(obj, content))
        elif kind == "attachment" and isinstance(obj.get("attachment"), Mapping):
            att = obj["attachment"]
            # Claude Code re-injects the whole task list as a reminder: the most complete snapshot there is.
            if att.get("type") in ("task_reminder", "todo_reminder") and isinstance(att.get("content"), list):
                facts.append(TaskList(att["content"]))
        elif kind == "system" and obj.get("subtype") == "compact_boundary":
            raw = obj.get("compactMetadata")
            meta: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
            seen, has_summary = _seen_after(objs, i)
            compactions.append(forensics.Compaction(
                parse_ts(obj.get("timestamp")) or 0.0,
                meta["trigger"] if isinstance(meta.get("trigger"), str) else "unknown",
                meta["preTokens"] if type(meta.get("preTokens")) is int else 0,
                len(facts), seen, has_summary,
            ))  # fmt: skip
    return facts, compactions


def _assistant(content: list[Any]) -> Iterator[NoteFact]:
    for block in content:
        if not isinstance(block, Mapping):
            continue
        if block.get("type") == "text" and isinstance(block.get("text"), str):
            yield Said(block["text"])
        elif block.get("type") == "tool_use" and isinstance(block.get("id"), str):
            tool_input = block.get("input")
            yield Called(
                block["id"], str(block.get("name")), tool_input if isinstance(tool_input, dict) else {}
            )


def _user(obj: Mapping[str, Any], content: Any) -> Iterator[NoteFact]:
    if isinstance(content, list) and any(
        isinstance(b, Mapping) and b.get("type") == "tool_result" for b in content
    ):
        raw = obj.get("toolUseResult")
        result = raw if isinstance(raw, Mapping) else {}
        for block in content:
            if isinstance(block, Mapping) and block.get("type") == "tool_result":
                tool_id = block.get("tool_use_id")
                if isinstance(tool_id, str):
                    yield Returned(
                        tool_id, _text_of(block.get("content")), block.get("is_error") is True, result
                    )
        return
    text = user_request(obj)
    if text:
        yield Asked(text)


def _seen_after(objs: Sequence[Mapping[str, Any]], start: int) -> tuple[dict[str, str], bool]:
    """What the model saw right after the boundary at ``start``: text per source, up to its next request."""
    seen: dict[str, list[str]] = {"summary": [], "hook context": [], "re-attached file": []}
    has_summary = False
    for obj in objs[start + 1 :]:
        message = obj.get("message")
        if obj.get("type") == "assistant" or (isinstance(message, Mapping) and "usage" in message):
            break
        if obj.get("type") == "system" and obj.get("subtype") == "compact_boundary":
            break
        if obj.get("type") == "user" and obj.get("isCompactSummary") is True and isinstance(message, Mapping):
            seen["summary"].append(content_text(message.get("content")))
            has_summary = True
        att = obj.get("attachment")
        if obj.get("type") == "attachment" and isinstance(att, Mapping):
            kind = att.get("type")
            if kind == "hook_additional_context":
                content = att.get("content")
                seen["hook context"].append(
                    "\n".join(str(c) for c in content) if isinstance(content, list) else str(content or "")
                )
            elif kind in ("file", "edited_text_file", "compact_file_reference"):
                seen["re-attached file"].append(str(att.get("filename") or att.get("path") or ""))
    return {k: "\n".join(v) for k, v in seen.items()}, has_summary


def build_notes(
    records: Iterable[Any], *, pins: Sequence[str] = (), session_id: str = "", own: Sequence[str] = ()
) -> core_notes.Notes:
    """The notes of a transcript's decoded lines (``core.notes.build_notes`` of the facts in them)."""
    return core_notes.build_notes(read(records)[0], pins=pins, session_id=session_id, own=own)


def retention(
    records: Iterable[Any], *, pins: Sequence[str] = (), session_id: str = ""
) -> list[forensics.Retention]:
    """What survived each compaction of a transcript's decoded lines (``core.forensics.retention``)."""
    facts, compactions = read(records)
    return forensics.retention(facts, compactions, pins=pins, session_id=session_id)


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


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [b.get("text", "") for b in content if isinstance(b, dict) and b.get("type") == "text"]
        return "\n".join(p for p in parts if isinstance(p, str))
    return ""


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


def session_title_of(records: Iterable[Mapping[str, Any]], limit: int = 80) -> str | None:
    """What tells a session apart: Claude Code's ``summary`` record (the newest), else the first request."""
    summary = first = None
    for obj in records:
        if obj.get("type") == "summary" and isinstance(obj.get("summary"), str) and obj["summary"].strip():
            summary = obj["summary"]
        elif first is None:
            first = user_request(obj)
    title = summary or first
    return core_notes.one_line(title, limit) if title else None


HEAD_BYTES = 256 * 1024


def session_title(paths: Sequence[str]) -> str | None:
    """The title of a session from the head of its main transcript (``core.notes.session_title``): the
    summary Claude Code wrote, else the first request typed."""
    for path in paths[:1]:
        try:
            with open(path, "rb") as fh:
                head = fh.read(HEAD_BYTES)
        except OSError:
            return None
        records = []
        for line in head.splitlines():
            if (
                b'"type":"user"' in line[:400]
                or b'"summary"' in line[:400]
                or b'"type": "user"' in line[:400]
            ):
                try:
                    obj = json.loads(line)
                except ValueError:
                    continue
                if isinstance(obj, dict):
                    records.append(obj)
        return session_title_of(records)
    return None
