"""ctxtop's own settings: a TOML file in the platformdirs config dir, validated at the edge.

Unknown keys are kept on save; a broken file is reported (``Config.problems``) and defaults are used, so a
typo never stops ctxtop from starting. Writes are atomic (tomli-w + ``write_atomic``).
"""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass, field
from pathlib import Path

from ctxtop.adapters import paths
from ctxtop.adapters.atomic import write_atomic

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: importing typing costs the statusline ~5 ms
if TYPE_CHECKING:
    from typing import Any


@dataclass(frozen=True, slots=True)
class Setting:
    """One user-facing setting: the schema the settings screen is built from."""

    key: str
    """Dotted path in the TOML, e.g. "compaction.threshold"."""
    title: str
    kind: str
    """"int", "float", "str", "bool", "choice" or "paths"."""
    default: Any
    help: str = ""
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None


SCHEMA: tuple[Setting, ...] = (
    Setting("compaction.threshold", "Compaction threshold (% of window)", "float", 60.0,
            "ctxtop alerts here and `ctxtop claude install` makes Claude Code compact here.", minimum=5, maximum=95),
    Setting("budgets.session_usd", "Session budget (USD, 0 = none)", "float", 0.0,
            "Alert at 70% and 100% of it.", minimum=0),
    Setting("budgets.daily_usd", "Daily budget (USD, 0 = none)", "float", 0.0,
            "Alert at 70% and 100% of today's spend.", minimum=0),
    Setting("alerts.cache_expiry_usd", "Alert on a cache expiry costing more than (USD)", "float", 0.5,
            "A cache that expired during an idle gap is re-written at full price.", minimum=0),
    Setting("ui.active_hours", "Active-session window (hours)", "float", 12.0,
            "The dashboard lists sessions active in the last N hours.", minimum=0.1, maximum=24 * 365),
    Setting("ui.theme", "Theme", "choice", "ctxtop-dark", "Any theme from themes/ or your config dir."),
    Setting("sources.claude_dirs", "Claude Code config dirs", "paths", [],
            "Empty: $CLAUDE_CONFIG_DIR, else ~/.claude and ~/.config/claude."),
    Setting("sources.api_logs", "API session log dir", "str", "", "Empty: ctxtop's default log dir."),
)  # fmt: skip

BY_KEY = {s.key: s for s in SCHEMA}


def _get(data: dict[str, Any], dotted: str) -> Any:
    node: Any = data
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def coerce(setting: Setting, value: Any) -> Any:
    """Validate one value against its schema entry; raises ValueError with a message for people."""
    if setting.kind in ("int", "float"):
        if isinstance(value, bool):
            raise ValueError(f"{setting.title}: expected a number")
        try:
            number = float(value) if setting.kind == "float" else int(value)
        except (TypeError, ValueError):
            raise ValueError(f"{setting.title}: {value!r} is not a number") from None
        if setting.minimum is not None and number < setting.minimum:
            raise ValueError(f"{setting.title}: must be at least {setting.minimum:g}")
        if setting.maximum is not None and number > setting.maximum:
            raise ValueError(f"{setting.title}: must be at most {setting.maximum:g}")
        return number
    if setting.kind == "bool":
        if not isinstance(value, bool):
            raise ValueError(f"{setting.title}: expected true or false")
        return value
    if setting.kind == "paths":
        if isinstance(value, str):
            value = [p.strip() for p in value.split(",") if p.strip()]
        if not isinstance(value, list) or not all(isinstance(p, str) for p in value):
            raise ValueError(f"{setting.title}: expected a list of paths")
        return value
    if not isinstance(value, str):
        raise ValueError(f"{setting.title}: expected text")
    return value


@dataclass
class Config:
    data: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None
    problems: list[str] = field(default_factory=list)
    unreadable: bool = False
    """The file exists but could not be read or parsed: saving would destroy it, so ``save`` refuses."""

    @classmethod
    def load(cls, path: Path | None = None) -> Config:
        path = path or paths.config_file()
        config = cls(path=path)
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return config
        except OSError as exc:
            config.problems.append(f"{path}: {exc}")
            config.unreadable = True
            return config
        import tomllib  # only when there is a file: it compiles a dozen regexes on import

        try:
            config.data = tomllib.loads(raw.decode("utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            config.problems.append(f"{path}: not valid TOML ({exc}); using defaults until it is fixed")
            config.unreadable = True
            return config
        for setting in SCHEMA:
            value = _get(config.data, setting.key)
            if value is not None:
                try:
                    coerce(setting, value)
                except ValueError as exc:
                    config.problems.append(f"{path}: {exc}; using {setting.default!r}")
        return config

    def get(self, key: str) -> Any:
        setting = BY_KEY.get(key)
        value = _get(self.data, key)
        if setting is None:
            return value
        if value is None:
            return copy.deepcopy(setting.default)
        try:
            return coerce(setting, value)
        except ValueError:
            return copy.deepcopy(setting.default)

    def set(self, key: str, value: Any) -> None:
        """Validate and set (not saved until ``save``)."""
        setting = BY_KEY.get(key)
        if setting is not None:
            value = coerce(setting, value)
        node = self.data
        parts = key.split(".")
        for part in parts[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                child = node[part] = {}
            node = child
        node[parts[-1]] = value

    def save(self) -> Path:
        """Write the TOML atomically; the first write over an existing file keeps ``config.toml.bak``.

        Raises OSError when the file on disk could not be read at load time: overwriting it would lose
        everything in it (the settings stay applied for this run).
        """
        import shutil

        import tomli_w

        path = self.path or paths.config_file()
        if self.unreadable:
            raise OSError(f"{path} could not be read, so it was not overwritten; fix it and restart ctxtop")
        paths.ensure_private_dir(path.parent)
        backup = path.with_name(path.name + ".bak")
        if path.exists() and not backup.exists():
            # tomli-w cannot keep comments: the user's hand-written original stays recoverable.
            shutil.copy2(path, backup)
            os.chmod(backup, 0o600)
        write_atomic(path, tomli_w.dumps(self.data), mode=0o600)
        return path

    @property
    def threshold(self) -> float:
        return float(self.get("compaction.threshold"))

    @property
    def window_overrides(self) -> dict[str, int]:
        """``[windows]`` table: model-id prefix -> context window."""
        table = self.data.get("windows")
        if not isinstance(table, dict):
            return {}
        return {
            str(k): int(v)
            for k, v in table.items()
            if isinstance(v, int) and not isinstance(v, bool) and v > 0
        }

    @property
    def price_overrides(self) -> dict[str, dict[str, Any]]:
        table = self.data.get("prices")
        if not isinstance(table, dict):
            return {}
        return {str(k): v for k, v in table.items() if isinstance(v, dict)}
