"""Loading filter rules and the ``[filter]`` config section from disk.

Built-in rules are the TOML files bundled in ``ctxtop/core/filters/rules/``; the user's are
``<config_dir>/filters/*.toml`` (same format, see :mod:`ctxtop.core.filters.ruleset`; a user rule with a
built-in's name replaces it). A broken user file is reported and skipped, never fatal: the filter must keep
working with the rules that did load.

Config keys read (all optional)::

    [filter]
    exclude = ['^make deploy']   # regexes: matching commands are never filtered or wrapped
    min_chars = 1200             # smaller outputs pass unchanged
    max_lines = 300              # generic head/tail elision above this many lines
    head = 100
    tail = 100
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from functools import lru_cache
from importlib import resources
from pathlib import Path

from ctxtop.adapters import paths
from ctxtop.core.filters import Rule, RuleError, RuleSet, Settings, parse_rules


@dataclass(frozen=True, slots=True)
class FilterConfig:
    rules: RuleSet
    settings: Settings = Settings()
    exclude: tuple[re.Pattern[str], ...] = ()
    errors: tuple[str, ...] = field(default=())

    def excluded(self, command: str) -> bool:
        return any(p.search(command) for p in self.exclude)


@lru_cache(maxsize=1)
def builtin_rules() -> tuple[Rule, ...]:
    """The bundled rules; a broken bundled file is a bug, so it raises."""
    out: list[Rule] = []
    folder = resources.files("ctxtop.core.filters") / "rules"
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".toml"):
            out.extend(parse_rules(entry.read_text("utf-8"), f"builtin:{entry.name}"))
    return tuple(out)


def user_rules(folder: Path | None = None) -> tuple[list[Rule], list[str]]:
    folder = folder or paths.config_dir() / "filters"
    rules: list[Rule] = []
    errors: list[str] = []
    try:
        files = sorted(folder.glob("*.toml"))
    except OSError:
        return rules, errors
    for path in files:
        try:
            rules.extend(parse_rules(path.read_text("utf-8"), str(path)))
        except (OSError, UnicodeDecodeError, RuleError) as exc:
            errors.append(str(exc))
    return rules, errors


def load(config_dir: Path | None = None) -> FilterConfig:
    """Rules, limits and exclusions in effect; problems are collected in ``errors``.

    The ``[filter]`` section is read through :class:`ctxtop.adapters.config.Config`, the one config reader,
    so a bad value is reported with the file, key and value, and only that value falls back.
    """
    from ctxtop.adapters.config import Config

    base = config_dir or paths.config_dir()
    extra, errors = user_rules(base / "filters")
    config = Config.load(base / "config.toml")
    errors += config.problems_in("") + config.problems_in("filter")
    settings = Settings()
    for key in ("min_chars", "max_lines", "head", "tail", "context"):
        value = config.get(f"filter.{key}")
        if value is not None:
            settings = replace(settings, **{key: value})
    exclude = [re.compile(pattern) for pattern in config.get("filter.exclude")]
    return FilterConfig(
        rules=RuleSet.merge(list(builtin_rules()), extra),
        settings=settings,
        exclude=tuple(exclude),
        errors=tuple(errors),
    )
