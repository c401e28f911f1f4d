"""ctxtop's own settings: one TOML file in the platformdirs config dir, read by this module only.

Every section and key ctxtop understands is in ``SCHEMA`` (single settings) or ``TABLES`` (tables keyed by a
model-id prefix), each with one valid range. The CLI, the TUI, ``claude install``, the statusline and the
filter hooks all read through :class:`Config`, so they always agree on a value.

A value that is not understood (wrong type, out of range, unknown key, broken TOML) is reported once in
``Config.problems`` naming the file, the key and the value; the default is used for that key only and
everything else keeps working. The file is written only when the user changes a setting, and then only the
changed keys are edited in place (tomlkit): comments, layout and keys ctxtop does not know are kept.
"""

from __future__ import annotations

import copy
import json
import math
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

from ctxtop.adapters import paths
from ctxtop.adapters.atomic import write_atomic
from ctxtop.core.compaction import THRESHOLD_MAX, THRESHOLD_MIN

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: importing typing costs the statusline ~5 ms
if TYPE_CHECKING:
    from collections.abc import Collection, Iterable
    from typing import Any


@dataclass(frozen=True, slots=True)
class Setting:
    """One setting: the schema the reader validates with and the settings screen is built from."""

    key: str
    """Dotted path in the TOML, e.g. "compaction.threshold" (table ``[compaction]``, key ``threshold``)."""
    title: str
    kind: str
    """"int", "float", "str", "bool", "choice", "paths" or "patterns" (a list of regular expressions)."""
    default: Any
    """None: the consumer's own built-in value applies (the filter limits live in ``core.filters``)."""
    help: str = ""
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    screen: bool = True
    """Shown on the TUI's settings screen (the filter's limits are edited in the file only)."""


@dataclass(frozen=True, slots=True)
class Table:
    """A table whose keys the user names (model-id prefixes), one rule for every entry."""

    name: str
    help: str


_BUDGET_TITLES = {
    "request": "Request",
    "session": "Session",
    "daily": "Daily",
    "weekly": "Weekly",
    "monthly": "Monthly",
}


_FIRST_BUDGETS = ("session_usd", "session_usd_hard", "daily_usd", "daily_usd_hard")
"""Shown where the settings screen always had its budgets; the other levels follow the other settings."""


def _budget_settings(first: bool) -> tuple[Setting, ...]:
    """``[budgets]``: per level and unit a budget and a hard limit (0 = none), the alert share, the compaction
    request near a session's hard limit."""
    from ctxtop.core import budgets as core_budgets

    out = []
    for level, unit, hard in core_budgets.keys():
        key = core_budgets.config_key(level, unit, hard)
        if (key in _FIRST_BUDGETS) != first:
            continue
        stem = core_budgets.CONFIG_NAMES[level]
        what = "prompt tokens" if level == "request" else ("USD" if unit == "usd" else "tokens")
        if hard:
            title = f"{_BUDGET_TITLES[stem]} hard limit ({what}, 0 = none)"
            text = "`claude install --enforce-budgets` holds back new prompts past it; ctxtop.api raises BudgetExceeded."
        else:
            title = f"{_BUDGET_TITLES[stem]} budget ({what}, 0 = none)"
            text = "Alert at the alert share and at 100%."
        kind = "float" if unit == "usd" else "int"
        out.append(Setting(f"budgets.{key}", title, kind, 0.0 if unit == "usd" else 0, text, minimum=0))
    if not first:
        out += [
            Setting(
                "budgets.soft_pct",
                "Budget alert at (% of a budget)",
                "float",
                core_budgets.DEFAULT_SOFT_PCT,
                "Every budget alerts at this share, and again at 100%.",
                minimum=1,
                maximum=100,
            ),
            Setting(
                "budgets.enforce_compact",
                "Near a session's hard limit, ask to compact first",
                "choice",
                "off",
                "With `claude install --enforce-budgets`: once per session, past the alert share of "
                "its hard limit, the prompt is held back with a request to /compact.",
                choices=("off", "on"),
            ),
        ]
    return tuple(out)


