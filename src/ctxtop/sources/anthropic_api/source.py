"""ctxtop's API session logs as a log source: ``<api log dir>/<session>.jsonl``, one line per request."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from ctxtop.adapters import paths
from ctxtop.core.records import FileContext
from ctxtop.sources.anthropic_api.parse import parse_api
from ctxtop.sources.base import FileParser, FlatDirSource, StatelessParser

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, ClassVar

    from ctxtop.core.breakdown import Event


class AnthropicApi(FlatDirSource):
    """The API log dirs in effect (``--api-logs``, ``$CTXTOP_API_LOG_DIR``, ctxtop's log dir)."""

    __slots__ = ()
    name: ClassVar[str] = "api"
    markers: ClassVar[tuple[bytes, ...]] = (b'"api_request"',)
    tool_markers: ClassVar[tuple[bytes, ...]] = ()
    title: ClassVar[str] = "API session logs"
    doctor_key: ClassVar[str] = "api_log_dirs"
    count_key: ClassVar[str] = "logs"
    count_noun: ClassVar[str] = "files"

    @property
    def log_dirs(self) -> tuple[Path, ...]:
        return self.dirs

    @classmethod
    def discover(cls, options: Mapping[str, Any]) -> AnthropicApi:
        logs = options.get("api_logs")
        return cls((Path(logs).expanduser() if logs else paths.api_log_dir(),))

    @classmethod
    def parser(cls, ctx: FileContext, state: str | None) -> FileParser:
        return StatelessParser(parse_api, ctx)

    @staticmethod
    def context_events(lines: Sequence[Any], session_id: str) -> list[Event]:
        """An API session log's decoded lines as breakdown events (``services.context_io``)."""
        from ctxtop.sources.anthropic_api.context import api_events

        return api_events(lines, session_id)

    @classmethod
    def project_cwd(cls, project_dir: str) -> str | None:
        # A log line without a cwd: the session shows its log folder's name, as it always has.
        return project_dir
