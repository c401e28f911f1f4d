"""The state of one monitored API session: preparing each request, compacting, and building its log record.

SDK-agnostic: requests are plain bodies and option dicts, responses are read through ``model_dump``. The
Anthropic-specific plumbing (which calls are patched, how streams are observed) lives in
:mod:`ctxtop.sources.anthropic_api.wrapper`.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ctxtop.sources.anthropic_api import compaction as ac
from ctxtop.sources.anthropic_api.budget import ApiBudget, Meter, check
from ctxtop.sources.anthropic_api.log import RECORD_TYPE, SCHEMA, ApiLogWriter, utc_timestamp


@dataclass
class PreparedCall:
    """One outgoing ``/v1/messages`` request after the session adjusted it."""

    kwargs: dict[str, Any]
    """Keyword arguments for the SDK's ``post`` (body and options possibly rewritten)."""
    model: str
    stream: bool
    prompt_parts: dict[str, int] | None
    compaction: dict[str, Any] | None = None
    summariser: dict[str, Any] | None = None
    """Keyword arguments of the summariser call to make first (client-side compaction), else ``None``."""
    split: int = 0
    notes: str = ""
    substituted: int = 0
    """How many leading caller messages an earlier summary already stood in for in this request (0: none)."""
    caller_messages: list[Any] = field(default_factory=list)
    started: float = field(default_factory=time.perf_counter)


