"""The Source protocol and registry: each source's layout, and the index reading a source with state."""

from __future__ import annotations

import json
import time
from collections.abc import Collection, Iterator, Mapping
from pathlib import Path
from typing import Any, ClassVar

from ctxtop.adapters.index import Index
from ctxtop.core.records import MAIN, FileContext, Parsed, RequestRecord, parse_ts
from ctxtop.core.usage import Tokens, Usage
from ctxtop.sources import registry
from ctxtop.sources.anthropic_api.source import AnthropicApi
from ctxtop.sources.base import FileParser, FlatDirSource
from ctxtop.sources.claude_code.source import ClaudeCode
from ctxtop.sources.registry import Sources


def test_claude_code_layout(tmp_path: Path) -> None:
    config = tmp_path / "claude"
    project = config / "projects" / "-work-app"
    (project / "s1" / "subagents").mkdir(parents=True)
    (project / "s1" / "tool-results").mkdir()
    for rel in ("s1.jsonl", "s1/subagents/agent-a7.jsonl", "s1/tool-results/big.jsonl", "notes.txt"):
        (project / rel).write_text("{}\n")
    claude = ClaudeCode((config,))
    # Sorted by path parts (a session's subagents before it), tool-results/ and non-logs left out.
    assert list(claude.iter_files()) == [
        project / "s1" / "subagents" / "agent-a7.jsonl",
        project / "s1.jsonl",
    ]
    assert ClaudeCode.context_for(project / "s1.jsonl") == FileContext("s1", MAIN, "claude", "-work-app")
    sub = ClaudeCode.context_for(project / "s1" / "subagents" / "agent-a7.jsonl")
    assert (sub.session_id, sub.chain, sub.project_dir) == ("s1", "a7", "-work-app")
    assert claude.is_log(str(project / "s1.jsonl"))
    assert not claude.is_log(str(project / "s1" / "tool-results" / "big.jsonl"))
    assert not claude.is_log(str(tmp_path / "elsewhere" / "projects" / "p" / "s.jsonl"))
    assert ClaudeCode.project_cwd("-work-app") == "/work/app"
    assert claude.session_path("s9", "-x") == config / "projects" / "-x" / "s9.jsonl"
    # The watcher's poll: the projects dir, each project, the subagents dir of a hot session.
    hot = [str(project / "s1.jsonl")]
    assert claude.poll_dirs(config / "projects", hot) == [
        str(config / "projects"), str(project), str(project / "s1" / "subagents")
    ]  # fmt: skip


def test_api_logs_layout(tmp_path: Path) -> None:
    logs = tmp_path / "api"
    (logs / "sub").mkdir(parents=True)
    (logs / "b.jsonl").write_text("{}\n")
    (logs / "a.jsonl").write_text("{}\n")
    (logs / "sub" / "c.jsonl").write_text("{}\n")
    api = AnthropicApi((logs,))
    assert list(api.iter_files()) == [logs / "a.jsonl", logs / "b.jsonl"]
    # Only what iter_files lists is a log: a file in a subfolder never is (it would count as vanished).
    assert api.is_log(str(logs / "a.jsonl")) and not api.is_log(str(logs / "sub" / "c.jsonl"))
    assert AnthropicApi.context_for(logs / "a.jsonl").session_id == "a"


