"""Shared fixtures: the real corpus (../shared/corpus, written by Claude Code itself) and an isolated world."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO.parent / "shared" / "corpus"


@pytest.fixture(autouse=True)
def isolated_dirs(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Never touch the real ~/.claude or ctxtop's real dirs from a test."""
    root = tmp_path_factory.mktemp("world")
    for name in ("CTXTOP_CONFIG_DIR", "CTXTOP_CACHE_DIR", "CTXTOP_DATA_DIR", "CTXTOP_API_LOG_DIR"):
        monkeypatch.setenv(name, str(root / name.lower()))
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(root / "claude-home"))
    for name in ("CLAUDE_AUTOCOMPACT_PCT_OVERRIDE", "CLAUDE_CODE_AUTO_COMPACT_WINDOW", "DISABLE_AUTO_COMPACT",
                 "DISABLE_COMPACT", "ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    return root


@pytest.fixture
def corpus() -> Path:
    if not CORPUS.is_dir():
        pytest.fail(f"the shared corpus is missing: expected it at {CORPUS}")
    return CORPUS


@pytest.fixture
def corpus_copy(tmp_path: Path, corpus: Path) -> Path:
    """A writable copy of the corpus as one Claude Code config dir (harness + public projects)."""
    dest = tmp_path / "claude"
    shutil.copytree(corpus / "claude", dest)
    shutil.copytree(corpus / "public" / "projects", dest / "projects", dirs_exist_ok=True)
    return dest
