"""A user's own statusLine command for the PTY end-to-end test: logs what Claude Code sent and what ctxtop's
report and the TUI's view model say at that moment.

Run as ``python statusline_recorder.py LOG``; ``ctxtop claude install --statusline`` keeps it (ctxtop's
statusline runs it first with the same input). It prints ``REC<n>``, so ctxtop's segment for call n is what
follows ``REC<n> · `` in the statusline's output.

``python statusline_recorder.py --tee LOG CMD`` runs the installed statusLine command CMD unchanged (same
stdin, same stdout) and logs its output line: Claude Code 2.1.332 redraws only the changed cells of the
status line, so the screen alone cannot tell what the command printed.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time


def tee(log: str, command: str) -> None:
    raw = sys.stdin.buffer.read()
    proc = subprocess.run(command, shell=True, input=raw, capture_output=True, timeout=60)
    with open(log, "a") as fh:
        fh.write(json.dumps({"output": proc.stdout.decode("utf-8", "replace")}) + "\n")
    sys.stdout.buffer.write(proc.stdout)


def main() -> None:
    if sys.argv[1] == "--tee":
        tee(sys.argv[2], sys.argv[3])
        return
    log = sys.argv[1]
    payload = json.loads(sys.stdin.read() or "{}")
    try:
        with open(log) as fh:
            n = sum(1 for _ in fh)
    except OSError:
        n = 0
    entry: dict = {"n": n, "payload": payload}
    sid = payload.get("session_id")
    usage = (payload.get("context_window") or {}).get("current_usage")
    prompt = None
    if isinstance(usage, dict):
        prompt = (
            usage["input_tokens"] + usage["cache_read_input_tokens"] + usage["cache_creation_input_tokens"]
        )
    try:
        from ctxtop.services.monitor import Monitor

        # Claude Code may call the statusline a moment before the transcript line is on disk: wait (3 s at
        # most) for the transcript to reach the usage Claude Code reported, so both describe one moment.
        deadline = time.monotonic() + 3
        while True:
            report = subprocess.run([sys.executable, "-m", "ctxtop", "report", "sessions", "--json"],
                                    capture_output=True, text=True, timeout=20, check=True)  # fmt: skip
            rows = [r for r in json.loads(report.stdout) if r["session_id"] == sid]
            entry["report"] = rows[0] if rows else None
            if (
                prompt is None
                or (rows and rows[0]["context_tokens"] == prompt)
                or time.monotonic() > deadline
            ):
                break
            time.sleep(0.1)
        monitor = Monitor.open()
        monitor.refresh()
        stats = monitor.index.session(sid) if sid else None
        view = monitor.view(stats) if stats is not None else None
        entry["tui"] = None if view is None else {"fill": view.fill, "window": view.window,
                                                  "compact_at": view.compaction.compact_at}  # fmt: skip
    except Exception as exc:  # noqa: BLE001 - logged for the test to show
        entry["error"] = repr(exc)
    with open(log, "a") as fh:
        fh.write(json.dumps(entry) + "\n")
    print(f"REC{n}")


if __name__ == "__main__":
    main()
