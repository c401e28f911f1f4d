"""Compaction for API sessions: the policy, the server-side edit, and the client-side history rewrite.

Pure functions on plain request data; no ``anthropic`` import, no I/O except the genai-prices lookup of a
model's context window (bundled snapshot, no network).

Server-side compaction uses the ``compact_20260112`` context-management edit (beta header
``compact-2026-01-12``). Its ``instructions`` replace the server's default summarisation prompt, so ours is a
complete prompt that carries the notes. Client-side compaction summarises the older turns with a cheap model
and replaces them by one user message holding the summary and the notes verbatim; the system prompt, the
tools and the most recent turns are left exactly as they were.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from typing import Any, Literal

from ctxtop.core.compaction import threshold_tokens

COMPACT_EDIT_TYPE = "compact_20260112"
COMPACT_BETA = "compact-2026-01-12"
# The API refuses a trigger below this many input tokens (documented minimum).
MIN_SERVER_TRIGGER = 50_000
# Models documented to support server-side compaction; others use the client-side fallback in "auto" mode.
SERVER_COMPACTION_MODELS = (
    "claude-opus-4-7",
    "claude-opus-4-6",
    "claude-sonnet-4-6",
    "claude-mythos-preview",
)
# About 100K tokens of transcript: fits the summariser's 200K window with room for its answer.
TRANSCRIPT_BUDGET_CHARS = 400_000
SUMMARY_MARKER = "[ctxtop: earlier turns of this conversation were compacted]"

Mode = Literal["auto", "server", "client"]


@dataclass(frozen=True)
class ClientCompaction:
    """What one client-side compaction did; passed to ``CompactionPolicy.on_compact``."""

    messages: list[dict[str, Any]]
    """The compacted history that was sent: the summary message, then the recent turns verbatim."""
    summary: str
    replaced: int
    """How many of the caller's leading messages the summary message stands for."""
    kept: int
    pre_tokens: int
    """Prompt tokens of the previous request, the figure that crossed the trigger."""
    trigger_tokens: int


@dataclass(frozen=True)
class CompactionPolicy:
    """Opt-in compaction for a monitored client.

    ``threshold`` is the fraction of the context window at which to compact; ``window`` overrides the window
    genai-prices lists for the request's model. ``notes`` (a string, or a no-argument callable returning one,
    called just before compacting) is carried verbatim across compaction. ``mode`` "auto" uses server-side
    compaction for ``beta.messages`` calls on models that support it and the client-side fallback otherwise.
    """

    threshold: float = 0.6
    window: int | None = None
    notes: Callable[[], str | None] | str | None = None
    summariser_model: str = "claude-haiku-4-5"
    keep_recent_turns: int = 4
    mode: Mode = "auto"
    on_compact: Callable[[ClientCompaction], None] | None = field(default=None, compare=False)
    """Called after each client-side compaction, e.g. to adopt ``ClientCompaction.messages`` as history."""
    summary_max_tokens: int = 4096

    def __post_init__(self) -> None:
        if not 0 < self.threshold <= 1:
            raise ValueError(f"threshold must be in (0, 1]: {self.threshold}")
        if self.mode not in ("auto", "server", "client"):
            raise ValueError(f"mode must be auto, server or client: {self.mode!r}")
        if self.keep_recent_turns < 1:
            raise ValueError("keep_recent_turns must be at least 1")
        if self.window is not None and self.window <= 0:
            raise ValueError("window must be positive")

    def window_for(self, model: str) -> int | None:
        return self.window or context_window(model)

    def trigger_for(self, model: str) -> int | None:
        window = self.window_for(model)
        # The fraction as the one percent rule sees it: 2/3 of 200,000 is 133,334 here as in the TUI.
        return threshold_tokens(Decimal(repr(float(self.threshold))) * 100, window) if window else None

    def notes_text(self) -> str:
        """The notes now; a failing callable yields no notes rather than a failed request."""
        try:
            value = self.notes() if callable(self.notes) else self.notes
        except Exception:
            return ""
        return str(value).strip() if value else ""


@lru_cache(maxsize=64)
def context_window(model: str) -> int | None:
    """The context window genai-prices lists for an Anthropic model, or ``None`` when unknown."""
    try:
        from ctxtop.core.pricing import bundled_snapshot

        _, info = bundled_snapshot().find_provider_model(model, None, "anthropic", None)
        return info.context_window
    except Exception:
        return None


def supports_server_compaction(model: str) -> bool:
    return any(model == name or model.startswith(name + "-") for name in SERVER_COMPACTION_MODELS)


def server_instructions(notes: str) -> str:
    text = (
        "Summarise the conversation so far so that the work can continue from the summary alone. Keep the "
        "current task and its status, open to-dos, files created or edited, decisions and their reasons, "
        "commands that failed and are not fixed yet, and every explicit user request still pending."
    )
    if notes:
        text += f"\nCopy these working notes into the summary verbatim:\n<notes>\n{notes}\n</notes>"
    return text