class ApiSession:
    """Per monitored client: where records go and what compaction has done so far."""

    def __init__(
        self,
        session_id: str,
        log_dir: Path | str | None,
        policy: ac.CompactionPolicy | None,
        default_beta: str | None = None,
        omitted: tuple[type, ...] = (),
        budget: ApiBudget | None = None,
    ) -> None:
        self.writer = ApiLogWriter(session_id, log_dir)
        self.budget = budget
        self.meter = Meter()
        self._budget_compacted = False
        self.session_id = session_id
        self.policy = policy
        self.last_prompt_tokens: int | None = None
        self.last_compaction: ac.ClientCompaction | None = None
        self._default_beta = default_beta
        self._omitted = omitted  # the SDK's "not given" sentinels
        self._lock = threading.Lock()
        # Client-side compaction: (how many leading caller messages, their fingerprint, the summary message).
        self._prefix: tuple[int, str, dict[str, Any]] | None = None

    @property
    def log_path(self) -> Path:
        return self.writer.path

    # -- before the request -------------------------------------------------------------------------------
    def check_budget(self) -> bool:
        """Raise ``BudgetExceeded`` past a hard limit; True when the request should compact first (once, near a
        limit, with a client-side compaction policy)."""
        if self.budget is None:
            return False
        with self._lock:
            last = self.last_prompt_tokens
        near = check(self.budget, self.meter, self.session_id, last)
        if near and self.budget.compact_near and self.policy is not None and not self._budget_compacted:
            self._budget_compacted = True
            return True
        return False

    def prepare(self, kwargs: dict[str, Any], *, beta: bool, force_compact: bool = False) -> PreparedCall:
        body = dict(kwargs["body"])
        # The caller may pass any iterable (even a generator): read it once and send that list.
        messages = list(body.get("messages") or [])
        body["messages"] = messages
        kwargs = dict(kwargs, body=body)
        model = str(body.get("model") or "")
        call = PreparedCall(kwargs, model, bool(kwargs.get("stream")), None, caller_messages=messages)
        if self.policy is not None:
            kind = self.policy.mode
            if kind == "auto":
                kind = "server" if beta and ac.supports_server_compaction(model) else "client"
            if kind == "server":
                self._add_server_edit(call)
            else:
                self._plan_client_compaction(call, force=force_compact)
        call.prompt_parts = self._prompt_parts(call.kwargs["body"])
        return call

    def _given(self, value: Any) -> bool:
        return value is not None and not isinstance(value, self._omitted)

    def _prompt_parts(self, body: Mapping[str, Any]) -> dict[str, int] | None:
        try:

            def size(value: Any) -> int:
                if not self._given(value):
                    return 0
                return len(json.dumps(value, default=ac._default, ensure_ascii=False, separators=(",", ":")))

            return {
                "system_chars": size(body.get("system")),
                "tools_chars": size(body.get("tools")),
                "messages_chars": size(body.get("messages")),
                "messages": len(body.get("messages") or []),
            }
        except Exception:
            return None

    def _add_server_edit(self, call: PreparedCall) -> None:
        assert self.policy is not None
        trigger = self.policy.trigger_for(call.model)
        if trigger is None:
            return  # unknown window: leave the request alone rather than guess
        body = call.kwargs["body"]
        existing = body.get("context_management")
        existing = dict(existing) if self._given(existing) else {}
        edits = list(existing.get("edits") or [])
        mine = next(
            (e for e in edits if isinstance(e, Mapping) and e.get("type") == ac.COMPACT_EDIT_TYPE), None
        )
        if mine is None:  # an edit the caller configured wins over ours
            mine = ac.server_edit(trigger, self.policy.notes_text())
            edits.append(mine)
        body["context_management"] = {**existing, "edits": edits}
        options = dict(call.kwargs.get("options") or {})
        headers = dict(options.get("headers") or {})
        key = next((k for k in headers if k.lower() == "anthropic-beta"), "anthropic-beta")
        current = headers.get(key)
        current = current if isinstance(current, str) else self._default_beta
        headers[key] = ac.merge_beta_header(current)
        options["headers"] = headers
        call.kwargs["options"] = options
        trigger_value = (mine.get("trigger") or {}).get("value")
        call.compaction = {"kind": "server", "trigger_tokens": trigger_value, "triggered": False}

    def _plan_client_compaction(self, call: PreparedCall, force: bool = False) -> None:
        assert self.policy is not None
        caller = call.caller_messages
        outgoing = caller
        with self._lock:
            prefix = self._prefix
            last = self.last_prompt_tokens
        substituted = 0
        if prefix is not None:
            count, digest, summary = prefix
            # Keep sending the summary for history the caller still holds verbatim: the prompt stays small
            # and its cached prefix stable even when the caller did not adopt the compacted list.
            if len(caller) > count and ac.fingerprint(caller[:count]) == digest:
                outgoing = [summary, *caller[count:]]
                substituted = count
        call.kwargs["body"]["messages"] = outgoing
        trigger = self.policy.trigger_for(call.model)
        if last is None or (not force and (trigger is None or last < trigger)):
            return
        split = ac.split_index([ac.to_jsonable(m) for m in outgoing], self.policy.keep_recent_turns)
        if split <= 0:
            return
        notes = self.policy.notes_text()
        older = ac.to_jsonable(outgoing[:split])
        call.summariser = {
            "body": ac.summariser_body(self.policy, older, notes),
            "options": {},
            "cast_to": call.kwargs["cast_to"],
            "stream": False,
        }
        call.split, call.notes, call.substituted = split, notes, substituted
        call.compaction = {
            "kind": "client",
            "trigger_tokens": trigger,
            "triggered": True,
            "pre_tokens": last,
            "summarised_messages": split,
            "kept_messages": len(outgoing) - split,
            "summariser": True,
        }

    def summariser_call(self, call: PreparedCall) -> PreparedCall:
        """The extra request that summarises the older turns of ``call`` (planned by ``prepare``)."""
        assert self.policy is not None and call.summariser is not None
        kwargs = call.summariser
        return PreparedCall(kwargs, self.policy.summariser_model, False, self._prompt_parts(kwargs["body"]))

    def apply_summary(self, call: PreparedCall, summary: str) -> None:
        """Replace the older turns of the outgoing request by the summary (after the summariser answered)."""
        assert self.policy is not None and call.compaction is not None
        info, substituted = call.compaction, call.substituted
        outgoing = call.kwargs["body"]["messages"]
        message = ac.summary_message(summary, call.notes)
        compacted = [message, *outgoing[call.split :]]
        call.kwargs["body"]["messages"] = compacted
        call.prompt_parts = self._prompt_parts(call.kwargs["body"])
        # In the caller's coordinates: an earlier summary (one outgoing message) stood for `substituted` of them.
        count = substituted + call.split - 1 if substituted else call.split
        with self._lock:
            self._prefix = (count, ac.fingerprint(call.caller_messages[:count]), message)
            self.last_prompt_tokens = None
        self.last_compaction = ac.ClientCompaction(
            messages=ac.to_jsonable(compacted),
            summary=summary,
            replaced=count,
            kept=len(compacted) - 1,
            pre_tokens=info["pre_tokens"],
            trigger_tokens=info["trigger_tokens"],
        )
        if self.policy.on_compact is not None:
            self.policy.on_compact(self.last_compaction)

    # -- after the request --------------------------------------------------------------------------------
    def record(
        self,
        call: PreparedCall,
        *,
        usage: dict[str, Any] | None,
        model: str | None = None,
        message_id: str | None = None,
        request_id: str | None = None,
        error: BaseException | str | None = None,
        compaction: dict[str, Any] | None = None,
        stream: bool | None = None,
        main: bool = True,
    ) -> None:
        """Append the record of one finished request. Never raises: logging must not break the caller."""
        try:
            latency = (time.perf_counter() - call.started) * 1000
            if main and usage is not None and error is None:
                prompt = sum(
                    int(usage.get(k) or 0)
                    for k in ("input_tokens", "cache_read_input_tokens", "cache_creation_input_tokens")
                )
                with self._lock:
                    self.last_prompt_tokens = prompt
            try:
                cwd: str | None = os.getcwd()
            except OSError:
                cwd = None
            if isinstance(error, BaseException):
                error = type(error).__name__
            record = {
                "type": RECORD_TYPE,
                "schema": SCHEMA,
                "timestamp": utc_timestamp(),
                "session_id": self.session_id,
                "request_id": request_id,
                "message_id": message_id,
                "model": model or call.model,
                "usage": usage,
                "service_tier": (usage or {}).get("service_tier"),
                "latency_ms": round(latency, 1),
                "stream": call.stream if stream is None else stream,
                "batch": False,
                "cwd": cwd,
                "prompt_parts": call.prompt_parts,
                "compaction": compaction,
                "error": error,
            }
            self.writer.append(record)
        except Exception:
            return
        if usage is not None:
            try:
                with self._lock:
                    self.meter.add(record)
            except Exception:
                pass  # a pricing problem must not break the caller; the budget then counts what it could