SCHEMA: tuple[Setting, ...] = (
    Setting("compaction.threshold", "Compaction threshold (% of window)", "float", 60.0,
            "ctxtop alerts here and `ctxtop claude install` makes Claude Code compact here.",
            minimum=THRESHOLD_MIN, maximum=THRESHOLD_MAX),
    *_budget_settings(first=True),
    Setting("alerts.cache_expiry_usd", "Alert on a cache expiry costing more than (USD)", "float", 0.5,
            "A cache that expired during an idle gap is re-written at full price.", minimum=0),
    Setting("limits.warn_pct", "Plan-limit alert (% used)", "float", 70.0,
            "report limits, the statusline and the TUI alert on a five-hour or weekly limit past this.", minimum=1, maximum=100,
            screen=False),
    Setting("limits.high_pct", "Plan-limit second alert (% used)", "float", 90.0,
            "A second, louder alert; 100% always alerts.", minimum=1, maximum=100, screen=False),
    Setting("alerts.bell", "Ring the terminal bell on an alert", "choice", "off",
            "Alerts also stay in a banner on the dashboard until you acknowledge them (a).",
            choices=("off", "on")),
    Setting("statusline.breakdown", "Statusline: what fills most of the window", "choice", "off",
            "On: the status line adds the largest category of the context (e.g. `Read 31%`).",
            choices=("off", "on"), screen=False),
    Setting("ui.active_hours", "Active-session window (hours)", "float", 12.0,
            "The dashboard lists sessions active in the last N hours.", minimum=0.1, maximum=24 * 365),
    Setting("ui.theme", "Theme", "choice", "ctxtop-dark", "Any theme from themes/ or your config dir."),
    Setting("sources.claude_dirs", "Claude Code config dirs", "paths", [],
            "Empty: $CLAUDE_CONFIG_DIR, else ~/.claude and ~/.config/claude."),
    Setting("sources.api_logs", "API session log dir", "str", "", "Empty: ctxtop's default log dir."),
    Setting("sources.codex_dirs", "Codex CLI homes", "paths", [], "Empty: $CODEX_HOME, else ~/.codex."),
    *_budget_settings(first=False),
    Setting("anomalies.day_pct", "Day-spike alert (% above the 7-day average)", "float", 30.0,
            "A day's spend this far above the average of the seven days before it.", minimum=1, screen=False),
    Setting("anomalies.request_factor", "Request-outlier alert (× the session's median)", "float", 3.0,
            "A request whose prompt or cost is this many times the median of the session's recent requests "
            "(0 = off).", minimum=0, screen=False),
    Setting("anomalies.request_prompt_tokens", "Request-outlier ceiling (prompt tokens, 0 = none)", "int", 0,
            "Any request with a larger prompt.", minimum=0, screen=False),
    Setting("anomalies.request_usd", "Request-outlier ceiling (USD, 0 = none)", "float", 0.0,
            "Any request costing more.", minimum=0, screen=False),
    Setting("anomalies.cache_drop_pct", "Cache-drop alert (points below the usual hit rate)", "float", 50.0,
            "A request whose cache hit rate falls this many points below the session's recent median "
            "(0 = off).", minimum=0, maximum=100, screen=False),
    Setting("anomalies.reread_pct", "Re-read alert (% of a session's input)", "float", 95.0,
            "A session re-reading more than this share of its input (0 = off).", minimum=0, maximum=100,
            screen=False),
    Setting("filter.exclude", "Commands never filtered or wrapped", "patterns", [],
            "Regular expressions matched against the Bash command.", screen=False),
    Setting("filter.min_chars", "Filter outputs from this many characters", "int", None,
            "Smaller outputs pass unchanged (built-in: 1200).", minimum=0, screen=False),
    Setting("filter.max_lines", "Elide the middle above this many lines", "int", None,
            "Built-in: 300.", minimum=0, screen=False),
    Setting("filter.head", "Lines kept at the start when eliding", "int", None,
            "Built-in: 100.", minimum=0, screen=False),
    Setting("filter.tail", "Lines kept at the end when eliding", "int", None,
            "Built-in: 100.", minimum=0, screen=False),
    Setting("filter.context", "Lines kept around an important line", "int", None,
            "Built-in: 2.", minimum=0, screen=False),
    Setting("export.endpoint", "OTLP receiver (base URL)", "str", "",
            "ctxtop export otlp sends here (/v1/traces, /v1/metrics); empty: $OTEL_EXPORTER_OTLP_ENDPOINT, "
            "else http://localhost:4318.", screen=False),
    Setting("export.headers", "OTLP headers (k=v,k2=v2)", "str", "",
            "Sent with every export, e.g. an API key; $OTEL_EXPORTER_OTLP_HEADERS adds to them.", screen=False),
    Setting("export.user", "User label of exported usage", "str", "", "Empty: your login name.",
            screen=False),
    Setting("export.team", "Team label of exported usage", "str", "", "A resource attribute (ctxtop.team).",
            screen=False),
    Setting("export.project", "Project label of exported usage", "str", "",
            "A resource attribute (ctxtop.project; Phoenix files the spans under this project).", screen=False),
    Setting("export.redact_paths", "Export project paths hashed", "choice", "off",
            "on: ctxtop.project.path is a digest of the path.", choices=("off", "on"), screen=False),
    Setting("export.include_content", "Export response text", "choice", "off",
            "on: spans carry the response text (off: token counts and costs only).", choices=("off", "on"),
            screen=False),
    Setting("export.metrics", "Export per-session and per-day metrics", "choice", "on",
            "off: spans only.", choices=("on", "off"), screen=False),
    Setting("export.timeout", "OTLP call timeout (seconds)", "float", 10.0,
            "Each export call, the SDK's own retries included; a batch is tried 3 times.", minimum=0.5,
            maximum=300, screen=False),
    Setting("export.tui", "Export to the OTLP receiver while the TUI runs", "choice", "off",
            "A background thread sends what the TUI indexes to [export] endpoint (applies at the next start).",
            choices=("off", "on"), screen=False),
)  # fmt: skip

