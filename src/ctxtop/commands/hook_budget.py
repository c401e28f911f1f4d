"""The UserPromptSubmit hook (``claude install --enforce-budgets``): hold back a prompt past a hard limit.

Claude Code (2.1.197 and 2.1.332, measured) blocks the prompt when the hook prints
``{"decision": "block", "reason": ...}`` and exits 0: no request is sent, and the reason is shown to the user
(``UserPromptSubmit operation blocked by hook:`` + the reason; in ``-p`` mode it is the run's result,
interactively it is printed in the conversation; the prompt is kept in the transcript as a system note).
Exit code 2 blocks too, but shows ``[<command>]: <stderr>``; ``{"continue": false}`` stops the turn instead.
``ctxtop.commands.hook`` owns the fail-open contract: any exception,
or more than its time budget, and the hook prints nothing, so the prompt goes through.

The decision is ``ctxtop.services.budgets.prompt_decision``.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from ctxtop.adapters import budget_state
from ctxtop.adapters.config import Config
from ctxtop.services import budgets


def _regular(path: str | None) -> Path | None:
    import stat

    if not path:
        return None
    try:
        return Path(path) if stat.S_ISREG(os.stat(path).st_mode) else None
    except OSError:
        return None


def _block(reason: str) -> str:
    return json.dumps({"decision": "block", "reason": reason}, ensure_ascii=False)


def user_prompt_submit(payload: dict[str, Any], now: float | None = None) -> str | None:
    """Block the prompt (a JSON decision) when a hard limit is passed and no ``budget allow`` lifts it."""
    session_id = payload.get("session_id")
    if not isinstance(session_id, str) or not budget_state.SAFE_ID.match(session_id):
        return None
    config = Config.load()
    if not any(b.hard is not None for b in config.budgets):
        return None  # the common case: nothing to enforce, answered before the index is opened
    now = time.time() if now is None else now
    transcript = _regular(
        payload.get("transcript_path") if isinstance(payload.get("transcript_path"), str) else None
    )
    reason = budgets.prompt_decision(session_id, transcript, config, now)
    return _block(reason) if reason else None