def server_edit(trigger_tokens: int, notes: str) -> dict[str, Any]:
    """The ``compact_20260112`` edit; the trigger is raised to the API's minimum if it is below it."""
    return {
        "type": COMPACT_EDIT_TYPE,
        "trigger": {"type": "input_tokens", "value": max(trigger_tokens, MIN_SERVER_TRIGGER)},
        "instructions": server_instructions(notes),
    }


def merge_beta_header(existing: str | None, beta: str = COMPACT_BETA) -> str:
    names = [part.strip() for part in (existing or "").split(",") if part.strip()]
    return ",".join(names if beta in names else [*names, beta])


def to_jsonable(value: Any) -> Any:
    """Plain JSON data from request values that may hold SDK models (e.g. a response's content blocks)."""
    return json.loads(json.dumps(value, default=_default))


def _default(value: Any) -> Any:
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json", exclude_none=True)
    if isinstance(value, (set, tuple)) or hasattr(value, "__iter__"):
        return list(value)
    return str(value)


def fingerprint(messages: Sequence[Any]) -> str:
    data = json.dumps(to_jsonable(list(messages)), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(data.encode()).hexdigest()


def _is_user_prompt(message: Mapping[str, Any]) -> bool:
    """A user message that starts a turn: not only tool results (splitting there would orphan a tool_use)."""
    if message.get("role") != "user":
        return False
    content = message.get("content")
    if isinstance(content, str):
        return True
    return any(not (isinstance(b, Mapping) and b.get("type") == "tool_result") for b in content or [])


def split_index(messages: Sequence[Mapping[str, Any]], keep_recent_turns: int) -> int:
    """Index of the first message to keep verbatim; 0 means there is nothing older worth summarising.

    Turns start at user prompts. A long tool loop under one prompt has too few of those, so then the cut may
    fall before an assistant message: its tool_use stays together with the tool_result that follows it.
    """
    starts = [i for i, m in enumerate(messages) if _is_user_prompt(m)]
    if len(starts) > keep_recent_turns and starts[-keep_recent_turns] > 0:
        return starts[-keep_recent_turns]
    want = max(len(messages) - 2 * keep_recent_turns, 0)
    for i in range(want, 0, -1):
        if messages[i].get("role") == "assistant" or _is_user_prompt(messages[i]):
            return i if i >= 2 else 0
    return 0


def _block_text(block: Any) -> str:
    if isinstance(block, str):
        return block
    if not isinstance(block, Mapping):
        return ""
    kind = block.get("type")
    if kind == "text":
        return str(block.get("text", ""))
    if kind == "tool_use" or kind == "server_tool_use":
        return f"[{kind} {block.get('name')}] {json.dumps(block.get('input'))[:2000]}"
    if kind == "tool_result":
        content = block.get("content")
        body = content if isinstance(content, str) else " ".join(_block_text(b) for b in content or [])
        return f"[tool_result{' error' if block.get('is_error') else ''}] {body[:4000]}"
    if kind == "compaction":
        return f"[earlier summary] {block.get('content') or ''}"
    if kind in ("thinking", "redacted_thinking"):
        return ""
    return f"[{kind}]"


def render_transcript(messages: Sequence[Mapping[str, Any]], budget: int = TRANSCRIPT_BUDGET_CHARS) -> str:
    parts = []
    for message in messages:
        content = message.get("content")
        blocks = [content] if isinstance(content, str) else list(content or [])
        text = "\n".join(t for t in (_block_text(b) for b in blocks) if t)
        parts.append(f"## {message.get('role')}\n{text}")
    transcript = "\n\n".join(parts)
    if len(transcript) > budget:
        # The beginning states the task and the end the current state; the middle matters least.
        head = budget // 4
        gap = "\n\n[... middle of the conversation omitted ...]\n\n"
        transcript = transcript[:head] + gap + transcript[-(budget - head) :]
    return transcript


def summariser_body(
    policy: CompactionPolicy, older: Sequence[Mapping[str, Any]], notes: str
) -> dict[str, Any]:
    """The request body of the one extra call that summarises ``older``."""
    ask = (
        f"<transcript>\n{render_transcript(older)}\n</transcript>\n\n{server_instructions(notes)}\n"
        "Answer with the summary only."
    )
    return {
        "model": policy.summariser_model,
        "max_tokens": policy.summary_max_tokens,
        "system": "You compact the history of a conversation between a user and an AI assistant.",
        "messages": [{"role": "user", "content": ask}],
    }


def summary_message(summary: str, notes: str) -> dict[str, Any]:
    """The user message that replaces the summarised turns; the notes ride along verbatim."""
    text = f"{SUMMARY_MARKER}\n<summary>\n{summary.strip()}\n</summary>"
    if notes:
        text += f"\n<notes>\n{notes}\n</notes>"
    return {"role": "user", "content": [{"type": "text", "text": text}]}
