"""The registered log sources, and the instances in effect that the index, the watcher and doctor iterate.

A new source is one package under ``sources/`` and one line in ``KINDS``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from ctxtop.sources.anthropic_api.source import AnthropicApi
from ctxtop.sources.base import Source
from ctxtop.sources.claude_code.source import ClaudeCode
from ctxtop.sources.codex.source import Codex

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, TypeVar

    S = TypeVar("S", bound=Source)

KINDS: tuple[type[Source], ...] = (
    ClaudeCode,
    AnthropicApi,
    Codex,
)
"""Every source ctxtop reads, in the order files are indexed (Claude Code transcripts first)."""

_BY_NAME = {k.name: k for k in KINDS}


def kind(name: str | None) -> type[Source] | None:
    """The registered class called ``name`` (the index's files.source / sessions.source values)."""
    return _BY_NAME.get(name) if name else None


@dataclass(frozen=True, slots=True)
class Sources:
    """The sources in effect; built once from CLI options and config and passed everywhere (injectable)."""

    sources: tuple[Source, ...]

    @classmethod
    def discover(cls, options: Mapping[str, Any] | None = None) -> Sources:
        """One instance of every registered source, from ``options`` (CLI/config values by option name)."""
        return cls(tuple(k.discover(options or {}) for k in KINDS))

    def get(self, name: str) -> Source | None:
        """The instance of the source called ``name``, if it is in effect."""
        return next((s for s in self.sources if s.name == name), None)

    def of(self, cls: type[S]) -> S | None:
        """The instance of source class ``cls``, typed (e.g. ``of(ClaudeCode).config_dirs``), if in effect."""
        return next((s for s in self.sources if isinstance(s, cls)), None)

    def roots(self) -> tuple[str, ...]:
        """The directories whose files are this set of sources: what a view is scoped to."""
        return tuple(str(root) for s in self.sources for root in s.roots())

    def iter_files(self) -> Iterator[tuple[Path, Source]]:
        """Every (path, source) to index, source by source, each in a stable order."""
        for source in self.sources:
            for path in source.iter_files():
                yield path, source

    def source_of(self, path: str) -> Source | None:
        """The source whose log ``path`` is (None: no source in effect claims it)."""
        return next((s for s in self.sources if s.is_log(path)), None)
