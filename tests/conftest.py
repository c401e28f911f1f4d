"""Shared fixtures: the transcripts the tests run on and an isolated world.

``claude_fixtures`` is ``tests/fixtures/claude`` (written by the real Claude Code CLI against the fake API;
see ``tests/support/fixtures.py``). ``public_corpus`` is the third-party corpus of real sessions beside the
repository (``../shared/corpus/public``): absent, the tests that need it skip with the reason shown in the
summary, except under CI (``CI=true``), where its absence fails them.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.support.fixtures import FIXTURES, PUBLIC, PUBLIC_MISSING, SHARED


@pytest.fixture(autouse=True)
def isolated_dirs(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Never touch the real ~/.claude or ctxtop's real dirs from a test."""
    root = tmp_path_factory.mktemp("world")
    for name in ("CTXTOP_CONFIG_DIR", "CTXTOP_CACHE_DIR", "CTXTOP_DATA_DIR", "CTXTOP_API_LOG_DIR"):
        monkeypatch.setenv(name, str(root / name.lower()))
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(root / "claude-home"))
    monkeypatch.setenv("CODEX_HOME", str(root / "codex-home"))  # never the real ~/.codex either
    for name in ("CLAUDE_AUTOCOMPACT_PCT_OVERRIDE", "CLAUDE_CODE_AUTO_COMPACT_WINDOW", "DISABLE_AUTO_COMPACT",
                 "DISABLE_COMPACT", "ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    return root


@pytest.fixture
def claude_fixtures() -> Path:
    """The committed Claude Code config dir of our own e2e-harness transcripts (read-only: copy to change)."""
    return FIXTURES


@pytest.fixture
def public_corpus() -> Path:
    """``../shared/corpus/public``; skips when absent, but fails under CI, which must run these tests."""
    if not PUBLIC.is_dir():
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but the corpus is missing: {PUBLIC_MISSING}")
        pytest.skip(PUBLIC_MISSING)
    return PUBLIC


@pytest.fixture
def corpus() -> Path:
    """The whole shared corpus (``../shared/corpus``: its ``claude`` sessions and the public ones), for tests
    written against it before the fixtures existed; skips when absent, fails under CI. New tests take
    ``claude_fixtures`` (in the repository) and ``public_corpus`` instead."""
    if not (SHARED / "claude").is_dir() or not (SHARED / "public").is_dir():
        missing = f"needs the shared corpus at {SHARED} (not shipped in the repo)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but {missing}")
        pytest.skip(missing)
    return SHARED
