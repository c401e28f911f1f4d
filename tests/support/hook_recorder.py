"""A Claude Code hook command that only records: appends ``{"event", "time", "input"}`` to a JSONL log.

Installed next to ctxtop's own hooks by the end-to-end tests to see which hooks ran, in which order and
with what input; it prints nothing, so it never changes what Claude Code does.
Usage: ``python hook_recorder.py LOG EVENT`` (stdin: the hook's JSON input).
"""

from __future__ import annotations

import json
import sys
import time


def main(argv: list[str]) -> int:
    log, event = argv[1], argv[2]
    raw = sys.stdin.read()
    try:
        data = json.loads(raw or "{}")
    except ValueError:
        data = {"raw": raw}
    with open(log, "a", encoding="utf-8") as f:
        f.write(json.dumps({"event": event, "time": time.time(), "input": data}) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