def test_registry_builds_every_source_from_options(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("CTXTOP_API_LOG_DIR", str(tmp_path / "env-api"))
    sources = Sources.discover({"claude_dirs": [str(tmp_path / "c")]})
    assert [s.name for s in sources.sources] == [k.name for k in registry.KINDS]
    claude = sources.of(ClaudeCode)
    assert claude is not None and claude.config_dirs == (tmp_path / "c",)
    assert sources.get("api") == AnthropicApi((tmp_path / "env-api",))
    assert sources.roots()[:2] == (str(tmp_path / "c" / "projects"), str(tmp_path / "env-api"))
    assert sources.source_of(str(tmp_path / "env-api" / "x.jsonl")) == sources.get("api")
    assert sources.source_of(str(tmp_path / "c" / "projects" / "p" / "x.jsonl")) is claude
    assert sources.source_of(str(tmp_path / "other.jsonl")) is None
    assert registry.kind("claude") is ClaudeCode and registry.kind("nope") is None
    # Names are stored in indexes on disk: unique, and never the empty string.
    names = [k.name for k in registry.KINDS]
    assert len(set(names)) == len(names) and all(names)


# ---------------------------------------------------------------- a source whose parser keeps state


class _TotalsParser:
    """Lines carry a running total (as Codex's token counts do): the parser turns them into deltas."""

    def __init__(self, ctx: FileContext, state: str | None) -> None:
        self.ctx = ctx
        self.total = json.loads(state)["total"] if state else 0
        self.starts: list[str | None] = []

    def parse(self, obj: dict[str, Any], line_key: str) -> list[Parsed]:
        total, ts = obj["total"], parse_ts(obj["timestamp"])
        delta, self.total = total - self.total, max(total, self.total)
        if delta <= 0 or ts is None:
            return []  # a repeated event: nothing new
        usage = Usage(Tokens(input=delta))
        return [
            RequestRecord(f"totals:{self.ctx.session_id}:{total}", self.ctx.session_id, MAIN, ts, "m", usage)
        ]

    @property
    def state(self) -> str | None:
        return json.dumps({"total": self.total})


SEEN_STATES: list[str | None] = []


class Totals(FlatDirSource):
    """A test source: ``<dir>/<session>.jsonl`` of running totals."""

    __slots__ = ()
    name: ClassVar[str] = "test-totals"
    markers: ClassVar[tuple[bytes, ...]] = (b'"total"',)
    tool_markers: ClassVar[tuple[bytes, ...]] = ()
    title: ClassVar[str] = "test"
    doctor_key: ClassVar[str] = "test"
    count_key: ClassVar[str] = "test"
    count_noun: ClassVar[str] = "test"

    @classmethod
    def discover(cls, options: Mapping[str, Any]) -> Totals:
        return cls(())

    @classmethod
    def parser(cls, ctx: FileContext, state: str | None) -> FileParser:
        SEEN_STATES.append(state)
        return _TotalsParser(ctx, state)

    @classmethod
    def project_cwd(cls, project_dir: str) -> str | None:
        return None


def _line(total: int, second: int) -> str:
    return json.dumps({"timestamp": f"2026-11-20T10:00:{second:02d}Z", "total": total}) + "\n"


def test_parser_state_carries_over_reads_and_restarts_and_resets_with_the_file(tmp_path: Path) -> None:
    logs = tmp_path / "totals"
    logs.mkdir()
    log = logs / "t1.jsonl"
    log.write_text(_line(100, 1) + _line(100, 2) + _line(250, 3))  # the repeated 100 is one event
    sources = Sources((Totals((logs,)),))
    db = tmp_path / "i.sqlite3"
    SEEN_STATES.clear()
    index = Index(db)
    index.update(sources)
    [s] = index.sessions()
    assert (s.source, s.requests, s.tokens.input) == ("test-totals", 2, 250)
    index.close()

    # Appended lines, read by another process later: the parser goes on from the total it stopped at.
    with log.open("a") as fh:
        fh.write(_line(400, 4) + '{"total": 4')  # and half a line, not read yet
    index = Index(db)
    index.update(sources)
    [s] = index.sessions()
    assert (s.requests, s.tokens.input) == (3, 400)
    assert SEEN_STATES == [None, json.dumps({"total": 250})]
    with log.open("a") as fh:
        fh.write('50, "timestamp": "2026-11-20T10:00:05Z"}\n')
    index.update(sources)
    assert index.sessions()[0].tokens.input == 450
    assert SEEN_STATES[-1] == json.dumps({"total": 400})

    # Rewritten from the first byte: the state of the old content is not handed over.
    log.write_text(_line(30, 1))
    index.update(sources)
    assert SEEN_STATES[-1] is None
    assert index.sessions(present_only=True)[0].tokens.input == 30
    row = index.conn.execute("SELECT parser_state FROM files WHERE path=?", (str(log),)).fetchone()
    assert row == (json.dumps({"total": 30}),)


class Dated(Totals):
    """Totals filed as ``<dir>/YYYY/MM/DD/<session>.jsonl`` (Codex's layout): new files appear three levels down."""

    __slots__ = ()
    name: ClassVar[str] = "test-dated"

    def iter_files(self) -> Iterator[Path]:
        for d in self.dirs:
            yield from sorted(d.glob("*/*/*/*.jsonl"))

    def is_log(self, path: str) -> bool:
        return path.endswith(".jsonl") and any(Path(path).parents[3] == d for d in self.dirs)

    def poll_dirs(self, root: Path, hot: Collection[str]) -> list[str]:
        return [str(root), *(str(p) for p in sorted(root.glob("*/*/*")) if p.is_dir())]


def test_the_watcher_polls_the_folders_a_source_names(tmp_path: Path) -> None:
    from ctxtop.adapters.watcher import Watcher

    root = tmp_path / "sessions"
    (root / "2026" / "11" / "20").mkdir(parents=True)
    seen: list[set[Path]] = []
    # Poll only (no watchdog): a file three levels down is found only through the source's poll_dirs.
    watcher = Watcher(Sources((Dated((root,)),)), seen.append, poll_interval=0.05, use_observer=False)
    watcher.start()
    try:
        new = root / "2026" / "11" / "20" / "s1.jsonl"
        new.write_text(_line(10, 1))
        (root / "2026" / "11" / "20" / "notes.txt").write_text("not a log\n")
        deadline = time.monotonic() + 10
        while not any(new in batch for batch in seen):
            assert time.monotonic() < deadline, f"{new} not reported; saw {seen}"
            time.sleep(0.05)
    finally:
        watcher.stop()
    assert all(p.suffix == ".jsonl" for batch in seen for p in batch)
