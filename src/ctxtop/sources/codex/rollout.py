"""Read Codex CLI rollout lines (``$CODEX_HOME/sessions/YYYY/MM/DD/rollout-<time>-<id>.jsonl``) into ctxtop facts.

Every line is ``{"timestamp", "type", "payload"}`` (codex-rs ``RolloutLine``). ctxtop reads four types:

- ``session_meta``: the session's id, cwd, git branch and CLI version. The file's own comes first; a forked
  session then carries its parent's (and the parent's whole history, replayed with the fork's timestamp);
- ``turn_context``: one per turn, with the model the turn runs on (``token_count`` events do not name it);
- ``event_msg`` / ``token_count``: ``info`` is ``null`` or codex-rs ``TokenUsageInfo`` {``total_token_usage``
  (cumulative for the session), ``last_token_usage`` (the latest response), ``model_context_window``};
- ``compacted``: Codex replaced the history by a summary (Codex's own compaction, not ctxtop's).

Counting rules, and why:

- Codex re-emits ``token_count`` with unchanged counters (each rate-limit update, and after a resume): an event
  whose cumulative totals equal the previous event's adds nothing.
- Otherwise the request is ``last_token_usage`` (Codex's own per-response figure), or, when a line has no
  usable one, the difference of the cumulative totals.
- The request key is the lineage's first session id (the last ``session_meta`` at the head of the file) and
  the cumulative totals; so the parent history a fork replays has the keys the parent's own file gives it and
  is counted once, with the parent, while unrelated sessions never share a key.
- OpenAI's ``input_tokens`` include ``cached_input_tokens`` (Anthropic's ``input_tokens`` do not), and
  ``output_tokens`` include ``reasoning_output_tokens``. ctxtop's ``Tokens`` are Anthropic-shaped, so a request
  is ``input = input - cached - cache writes``, ``cache_read = cached``, ``cache_write_5m`` = Codex 0.169's
  ``cache_write_input_tokens`` (0 against OpenAI's Responses API), ``output = output``: the prompt
  (``Tokens.prompt``) is then OpenAI's ``input_tokens``, and prices apply to each part once. Reasoning is
  billed as output; its count rides along as ``Usage.reasoning``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from ctxtop.core.records import MAIN, CompactRecord, FileContext, Meta, Parsed, RequestRecord, parse_ts
from ctxtop.core.usage import MAX_TOKENS, Tokens, Usage

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: importing typing costs the statusline ~5 ms
if TYPE_CHECKING:
    from typing import Any

UNKNOWN_MODEL = "unknown"
COMPACTION_TRIGGER = "codex"
"""``CompactRecord.trigger`` of a compaction Codex did itself."""

_FIELDS = ("input_tokens", "cached_input_tokens", "output_tokens", "reasoning_output_tokens", "total_tokens",
           "cache_write_input_tokens")  # fmt: skip


@dataclass(frozen=True, slots=True)
class Counts:
    """One codex-rs ``TokenUsage``: OpenAI's counts, cached input inside input, reasoning inside output."""

    input: int = 0
    cached: int = 0
    output: int = 0
    reasoning: int = 0
    total: int = 0
    cache_write: int = 0
    """``cache_write_input_tokens`` (Codex 0.169.0 on): like cached input, a part of ``input``."""

    def astuple(self) -> tuple[int, ...]:
        return (self.input, self.cached, self.output, self.reasoning, self.total, self.cache_write)

    def minus(self, other: Counts | None) -> Counts:
        if other is None:
            return self
        a, b = self.astuple(), other.astuple()
        return Counts(*(max(x - y, 0) for x, y in zip(a, b, strict=True)))

    def covers(self, other: Counts) -> bool:
        """Every counter is at least ``other``'s (the cumulative totals moved forward, not reset)."""
        return all(x >= y for x, y in zip(self.astuple(), other.astuple(), strict=True))

    @property
    def empty(self) -> bool:
        return not (self.input or self.cached or self.output or self.reasoning)

    def tokens(self) -> Tokens:
        """The Anthropic-shaped ``Tokens`` ctxtop prices and measures (see the module docstring)."""
        cached = min(self.cached, self.input)
        written = min(self.cache_write, self.input - cached)
        return Tokens(
            input=self.input - cached - written, output=self.output, cache_read=cached, cache_write_5m=written
        )


def _count(value: Any) -> int:
    return value if type(value) is int and 0 <= value <= MAX_TOKENS else 0


def read_counts(raw: Any) -> Counts | None:
    """A ``TokenUsage`` object, or None when ``raw`` is not one (missing, ``null``, ``{}``)."""
    if not isinstance(raw, dict) or not any(name in raw for name in _FIELDS):
        return None
    return Counts(*(_count(raw.get(name)) for name in _FIELDS))


