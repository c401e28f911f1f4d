"""Real ``anthropic`` clients for tests against the fake API, closed after each test.

Import ``close_clients`` (an autouse fixture) into the test module, and make clients with ``sync_client``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import anthropic
import pytest

_OPEN: list[anthropic.Anthropic] = []


@pytest.fixture(autouse=True)
def close_clients() -> Iterator[None]:
    yield
    while _OPEN:
        _OPEN.pop().close()


def sync_client(**kw: Any) -> anthropic.Anthropic:
    _OPEN.append(anthropic.Anthropic(**kw))
    return _OPEN[-1]
