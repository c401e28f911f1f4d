"""Ownership follows the surviving copies, and what Claude Code deleted stays in the history, archived.

The property: after any sequence of appends, copies (forks), truncations, replacements and deletions, the
warm index's present requests equal a cold index of the files still present, request for request, and its
archived requests are exactly the others it ever saw (nothing lost, nothing counted twice).

The repository's fixtures (``claude_fixtures``) serve, except for the repro that needs a session with
subagent files: that one reads the public corpus (``public_corpus``).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ctxtop.adapters.index import Index
from ctxtop.core.records import RequestRecord
from ctxtop.sources.claude_code.source import ClaudeCode
from ctxtop.sources.claude_code.transcript import parse_claude
from ctxtop.sources.registry import Sources
from tests.support.fixtures import scenario

SPOTTER_DIR = "-home-USER-projects-spotter-worktrees-spotter-dov"
SPOTTER = "4d5611e5-241a-462a-8d15-5122611a9569"
REFACTOR = scenario("refactor")
LONG = scenario("long")

# The files an example may touch: two sessions of one project and a subagent of the first.
PATHS = ("p/a.jsonl", "p/b.jsonl", "p/a/subagents/agent-x.jsonl")


def _requests(index: Index, archived: int | None = None) -> dict[str, tuple]:
    """Every request row as it counts (owner, chain, time, model, the largest copy's tokens)."""
    sql = "SELECT key, session_id, chain, ts, model, i, o, cr, w5, w1, bi, bo, bcr, bw5, bw1 FROM requests"
    rows = index.conn.execute(sql + ("" if archived is None else f" WHERE archived={archived}"))
    return {r[0]: r[1:] for r in rows}


def _cold(root: Path, db: Path) -> Index:
    if db.exists():
        db.unlink()
    cold = Index(db)
    cold.update(Sources((ClaudeCode((root,)),)))
    return cold


def _keys_of(lines: list[bytes]) -> list[set[str]]:
    ctx = ClaudeCode.context_for(Path("/x/p/s.jsonl"))
    out = []
    for raw in lines:
        import json

        facts = parse_claude(json.loads(raw), ctx, "x") if raw.strip() else []
        out.append({f.key for f in facts if isinstance(f, RequestRecord)})
    return out


def _write(path: Path, data: bytes) -> None:
    """A new inode with ``data`` (how a rewrite or a fork lands), or the file removed when data is None."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


# One step: (op, file, a, b); a and b pick lines or a cut, scaled to what exists.
STEP = st.tuples(
    st.sampled_from(["append", "append", "copy", "truncate", "replace", "delete", "update"]),
    st.integers(0, len(PATHS) - 1),
    st.integers(0, 10_000),
    st.integers(1, 12),
)


@settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=st.lists(STEP, min_size=1, max_size=14))
# Two sessions holding the same requests, both replaced in one update: the second, read again from the start
# because the first sent it requests, used to keep what only its old content held.
@example(steps=[("append", 0, 3, 3), ("append", 1, 3, 6), ("update", 0, 0, 1), ("copy", 1, 0, 1),
                ("copy", 0, 0, 1)])  # fmt: skip
# ... and one truncated, the other replaced: a request both had lost used to vanish instead of being archived.
@example(steps=[("append", 0, 3, 3), ("append", 1, 3, 3), ("update", 0, 0, 1), ("truncate", 0, 0, 1),
                ("copy", 1, 0, 1)])  # fmt: skip
def test_warm_index_equals_cold_index_of_files_present(tmp_path: Path, steps) -> None:
    lines = REFACTOR.path.read_bytes().splitlines()
    keys = _keys_of(lines)
    world = tmp_path / f"w{abs(hash(tuple(steps))) % 10**9}"
    root = world / "claude"
    projects = root / "projects"
    sources = Sources((ClaudeCode((root,)),))
    content: dict[str, list[int]] = {}  # file -> indexes of its lines, in order (times only grow)
    warm = Index(world / "warm.sqlite3")
    seen: set[str] = set()

    def update() -> None:
        warm.update(sources)
        for idx in content.values():
            for i in idx:
                seen.update(keys[i])

    for op, f, a, b in steps:
        name = PATHS[f]
        path = projects / name
        idx = content.get(name)
        if op == "append":
            start = (idx[-1] + 1 + a % 3) if idx else a % len(lines)
            new = list(range(start, min(start + b, len(lines))))
            if not new:
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "ab") as fh:
                fh.write(b"".join(lines[i] + b"\n" for i in new))
            content[name] = (idx or []) + new
        elif op == "copy":
            others = [n for n in content if n != name]
            if not others:
                continue
            src = others[a % len(others)]
            _write(path, (projects / src).read_bytes())
            content[name] = list(content[src])
        elif op == "truncate" and idx:
            keep = a % len(idx)
            with open(path, "r+b") as fh:
                fh.truncate(sum(len(lines[i]) + 1 for i in idx[:keep]))
            content[name] = idx[:keep]
        elif op == "replace":
            start = a % len(lines)
            new = list(range(start, min(start + b, len(lines))))
            _write(path, b"".join(lines[i] + b"\n" for i in new))
            content[name] = new
        elif op == "delete" and idx is not None:
            path.unlink()
            del content[name]
        elif op == "update":
            update()
    update()
    cold = _cold(root, world / "cold.sqlite3")
    present = _requests(cold)
    assert _requests(warm, archived=0) == present
    archived = _requests(warm, archived=1)
    assert set(archived) == seen - set(present)
    # And the cached session totals agree: present part equal to cold, the rest is the archive.
    got = {s.session_id: (s.tokens, s.requests) for s in warm.sessions(present_only=True)}
    assert got == {s.session_id: (s.tokens, s.requests) for s in cold.sessions()}
    assert sum(s.requests for s in warm.sessions()) == len(present) + len(archived)
    warm.close()
    cold.close()


def test_deleting_a_forked_copy_gives_its_requests_back_to_the_original(tmp_path: Path) -> None:
    # The first repro: a fork (a copy of the session's lines under another name, sorting first, so it
    # owned them), then the fork is deleted. Before: the warm index still showed the fork's session and left
    # the original with the requests after the fork point only. The fork's records name the fork (a copy that
    # kept the original's sessionId would not own them: the named file wins at the same instant).
    root = tmp_path / "claude"
    proj = root / "projects" / REFACTOR.project_dir
    proj.mkdir(parents=True)
    original = proj / f"{REFACTOR.session_id}.jsonl"
    shutil.copy(REFACTOR.path, original)
    fork = proj / "00000000-fork-4000-8000-000000000000.jsonl"
    raw = original.read_bytes()
    head = raw[: raw.index(b"\n", len(raw) * 2 // 3) + 1]
    fork.write_bytes(head.replace(REFACTOR.session_id.encode(), fork.stem.encode()))
    sources = Sources((ClaudeCode((root,)),))
    warm = Index(tmp_path / "warm.sqlite3")
    warm.update(sources)
    assert {s.session_id for s in warm.sessions()} == {REFACTOR.session_id, fork.stem}
    fork.unlink()
    warm.update(sources)
    cold = _cold(root, tmp_path / "cold.sqlite3")
    [want] = cold.sessions()
    [got] = warm.sessions()  # no archived leftovers: every request the fork held is in the original
    assert (got.session_id, got.requests, got.tokens, got.cost_usd, got.context_tokens) == (
        want.session_id, want.requests, want.tokens, want.cost_usd, want.context_tokens,
    )  # fmt: skip
    assert got.archived_requests == 0 and not got.transcript_deleted


def test_deleting_a_main_file_and_a_subagent_archives_what_only_they_held(
    tmp_path: Path, public_corpus: Path
) -> None:
    # The second repro: the spotter session's main file and one subagent file deleted, the compaction
    # agent's file left. Cold over what is present: one request. Warm: the same present part, and the rest
    # kept as archived (the session is marked as having lost its transcript).
    root = tmp_path / "claude"
    shutil.copytree(public_corpus / "projects", root / "projects")
    sources = Sources((ClaudeCode((root,)),))
    warm = Index(tmp_path / "warm.sqlite3")
    warm.update(sources)
    [before] = warm.sessions(ids=[SPOTTER])
    main = root / "projects" / SPOTTER_DIR / f"{SPOTTER}.jsonl"
    main.unlink()
    (main.with_suffix("") / "subagents" / "agent-a2898e3.jsonl").unlink()
    warm.update(sources)
    cold = _cold(root, tmp_path / "cold.sqlite3")
    [cold_spotter] = cold.sessions(ids=[SPOTTER])
    [present] = warm.sessions(ids=[SPOTTER], present_only=True)
    assert (present.requests, present.tokens, present.cost_usd) == (
        cold_spotter.requests, cold_spotter.tokens, cold_spotter.cost_usd,
    )  # fmt: skip
    assert present.requests == 1 and present.transcript_deleted == cold_spotter.transcript_deleted is True
    [kept] = warm.sessions(ids=[SPOTTER])
    assert (kept.requests, kept.tokens, kept.cost_usd) == (before.requests, before.tokens, before.cost_usd)
    assert kept.transcript_deleted and kept.archived_requests == before.requests - 1
    assert warm.archived() == (1, before.requests - 1)
    # The files came back (a restore from backup): they are read again and nothing is archived any more.
    shutil.copy(public_corpus / "projects" / SPOTTER_DIR / main.name, main)
    shutil.copy(
        public_corpus / "projects" / SPOTTER_DIR / SPOTTER / "subagents" / "agent-a2898e3.jsonl",
        main.with_suffix("") / "subagents" / "agent-a2898e3.jsonl",
    )
    warm.update(sources)
    [back] = warm.sessions(ids=[SPOTTER])
    assert (back.requests, back.tokens, back.archived_requests, back.transcript_deleted) == (
        before.requests, before.tokens, 0, False,
    )  # fmt: skip


def test_an_index_from_the_previous_schema_keeps_what_only_it_held(
    tmp_path: Path, claude_fixtures: Path
) -> None:
    # A schema-5 index never dropped requests of deleted files: upgrading must keep them (as archived), not
    # rebuild from the transcripts that are left.
    import sqlite3

    root = tmp_path / "claude"
    shutil.copytree(claude_fixtures, root)
    sources = Sources((ClaudeCode((root,)),))
    db = tmp_path / "i.sqlite3"
    index = Index(db)
    index.update(sources)
    [before] = index.sessions(ids=[LONG.session_id])
    index.close()
    # Turn the file into what schema 5 wrote: no copies, no session files, no archive columns.
    conn = sqlite3.connect(db)
    for table in ("copies", "session_files"):
        conn.execute(f"DROP TABLE {table}")
    conn.execute("DROP INDEX requests_archived")  # (on the archive column)
    for table, column in (("files", "gone"), ("requests", "archived"), ("sessions", "archived"),
                          ("sessions", "deleted")):  # fmt: skip
        conn.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
    conn.execute("UPDATE meta SET value='5' WHERE key='schema'")
    conn.commit()
    conn.close()
    shutil.rmtree(root / "projects" / LONG.project_dir)
    upgraded = Index(db)
    upgraded.update(sources)
    [kept] = upgraded.sessions(ids=[LONG.session_id])
    assert (kept.requests, kept.tokens, kept.cost_usd) == (before.requests, before.tokens, before.cost_usd)
    assert kept.transcript_deleted and kept.archived_requests == before.requests
    assert not upgraded.sessions(ids=[LONG.session_id], present_only=True)
    assert len(upgraded.sessions(present_only=True)) == 2  # the other sessions, read from their files
    assert upgraded.update(sources).files_read == 0
