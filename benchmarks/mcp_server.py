"""What an agent pays to read its meter through ``ctxtop mcp``, against asking the CLI each time.

On a copy of the committed fixture transcripts (``tests/fixtures/claude``), in a scratch data dir:

- baseline: ``python -m ctxtop report sessions --json`` run as a subprocess (what an agent would do through
  Bash without the server), N times;
- the server: one ``python -m ctxtop mcp`` started once (its start-up timed on its own: the SDK's import is
  most of it), then N ``context_status`` and N ``cost`` calls through the MCP SDK's own stdio client.

Prints the median of each and the ratios to the baseline (measured in the same run, so the machine's load
cancels out as far as it can).

    python benchmarks/mcp_server.py [N]          # N calls each (default 10); needs the mcp extra
"""

from __future__ import annotations

import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SESSION = "5bd8fa84-cd26-4332-9e86-c3df3668ff6f"


def _env(root: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CLAUDE", "ANTHROPIC", "CTXTOP_"))}
    config = root / "claude"
    shutil.copytree(REPO / "tests" / "fixtures" / "claude", config)
    env.update(
        CLAUDE_CONFIG_DIR=str(config),
        CLAUDE_CODE_SESSION_ID=SESSION,
        CTXTOP_DATA_DIR=str(root / "data"),
        CTXTOP_CONFIG_DIR=str(root / "config"),
        CTXTOP_CACHE_DIR=str(root / "cache"),
        CTXTOP_API_LOG_DIR=str(root / "api"),
    )
    return env


def _report(env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "ctxtop", "report", "sessions", "--json"],
        env=env,
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - started


async def _server(env: dict[str, str], n: int) -> tuple[float, list[float], list[float]]:
    from mcp import ClientSession
    from mcp.client.stdio import StdioServerParameters, stdio_client

    params = StdioServerParameters(command=sys.executable, args=["-m", "ctxtop", "mcp"], env=env)
    started = time.perf_counter()
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        startup = time.perf_counter() - started
        times: dict[str, list[float]] = {"context_status": [], "cost": []}
        for _ in range(n):
            for name, found in times.items():
                t = time.perf_counter()
                result = await session.call_tool(name, {})
                found.append(time.perf_counter() - t)
                assert not result.is_error, result.content
    return startup, times["context_status"], times["cost"]


def main() -> int:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    with tempfile.TemporaryDirectory(prefix="ctxtop-bench-mcp-") as tmp:
        env = _env(Path(tmp))
        _report(env)  # the first run builds the index: not what either side pays afterwards
        baseline = statistics.median(_report(env) for _ in range(n))
        startup, status, cost = asyncio.run(_server(env, n))
    rows = [
        ("report sessions --json (subprocess)", baseline),
        ("ctxtop mcp start-up (to initialize)", startup),
        ("context_status call (warm server)", statistics.median(status)),
        ("cost call (warm server)", statistics.median(cost)),
    ]
    print(f"{'':<40} {'median s':>9} {'vs baseline':>12}")
    for label, value in rows:
        print(f"{label:<40} {value:>9.3f} {value / baseline:>11.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
