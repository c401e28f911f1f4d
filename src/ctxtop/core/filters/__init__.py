"""Noisy-output filter engine (pure): generic clean-up plus per-tool rules loaded from TOML data.

Use :func:`filter_text` with a :class:`RuleSet`; the bundled rules live in ``rules/*.toml`` beside this
package and are read by ``ctxtop.adapters.filter_rules``, which also adds the user's own.
"""

from __future__ import annotations

from ctxtop.core.filters.engine import MARK, FilterResult, Settings, filter_text, pointer_line, preview
from ctxtop.core.filters.ruleset import Rule, RuleError, RuleSet, parse_rules, simple_commands

__all__ = [
    "MARK",
    "FilterResult",
    "Rule",
    "RuleError",
    "RuleSet",
    "Settings",
    "filter_text",
    "parse_rules",
    "pointer_line",
    "preview",
    "simple_commands",
]
