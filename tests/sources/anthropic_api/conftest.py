"""Fixtures of the API-log source tests: the local fake Messages API and SDK clients closed after each test."""

from tests.support.fake_api import fake_api  # noqa: F401  (fixture)
from tests.support.sdk import close_clients  # noqa: F401  (autouse fixture)