def session_id_of(stem: str) -> str:
    """The session id in a rollout file name (``rollout-2025-05-07T17-24-21-<uuid>``), else the stem."""
    tail = stem[-36:]
    if stem.startswith("rollout-") and len(stem) > 45 and tail.count("-") == 4 and stem[-37] == "-":
        return tail
    return stem


class RolloutParser:
    """Facts in one rollout file, line by line; ``state`` carries what the next read of the file needs."""

    def __init__(self, ctx: FileContext, state: str | None = None) -> None:
        self.ctx = ctx
        self.own = False
        """The file's own ``session_meta`` was read."""
        self.root = ctx.session_id
        self.model: str | None = None
        self.totals: Counts | None = None
        self.prompt = 0
        """Prompt tokens of the latest request: what a compaction replaced."""
        if state:
            try:
                saved = json.loads(state)
                own, root, model, totals = (
                    saved["own"] is True,
                    str(saved["root"]),
                    saved.get("model"),
                    saved.get("totals"),
                )
                prompt = _count(saved.get("prompt"))
            except (ValueError, KeyError, TypeError):
                return  # a state this version did not write: the next lines still count, only without it
            self.own, self.root, self.prompt = own, root, prompt
            self.model = model if isinstance(model, str) else None
            if isinstance(totals, list) and len(totals) == len(_FIELDS):
                self.totals = Counts(*map(_count, totals))

    @property
    def state(self) -> str | None:
        return json.dumps(
            {
                "own": self.own,
                "root": self.root,
                "model": self.model,
                "totals": list(self.totals.astuple()) if self.totals else None,
                "prompt": self.prompt,
            },
            separators=(",", ":"),
        )

    def parse(self, obj: dict[str, Any], line_key: str) -> list[Parsed]:
        kind = obj.get("type")
        payload = obj.get("payload")
        if not isinstance(payload, dict):
            return []
        if kind == "event_msg":
            if payload.get("type") == "token_count":
                return self._token_count(obj, payload)
            return []
        if kind == "turn_context":
            model = payload.get("model")
            if isinstance(model, str) and model:
                self.model = model
            return []
        if kind == "session_meta":
            return self._session_meta(obj, payload)
        if kind == "compacted":
            ts = parse_ts(obj.get("timestamp"))
            if ts is None:
                return []
            return [CompactRecord(self.ctx.session_id, MAIN, ts, COMPACTION_TRIGGER, self.prompt, None)]
        return []

    def _session_meta(self, obj: dict[str, Any], payload: dict[str, Any]) -> list[Parsed]:
        sid = payload.get("id")
        if isinstance(sid, str) and sid:
            self.root = sid  # the last one at the head of a fork names the lineage's first session
        if self.own:
            return []
        self.own = True
        ts = parse_ts(obj.get("timestamp")) or parse_ts(payload.get("timestamp"))
        if ts is None:
            return []
        cwd = payload.get("cwd")
        git = payload.get("git")
        branch = git.get("branch") if isinstance(git, dict) else None
        version = payload.get("cli_version")
        return [
            Meta(
                self.ctx.session_id,
                ts,
                cwd if isinstance(cwd, str) and cwd else None,
                branch if isinstance(branch, str) and branch else None,
                version if isinstance(version, str) and version else None,
            )
        ]

    def _token_count(self, obj: dict[str, Any], payload: dict[str, Any]) -> list[Parsed]:
        info = payload.get("info")
        ts = parse_ts(obj.get("timestamp"))
        if not isinstance(info, dict) or ts is None:
            return []  # the first event of a session carries rate limits only
        total = read_counts(info.get("total_token_usage"))
        last = read_counts(info.get("last_token_usage"))
        previous = self.totals
        if total is not None:
            if total == previous:
                return []  # re-emitted: the counters did not move
            self.totals = total
            if last is not None and not last.empty:
                delta = last
            elif previous is not None and total.covers(previous):
                delta = total.minus(previous)
            else:
                delta = total  # the first totals of the file, or counters that restarted
            key = f"codex:{self.root}:" + ":".join(map(str, total.astuple()))
        elif last is not None:
            delta = last
            key = f"codex:{self.root}:line:{obj.get('timestamp')}:" + ":".join(map(str, last.astuple()))
        else:
            return []
        if delta.empty:
            return []
        tokens = delta.tokens()
        self.prompt = tokens.prompt
        return [
            RequestRecord(
                key=key,
                session_id=self.ctx.session_id,
                chain=MAIN,
                ts=ts,
                model=self.model or UNKNOWN_MODEL,
                usage=Usage(tokens, reasoning=min(delta.reasoning, delta.output)),
            )
        ]
