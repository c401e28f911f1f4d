"""``ctxtop report anomalies`` on real transcripts: the public corpus, and the committed fixtures copied onto
other days and grown on disk line by line, as Claude Code writes them."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import date, datetime, timedelta
from pathlib import Path

from tests.support.fixtures import scenario

REFACTOR = scenario("refactor")  # $1.95


def _report(world: Path, claude_dir: Path, *args: str) -> list[dict]:
    done = subprocess.run(
        [sys.executable, "-m", "ctxtop", "report", "anomalies", "--json", "--claude-dir", str(claude_dir), *args],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_public_corpus_session_with_rereads_expiries_and_a_cache_drop(
    isolated_dirs: Path, public_corpus: Path
) -> None:
    found = _report(isolated_dirs, public_corpus, "--since", "2026-01-01", "--until", "2026-03-01")
    mine = [a for a in found if (a["session_id"] or "").startswith("4d5611e5")]
    kinds = [a["kind"] for a in mine]
    assert kinds.count("reread") == 1 and "cache-drop" in kinds and kinds.count("request-cost") >= 3, kinds
    reread = next(a for a in mine if a["kind"] == "reread")
    assert re.search(r"9\d% of its input re-reads earlier context \(over 95%\)", reread["reason"])
    drop = next(a for a in mine if a["kind"] == "cache-drop")
    assert "the cache held 22% of the previous prompt, against a usual 100%" in drop["reason"]
    expired = [a for a in mine if "idle minutes (the cache had expired)" in a["reason"]]
    assert expired and all(a["value"] > 5 * a["baseline"] for a in expired)
    # Its day: $10.11 against a week that held one $0.23 session (history starts 2026-01-02).
    [spike] = [a for a in found if a["kind"] == "day-spike"]
    assert spike["reason"] == "2026-02-12: $10.11 spent, 312.4× the average of the 7 days before ($0.03)"
    # Thresholds come from the config: a higher re-read share, the factor and drop rules off, a huge spike.
    (isolated_dirs / "ctxtop_config_dir").mkdir(exist_ok=True)
    (isolated_dirs / "ctxtop_config_dir" / "config.toml").write_text(
        "[anomalies]\nreread_pct = 99\nrequest_factor = 0\ncache_drop_pct = 0\nday_pct = 50000\n"
    )
    assert _report(isolated_dirs, public_corpus, "--since", "2026-01-01", "--until", "2026-03-01") == []


def _clone_lines(day: date, n: int) -> tuple[str, list[str]]:
    """The refactor transcript moved to noon (local time) of ``day``, as session ``n`` with its own ids."""
    lines = [json.loads(line) for line in REFACTOR.path.read_text().splitlines() if line.strip()]
    first = min(
        datetime.fromisoformat(x["timestamp"].replace("Z", "+00:00")) for x in lines if "timestamp" in x
    )
    shift = datetime(day.year, day.month, day.day, 12).astimezone() - first
    sid = f"00000000-0000-4000-8000-{n:012d}"
    out = []
    for x in lines:
        if "timestamp" in x:
            t = datetime.fromisoformat(x["timestamp"].replace("Z", "+00:00")) + shift
            x["timestamp"] = t.astimezone().isoformat()
        if "sessionId" in x:
            x["sessionId"] = sid
        msg = x.get("message")
        if isinstance(msg, dict) and isinstance(msg.get("id"), str):
            msg["id"] = f"{msg['id']}-{n}"
        if isinstance(x.get("requestId"), str):
            x["requestId"] = f"{x['requestId']}-{n}"
        out.append(json.dumps(x) + "\n")
    return sid, out


def test_day_spike_appears_as_the_days_transcript_grows(isolated_dirs: Path) -> None:
    claude_dir = isolated_dirs / "claude-home"
    project = claude_dir / "projects" / "-tmp-spike"
    project.mkdir(parents=True)
    today = date.today()
    for back in range(1, 8):  # $1.95 on each of the seven days before: no day stands out
        sid, lines = _clone_lines(today - timedelta(days=back), back)
        (project / f"{sid}.jsonl").write_text("".join(lines))
    sid, lines = _clone_lines(today, 10)
    (project / f"{sid}.jsonl").write_text("".join(lines))  # today's first session: $1.95, as usual
    since = (today - timedelta(days=6)).isoformat()
    assert [a for a in _report(isolated_dirs, claude_dir, "--since", since) if a["kind"] == "day-spike"] == []

    sid, lines = _clone_lines(today, 11)
    path = project / f"{sid}.jsonl"
    cut = 10  # its first three requests: about $0.39
    path.write_text("".join(lines[:cut]))  # a second session starts: still under 1.3x the average
    assert [a for a in _report(isolated_dirs, claude_dir, "--since", since) if a["kind"] == "day-spike"] == []
    with path.open("a") as fh:
        fh.writelines(lines[cut:])
    spikes = [a for a in _report(isolated_dirs, claude_dir, "--since", since) if a["kind"] == "day-spike"]
    assert [a["day"] for a in spikes] == [today.isoformat()]
    assert (
        spikes[0]["reason"]
        == f"{today.isoformat()}: $3.90 spent, 2.0× the average of the 7 days before ($1.95)"
    )
