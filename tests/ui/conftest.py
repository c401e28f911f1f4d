"""Fixtures for the TUI tests: a temporary world (config, cache, data dirs, a copy of tests/fixtures), a fixed
clock and theme, and helpers that wait for the app's messages instead of sleeping."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from ctxtop.adapters.config import Config
from ctxtop.services.monitor import Monitor
from tests.support.fixtures import FIXTURES, last_activity

FIXED_NOW = float(int(last_activity()) // 60 * 60 + 1800)
"""Half an hour after the fixture sessions' last activity (a whole minute, so clocks render alike)."""


@pytest.fixture(autouse=True)
def utc(monkeypatch: pytest.MonkeyPatch):
    # Days and clock times are local: pin the zone so every machine renders the same screen.
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


class World:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.claude = root / "claude"
        self.config_dir = root / "config"
        self.cache_dir = root / "cache"
        self.data_dir = root / "data"
        self.api_logs = root / "api-logs"
        for d in (self.config_dir, self.cache_dir, self.data_dir, self.api_logs):
            d.mkdir(parents=True, exist_ok=True)

    @property
    def env(self) -> dict[str, str]:
        return {
            "CTXTOP_CONFIG_DIR": str(self.config_dir),
            "CTXTOP_CACHE_DIR": str(self.cache_dir),
            "CTXTOP_DATA_DIR": str(self.data_dir),
            "CTXTOP_API_LOG_DIR": str(self.api_logs),
            "TZ": "UTC",
        }

    def factory(self) -> Callable[[Config], Monitor]:
        def make(config: Config) -> Monitor:
            return Monitor.open([str(self.claude)], str(self.api_logs), str(self.cache_dir), config)

        return make

    def app(self, *, watch: bool = False, clock: Callable[[], float] = lambda: FIXED_NOW, **engine):  # type: ignore[no-untyped-def]
        from ctxtop.ui.app import CtxtopApp

        options = {"poll_interval": 0.2, "live_interval": 0.5, **engine}
        return CtxtopApp(self.factory(), config_dir=self.config_dir, clock=clock, watch=watch,
                         theme="ctxtop-dark", claude_dirs=[str(self.claude)], engine_options=options)  # fmt: skip

    def write_config(self, text: str) -> None:
        (self.config_dir / "config.toml").write_text(text)


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> World:
    w = World(tmp_path)
    shutil.copytree(FIXTURES, w.claude)
    for key, value in w.env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(w.claude))
    return w


async def wait_for(pilot, predicate: Callable[[], bool], timeout: float = 10.0, step: float = 0.02) -> None:  # type: ignore[no-untyped-def]
    """Let the app run until ``predicate()`` holds (the app posts messages; we poll for their effect)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for the app")
        await pilot.pause(step)


async def loaded(pilot, app, sessions: int = 1) -> None:  # type: ignore[no-untyped-def]
    """Wait for the engine's first full batch with at least ``sessions`` sessions."""
    await wait_for(pilot, lambda: len(app.views) >= sessions)
    await pilot.pause()
