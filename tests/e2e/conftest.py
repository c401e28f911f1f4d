"""Fixtures for the end-to-end tests: the fake Messages API and a scratch Claude Code install.

Every test here is marked ``e2e`` and fails (never skips) when the pinned npm tools are missing, unless
``CTXTOP_SKIP_E2E=1`` is set. Install them with ``npm ci --prefix tests/e2e``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.support.claude_cli import CLAUDE_VERSION, ClaudeCLI
from tests.support.fake_api import FakeAPI, fake_api  # noqa: F401  (fixture)

_HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    skip = os.environ.get("CTXTOP_SKIP_E2E") == "1"
    for item in items:
        if _HERE not in Path(str(item.fspath)).resolve().parents:
            continue
        # Only the tests that need the npm tools are e2e; the fake API's own tests always run.
        needs_npm = "claude" in getattr(item, "fixturenames", ()) or "ccusage" in item.nodeid
        if needs_npm:
            item.add_marker(pytest.mark.e2e)
            if skip:
                item.add_marker(pytest.mark.skip(reason="CTXTOP_SKIP_E2E=1"))


@pytest.fixture
def claude(request: pytest.FixtureRequest, tmp_path: Path, fake_api: FakeAPI) -> ClaudeCLI:  # noqa: F811
    """A scratch HOME, config dir and project for the real ``claude`` binary, wired to ``fake_api``.

    The pinned default version, or the one given by ``parametrize("claude", CLAUDE_VERSIONS, indirect=True)``.
    """
    version = getattr(request, "param", CLAUDE_VERSION)
    return ClaudeCLI(tmp_path, fake_api, version=version)