BY_KEY = {s.key: s for s in SCHEMA}
_SAVING = threading.Lock()

WINDOW_MIN = 1_000
WINDOW_MAX = 100_000_000
PRICE_FIELDS = ("input", "output", "cache_read", "cache_write_5m", "cache_write_1h", "web_search")
"""``[prices."prefix"]``: USD per million tokens (web_search: per thousand requests); input and output required."""

TABLES: tuple[Table, ...] = (
    Table("windows", f"model-id prefix = context window in tokens ({WINDOW_MIN:,} to {WINDOW_MAX:,})"),
    Table("prices", "[prices.\"model-id prefix\"] input, output (required), cache_read, cache_write_5m, "
                    "cache_write_1h, web_search: USD per million tokens, 0 or more"),
)  # fmt: skip

SECTIONS = {s.key.split(".")[0] for s in SCHEMA} | {t.name for t in TABLES}


def toml_value(value: Any) -> str:
    """A value as it would appear in the TOML file, for messages."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + "}"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _number(value: Any, kind: str) -> float | int:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError("expected a number")
    try:
        number = float(value)
    except ValueError:
        raise ValueError("not a number") from None
    if not math.isfinite(number):
        raise ValueError("not a finite number")
    if kind == "int":
        if number != int(number):
            raise ValueError("expected a whole number")
        return int(number)
    return number


def _num(x: float) -> str:
    return f"{int(x):,}" if x == int(x) else f"{x:g}"


def _range_text(setting: Setting) -> str:
    lo, hi = setting.minimum, setting.maximum
    if lo is not None and hi is not None:
        return f"must be between {_num(lo)} and {_num(hi)}"
    return f"must be at least {_num(lo)}" if lo is not None else f"must be at most {_num(hi or 0)}"


def check(setting: Setting, value: Any) -> Any:
    """The value as ctxtop uses it; raises ValueError with the reason, for people, without the key."""
    if setting.kind in ("int", "float"):
        number = _number(value, setting.kind)
        if (setting.minimum is not None and number < setting.minimum) or (
            setting.maximum is not None and number > setting.maximum
        ):
            raise ValueError(_range_text(setting))
        return number
    if setting.kind == "bool":
        if not isinstance(value, bool):
            raise ValueError("expected true or false")
        return value
    if setting.kind in ("paths", "patterns"):
        if isinstance(value, str) and setting.kind == "paths":
            value = [p.strip() for p in value.split(",") if p.strip()]
        if not isinstance(value, list) or not all(isinstance(p, str) for p in value):
            raise ValueError("expected a list of text")
        if setting.kind == "patterns":
            bad = [f"{json.dumps(p)} ({error})" for p in value if (error := _regex_error(p))]
            if bad:
                raise ValueError(f"not a regular expression: {', '.join(bad)}")
        return list(value)
    if not isinstance(value, str):
        raise ValueError("expected text")
    if setting.choices and value not in setting.choices:
        raise ValueError(f"expected one of {', '.join(setting.choices)}")
    return value


def _regex_error(pattern: str) -> str | None:
    import re

    try:
        re.compile(pattern)
    except re.error as exc:
        return str(exc)
    return None


def coerce(setting: Setting, value: Any) -> Any:
    """Validate one value typed by the user; the ValueError names the setting (the settings screen shows it)."""
    try:
        return check(setting, value)
    except ValueError as exc:
        raise ValueError(f"{setting.title}: {exc}") from None


def check_window(value: Any) -> int:
    """One ``[windows]`` entry: a whole number of tokens in [WINDOW_MIN, WINDOW_MAX]."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("expected a whole number of tokens")
    if not WINDOW_MIN <= value <= WINDOW_MAX:
        raise ValueError(f"must be between {WINDOW_MIN:,} and {WINDOW_MAX:,} tokens")
    return value


