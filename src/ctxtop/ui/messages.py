"""Textual messages: the live engine's events (``ctxtop.services.events``) as the app receives them, and the
app's own (notes loaded, settings saved).

Each engine event has a message subclass of the same name and fields, so a handler reads ``message.views``
exactly as a headless consumer reads ``event.views``; ``wrap`` turns one into the other.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from textual.message import Message

from ctxtop.services import events
from ctxtop.services.events import Spend

__all__ = ["Spend", "wrap"]


@dataclass
class IndexProgressed(events.IndexProgressed, Message):
    """The first index of a big history is being built."""


@dataclass
class SessionsUpdated(events.SessionsUpdated, Message):
    """Sessions whose numbers changed, as one batch per time window."""


@dataclass
class LiveChanged(events.LiveChanged, Message):
    """The set of running Claude Code processes, or what they are doing, changed."""


@dataclass
class SessionDetailLoaded(events.SessionDetailLoaded, Message):
    pass


@dataclass
class CompactionLostTasks(events.CompactionLostTasks, Message):
    """A session compacted and the model did not see some open tasks of ctxtop's notes again."""


@dataclass
class SessionPreviewLoaded(events.SessionPreviewLoaded, Message):
    """Full stats (with the per-turn series) of the session highlighted on the dashboard."""


@dataclass
class HistoryLoaded(events.HistoryLoaded, Message):
    pass


@dataclass
class FindingsUpdated(events.FindingsUpdated, Message):
    """Budget verdicts and anomalies found by the engine."""


@dataclass
class EngineFailed(events.EngineFailed, Message):
    pass


_MESSAGES: dict[type, type[Message]] = {
    cls.__mro__[1]: cls
    for cls in (IndexProgressed, SessionsUpdated, LiveChanged, SessionDetailLoaded, CompactionLostTasks,
                SessionPreviewLoaded, HistoryLoaded, EngineFailed, FindingsUpdated)
}  # fmt: skip


def wrap(event: events.Event) -> Message:
    """The Textual message carrying ``event`` (same fields, no copy of their values)."""
    cls = _MESSAGES[type(event)]
    return cls(**{f.name: getattr(event, f.name) for f in fields(event)})


@dataclass
class NotesLoaded(Message):
    session_id: str
    text: str | None
    pins: list[str]
    path: str


@dataclass
class SettingsSaved(Message):
    path: str