class FieldError(ValueError):
    """A bad field inside a table entry (``[prices."x"] input``)."""

    def __init__(self, name: str, value: Any, reason: str) -> None:
        super().__init__(reason)
        self.name, self.value = name, value


def check_prices(entry: Any) -> dict[str, Any]:
    """One ``[prices."prefix"]`` table; raises ValueError (FieldError for one field) for the first problem."""
    from decimal import Decimal, InvalidOperation

    if not isinstance(entry, dict):
        raise ValueError("expected a table of prices")
    for name, value in entry.items():
        if name not in PRICE_FIELDS:
            raise FieldError(name, value, f"not a price field (expected {', '.join(PRICE_FIELDS)})")
        bad = FieldError(name, value, "expected a price in USD per million tokens, 0 or more")
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise bad
        try:
            number = Decimal(str(value).strip())
        except InvalidOperation:
            raise bad from None
        if not number.is_finite() or number < 0:
            raise bad
    for name in ("input", "output"):
        if name not in entry:
            raise ValueError(f"needs {name} (USD per million tokens)")
    return dict(entry)


def _get(data: dict[str, Any], dotted: str) -> Any:
    node: Any = data
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


@dataclass
class Config:
    """The settings in effect: the file's content, validated once at load."""

    data: dict[str, Any] = field(default_factory=dict)
    """The file as parsed, plus values ``set`` since (valid or not: ``get`` validates)."""
    path: Path | None = None
    problems: list[str] = field(default_factory=list)
    """One message per value not understood, naming file, key and value; reported by each front end once."""
    exists: bool = False
    """The file exists (``doctor`` says "no config file (defaults)" otherwise)."""
    unreadable: bool = False
    """The file exists but could not be read or parsed: saving would destroy it, so ``save`` refuses."""
    changed: dict[str, Any] = field(default_factory=dict)
    """Keys set since load (dotted) -> value: the only keys ``save`` writes."""
    problem_keys: list[str] = field(default_factory=list)
    """The dotted key of each problem (parallel to ``problems``), e.g. to pick ``[filter]``'s."""

    @classmethod
    def load(cls, path: Path | None = None) -> Config:
        path = path or paths.config_file()
        config = cls(path=path)
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return config
        except OSError as exc:
            config.exists = config.unreadable = True
            config._problem("", f"{path}: cannot be read ({exc.strerror or exc}); using defaults")
            return config
        config.exists = True
        import tomllib  # only when there is a file: it compiles a dozen regexes on import

        try:
            config.data = tomllib.loads(raw.decode("utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            config.unreadable = True
            config._problem("", f"{path}: not valid TOML ({exc}); using defaults until it is fixed")
            return config
        config._validate()
        return config

    def _problem(self, key: str, message: str) -> None:
        self.problems.append(message)
        self.problem_keys.append(key)

    def _bad(self, key: str, value: Any, reason: str, then: str | None = None) -> None:
        tail = f" ({then})" if then else ""
        self._problem(key, f"{self.path}: {key_text(key)} = {toml_value(value)}: {reason}{tail}")

    def _validate(self) -> None:
        for setting in SCHEMA:
            value = _get(self.data, setting.key)
            if value is None:
                continue
            try:
                check(setting, value)
            except ValueError as exc:
                if setting.kind == "patterns":
                    then = "ignored; the other patterns apply"
                else:
                    default = "the built-in value" if setting.default is None else toml_value(setting.default)
                    then = f"using {default}"
                self._bad(setting.key, value, str(exc), then)
        for name, value in self.data.items():
            if name not in SECTIONS and isinstance(value, dict):
                self._problem(name, f"{self.path}: [{name}]: not a ctxtop section, ignored")
            elif name not in SECTIONS:
                hint = f"; did you mean {key_text(s.key)}?" if (s := _suggest(name)) else ""
                self._bad(name, value, f"not a ctxtop setting, ignored{hint}")
            elif not isinstance(value, dict):
                self._bad(name, value, f"[{name}] must be a table, ignored")
            elif name in ("windows", "prices"):
                self._validate_table(name, value)
            else:
                for key, item in value.items():
                    if f"{name}.{key}" not in BY_KEY:
                        self._bad(f"{name}.{key}", item, "not a ctxtop setting, ignored")

    def _validate_table(self, name: str, table: dict[str, Any]) -> None:
        checker = check_window if name == "windows" else check_prices
        for prefix, entry in table.items():
            try:
                checker(entry)
            except FieldError as exc:
                self._problem(f"{name}.{prefix}", f"{self.path}: {key_text(f'{name}.{prefix}')} {exc.name} = "
                              f"{toml_value(exc.value)}: {exc}; this model's prices are ignored")  # fmt: skip
            except ValueError as exc:
                what = "this window is ignored" if name == "windows" else "this model's prices are ignored"
                self._bad(f"{name}.{prefix}", entry, f"{exc}; {what}")

    def get(self, key: str) -> Any:
        """The value in effect: the file's when valid, else the default (the problem was reported at load)."""
        setting = BY_KEY.get(key)
        value = _get(self.data, key)
        if setting is None:
            return value
        if value is None:
            return copy.deepcopy(setting.default)
        try:
            return check(setting, value)
        except ValueError:
            if setting.kind == "patterns" and isinstance(value, list):
                # One broken pattern must not lift every other exclusion.
                return [p for p in value if isinstance(p, str) and _regex_error(p) is None]
            return copy.deepcopy(setting.default)

    def raw(self, key: str) -> Any:
        """The value as written (None when absent), valid or not."""
        return _get(self.data, key)

    def set(self, key: str, value: Any) -> None:
        """Validate (ValueError names the setting) and set; written by ``save``."""
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
        self.changed[key] = value
        # The value is fixed now: its load-time problem no longer applies.
        for index in reversed(range(len(self.problem_keys))):
            if self.problem_keys[index] == key:
                del self.problems[index], self.problem_keys[index]

    def save(self, keys: Iterable[str] | None = None) -> Path:
        """Write ``keys`` (default: every key ``set`` since load) into the file on disk, editing it in place.

        Comments, order and every other key (including ones ctxtop does not know) stay as they are; values
        changed by hand since load are kept. The first write over an existing file keeps ``config.toml.bak``.
        Raises OSError when the file on disk cannot be read or parsed: overwriting it would lose it.
        """
        path = self.path or paths.config_file()
        with _SAVING:  # read-modify-write: two settings saved at once from worker threads must both land
            return self._save(path, keys)

    def _save(self, path: Path, keys: Iterable[str] | None) -> Path:
        import shutil

        import tomlkit
        from tomlkit.exceptions import TOMLKitError

        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            text = ""
        except (OSError, UnicodeDecodeError) as exc:
            raise OSError(f"{path} could not be read ({exc}), so it was not overwritten") from None
        try:
            document = tomlkit.parse(text)
        except TOMLKitError as exc:
            raise OSError(f"{path} is not valid TOML ({exc}), so it was not overwritten; fix it") from None
        for key in self.changed if keys is None else keys:
            if key not in self.changed:
                continue
            *sections, name = key.split(".")
            node: Any = document
            for section in sections:
                if not isinstance(node.get(section), dict):
                    node[section] = tomlkit.table()
                node = node[section]
            node[name] = self.changed[key]
        paths.ensure_private_dir(path.parent)
        backup = path.with_name(path.name + ".bak")
        if text and not backup.exists():
            shutil.copy2(path, backup)
            os.chmod(backup, 0o600)
        write_atomic(path, tomlkit.dumps(document), mode=0o600)
        self.exists, self.unreadable = True, False
        return path

    def choice_problem(self, key: str, available: Collection[str], using: str) -> str | None:
        """The message for a choice the caller can check only at run time (a theme name), or None."""
        value = _get(self.data, key)
        if value is None or value in available:
            return None
        return f"{self.path}: {key_text(key)} = {toml_value(value)}: no such theme (using {using})"

    def problems_in(self, section: str) -> list[str]:
        """The problems of one section, e.g. ``filter`` for the filter hook's own report."""
        return [
            p for p, k in zip(self.problems, self.problem_keys, strict=True) if k.split(".")[0] == section
        ]

    @property
    def threshold(self) -> float:
        """Compaction threshold, percent of the context window (``core.compaction.threshold_tokens``)."""
        return float(self.get("compaction.threshold"))

    @property
    def budgets(self) -> list[Any]:
        """The budgets set in ``[budgets]`` (``core.budgets.Budget``), valid values only."""
        from ctxtop.core import budgets as core_budgets

        values = {s.key.split(".", 1)[1]: self.get(s.key) for s in SCHEMA if s.key.startswith("budgets.")}
        return core_budgets.from_values(values, float(self.get("budgets.soft_pct")))

    @property
    def anomaly_rules(self) -> Any:
        """``[anomalies]`` as ``core.anomalies.Rules``."""
        from ctxtop.core.anomalies import Rules

        return Rules(
            day_pct=float(self.get("anomalies.day_pct")),
            request_factor=float(self.get("anomalies.request_factor")),
            request_prompt_tokens=int(self.get("anomalies.request_prompt_tokens")),
            request_usd=float(self.get("anomalies.request_usd")),
            cache_drop_pct=float(self.get("anomalies.cache_drop_pct")),
            reread_pct=float(self.get("anomalies.reread_pct")),
        )

    @property
    def window_overrides(self) -> dict[str, int]:
        """``[windows]``: model-id prefix -> context window, valid entries only."""
        return {str(k): v for k, v in _table(self.data, "windows").items() if _ok(check_window, v)}

    @property
    def price_overrides(self) -> dict[str, dict[str, Any]]:
        """``[prices."prefix"]``: valid entries only (a bad one is reported and that model uses genai-prices)."""
        return {str(k): dict(v) for k, v in _table(self.data, "prices").items() if _ok(check_prices, v)}


def key_text(dotted: str) -> str:
    """A key for messages: ``[compaction] threshold``, ``[prices."claude-opus-4-8"]``, ``threshold``."""
    section, _, name = dotted.partition(".")
    if section in ("windows", "prices") and name:
        quoted = json.dumps(name, ensure_ascii=False)  # model ids hold dots: always quoted, as in the docs
        return f"[{section}] {quoted}" if section == "windows" else f"[{section}.{quoted}]"
    return f"[{section}] {name}" if name else section


def _table(data: dict[str, Any], name: str) -> dict[str, Any]:
    table = data.get(name)
    return table if isinstance(table, dict) else {}


def _ok(checker: Any, value: Any) -> bool:
    try:
        checker(value)
    except ValueError:
        return False
    return True


def _suggest(name: str) -> Setting | None:
    """The setting a misplaced top-level key probably meant (``threshold = 70`` -> ``[compaction]``)."""
    return next((s for s in SCHEMA if s.key.rsplit(".", 1)[-1] == name), None)
