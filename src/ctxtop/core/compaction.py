"""When Claude Code compacts a session automatically, and the override that moves it to a threshold.

Measured on Claude Code 2.1.197:

- it reserves ``OUTPUT_RESERVE`` (20,000) tokens for the summary and keeps a ``BUFFER`` (13,000) on top, so
  by default it compacts once the context reaches ``window - 33,000`` (167,000 of 200,000);
- ``CLAUDE_AUTOCOMPACT_PCT_OVERRIDE=p`` (0 < p <= 100) makes it compact at
  ``min(floor((window - 20,000) * p / 100), window - 33,000)``: the override can only lower the point;
- the window comes from ``CLAUDE_CODE_AUTO_COMPACT_WINDOW``, else the ``autoCompactWindow`` setting, else the
  model's own window (200,000 for most models, 1,000,000 for ``[1m]`` variants). A model whose window Claude
  Code does not know (e.g. behind a custom base URL) is never compacted proactively, only after the API
  answers "prompt is too long";
- 2.1.332 (measured the same way, ``--debug``'s ``autocompact:`` lines) keeps all of this and adds the
  per-model ``modelSettings.<model>.autoCompactWindow`` that ``/autocompact <tokens|auto>`` persists in the
  user settings.json (see ``_settings_window``); its precomputed summary (``precomputeCompactionEnabled``) and
  the reactive path it routes through did not move the point; ``idleCompaction`` compacts an idle interactive
  session by time, not at a token point;
- the reserve is really ``min(model's max output tokens, 20,000)``; every current model's max output is
  above 20,000, so ctxtop uses 20,000;
- ``DISABLE_AUTO_COMPACT`` (or ``DISABLE_COMPACT``) in the environment, or ``autoCompactEnabled: false`` in
  settings, turns automatic compaction off.

Everything here is pure arithmetic on values the caller read; ``ctxtop.sources.claude_code.settings`` does the
reading and writing.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: importing typing costs the statusline ~5 ms
if TYPE_CHECKING:
    from decimal import Decimal
    from fractions import Fraction
    from typing import Any

OUTPUT_RESERVE = 20_000
BUFFER = 13_000
DEFAULT_WINDOW = 200_000
ONE_M_WINDOW = 1_000_000
MIN_CONFIGURED_WINDOW = 100_000
MAX_CONFIGURED_WINDOW = 1_000_000

PCT_ENV = "CLAUDE_AUTOCOMPACT_PCT_OVERRIDE"
WINDOW_ENV = "CLAUDE_CODE_AUTO_COMPACT_WINDOW"
WINDOW_SETTING = "autoCompactWindow"
ENABLED_SETTING = "autoCompactEnabled"
DISABLE_ENVS = ("DISABLE_AUTO_COMPACT", "DISABLE_COMPACT")

THRESHOLD_MIN = 5.0
THRESHOLD_MAX = 95.0
"""The one valid range of ctxtop's threshold (percent of the context window), for the CLI, config and TUI.

Claude Code 2.1.197 honours any ``CLAUDE_AUTOCOMPACT_PCT_OVERRIDE`` in (0, 100] but never compacts later than
``window - 33,000``: 83.5% of 200K, 96.7% of 1M (the largest window it accepts), so a threshold above 95% is
never reached first. Below 5% the point falls under what a session starts with (system prompt and tools:
18K-26K tokens in real transcripts) even on a 1M window, and Claude Code would compact after every turn.
"""


@dataclass(frozen=True, slots=True)
class CompactionInfo:
    """Claude Code's automatic compaction as configured for one model."""

    window: int | None
    """Context window Claude Code compacts against; None when it does not know one."""
    window_source: str
    """Where the window came from, for people: "env CLAUDE_CODE_AUTO_COMPACT_WINDOW", "[1m] model variant"..."""
    compact_at: int | None
    """Context tokens at which Claude Code compacts; None when it never compacts proactively."""
    enabled: bool
    pct_override: float | None = None
    """The ``CLAUDE_AUTOCOMPACT_PCT_OVERRIDE`` in effect (ignored values are reported as None)."""
    reason: str = ""
    """One sentence saying why ``compact_at`` is what it is."""
    context_window: int | None = None
    """The window the fill is against: the model's full window, as Claude Code's statusline shows it. It
    differs from ``window`` when ``CLAUDE_CODE_AUTO_COMPACT_WINDOW``/``autoCompactWindow`` moves only the
    compaction point (1M model, 200K compaction window: fill is against 1M)."""
    context_window_source: str = ""
    threshold_applies: bool = True
    """ctxtop's threshold applies to the session (False: the tool compacts by itself, e.g. Codex CLI, and
    ctxtop has no hook into it: no threshold, no room before compaction)."""


def default_compact_point(window: int) -> int:
    """Where Claude Code compacts with no override: 167,000 of a 200,000 window."""
    return window - OUTPUT_RESERVE - BUFFER


def claude_default_window(model: str | None) -> int:
    """Claude Code's own window for ``model``: 1M for ``[1m]`` variants, else 200K."""
    return ONE_M_WINDOW if model and "[1m]" in model.lower() else DEFAULT_WINDOW


def parse_pct(value: Any) -> float | None:
    """The override as Claude Code reads it (a float in (0, 100]); anything else is ignored (None)."""
    try:
        pct = float(str(value).strip())
    except (TypeError, ValueError):
        return None
    if not math.isfinite(pct) or pct <= 0 or pct > 100:
        return None
    return pct


def parse_window(value: Any) -> int | None:
    """``CLAUDE_CODE_AUTO_COMPACT_WINDOW``: a number (``200000``, ``2e5``, ``200_000``) clamped to [100K, 1M]."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(str(value).strip().replace("_", ""))
    except ValueError:
        return None
    if not math.isfinite(number) or number <= 0:
        return None
    return max(MIN_CONFIGURED_WINDOW, min(MAX_CONFIGURED_WINDOW, int(number)))


def parse_window_setting(value: Any) -> int | None:
    """The ``autoCompactWindow`` setting: an integer in [100K, 1M]; anything else is dropped, not clamped."""
    if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
        return None
    return int(value) if MIN_CONFIGURED_WINDOW <= value <= MAX_CONFIGURED_WINDOW else None


def compact_at_tokens(window: int | None, pct_override: float | None = None) -> int | None:
    """Context tokens at which Claude Code compacts: None without a window (no proactive compaction)."""
    if window is None or window <= 0:
        return None
    point = default_compact_point(window)
    if pct_override is not None:
        point = min(math.floor((window - OUTPUT_RESERVE) * pct_override / 100), point)
    return max(point, 0)


def threshold_problem(threshold_pct: float) -> str | None:
    """Why a threshold is not accepted (for messages), or None when it is in the valid range."""
    if not (math.isfinite(threshold_pct) and THRESHOLD_MIN <= threshold_pct <= THRESHOLD_MAX):
        return f"must be between {THRESHOLD_MIN:g} and {THRESHOLD_MAX:g} (% of the context window)"
    return None


def threshold_tokens(threshold_pct: float | Decimal, window: int) -> int:
    """The first token count at or above ``threshold_pct`` % of ``window``: THE threshold -> tokens rule.

    Every surface (gauge, alerts, statusline, reports, ``claude install``, the SDK wrapper) calls this, so
    66.6667% of 200,000 is 133,334 everywhere. Exact decimal arithmetic on the shortest text of the float
    (60% of 200,000 is 120,000, never 120,001); Decimal, not Fraction: the statusline imports it anyway.
    """
    from decimal import Decimal

    exact = threshold_pct if isinstance(threshold_pct, Decimal) else Decimal(repr(float(threshold_pct)))
    return math.ceil(exact * window / 100)


def override_for_threshold(threshold_pct: float, window: int) -> str | None:
    """The ``CLAUDE_AUTOCOMPACT_PCT_OVERRIDE`` value that makes Claude Code compact at ``threshold_pct`` %.

    Returns the shortest decimal text ``p`` (at least 2 decimals) for which
    ``floor((window - 20000) * p / 100)`` is exactly ``threshold_tokens(threshold_pct, window)``, checked
    in exact arithmetic and in the float orders JavaScript may evaluate it in. 60 % of 200,000 is 120,000
    tokens: ``66.67`` would compact at 120,006, so this returns ``"66.667"`` (120,000).

    Returns None when no override is needed or possible: the threshold lies at or beyond Claude Code's own
    default point (``window - 33000``), which an override cannot raise.
    """
    if not 0 < threshold_pct <= 100:
        raise ValueError(f"threshold must be in (0, 100], got {threshold_pct}")
    room = window - OUTPUT_RESERVE
    target = threshold_tokens(threshold_pct, window)
    if room <= 0 or target >= default_compact_point(window):
        return None
    from fractions import Fraction

    exact = Fraction(100 * target, room)
    for decimals in range(2, 10):
        scale = 10**decimals
        # The next step up too: when the exact value is hit, floats may land one token short.
        for step in (0, 1):
            pct = Fraction(math.ceil(exact * scale) + step, scale)
            if _lands_on(pct, room, target):
                text = f"{float(pct):.{decimals}f}"
                return text.rstrip("0").rstrip(".") if decimals > 2 else text
    return None  # pragma: no cover - 9 decimals always suffice for windows below 10**8


def _lands_on(pct: Fraction, room: int, target: int) -> bool:
    if math.floor(room * pct / 100) != target:
        return False
    as_float = float(pct)
    evaluations = (room * as_float / 100, room * (as_float / 100), as_float / 100 * room)
    return all(math.floor(value) == target for value in evaluations)


def _truthy(value: Any) -> bool:
    return str(value).strip().lower() in {"1", "true", "yes", "on"}


def effective_env(env: Mapping[str, str], settings: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """The environment Claude Code runs with: the process env, then each settings file's ``env`` on top."""
    merged = dict(env)
    for layer in settings:
        block = layer.get("env") if isinstance(layer, Mapping) else None
        if isinstance(block, Mapping):
            merged.update({str(k): str(v) for k, v in block.items() if v is not None})
    return merged


def effective_compaction(
    env: Mapping[str, str],
    settings: Sequence[Mapping[str, Any]],
    model: str | None,
    default_window: int | None,
    *,
    settings_sources: Sequence[str] = (),
    window_source: str | None = None,
    per_model_settings: bool = True,
) -> CompactionInfo:
    """Where Claude Code compacts a session of ``model``, given everything that configures it.

    ``settings`` are parsed settings files, lowest precedence first (user, project, local); their ``env``
    blocks apply on top of ``env`` as Claude Code does. ``settings_sources`` labels them (e.g. the file
    path) for ``window_source``. ``default_window`` is the model's own window as Claude Code knows it
    (``claude_default_window(model)``), or None when Claude Code does not know it (custom base URLs).
    A configured window larger than the model's own is capped to it, as Claude Code does; with no
    ``model`` nothing is capped. ``window_source`` says where ``default_window`` came from (see
    ``ctxtop.core.window.resolve_window``); without it a ``[1m]`` id means 1M. ``per_model_settings``
    says whether the Claude Code version reads ``modelSettings`` (2.1.332 does, 2.1.197 does not: see
    ``ctxtop.core.window.reads_model_settings``).
    """
    from dataclasses import replace

    if window_source is None:
        if model and "[1m]" in model.lower():
            default_window, window_source = ONE_M_WINDOW, "[1m] model variant"
        elif default_window is not None:
            window_source = f"Claude Code default {default_window}"
        else:
            window_source = "unknown model window"
    info = _effective(
        env, settings, model, default_window, window_source, settings_sources, per_model_settings
    )
    return replace(info, context_window=default_window, context_window_source=window_source)


def _effective(
    env: Mapping[str, str],
    settings: Sequence[Mapping[str, Any]],
    model: str | None,
    default_window: int | None,
    default_source: str,
    settings_sources: Sequence[str],
    per_model: bool,
) -> CompactionInfo:
    merged = effective_env(env, settings)
    pct = parse_pct(merged[PCT_ENV]) if PCT_ENV in merged else None

    enabled = True
    off_reason = ""
    for name in DISABLE_ENVS:
        if _truthy(merged.get(name, "")):
            enabled, off_reason = False, f"{name} is set"
    for index, layer in enumerate(settings):
        if isinstance(layer, Mapping) and layer.get(ENABLED_SETTING) is False:
            enabled, off_reason = False, f"{ENABLED_SETTING} is false ({_label(settings_sources, index)})"

    window, source = _window(
        merged, settings, settings_sources, model, default_window, default_source, per_model
    )
    if not enabled:
        return CompactionInfo(window, source, None, False, pct, f"automatic compaction is off: {off_reason}")
    if window is None:
        reason = (
            "no window configured for this model: Claude Code never compacts proactively, only after the "
            f"API answers 'prompt is too long' (set {WINDOW_ENV})"
        )
        return CompactionInfo(None, source, None, True, pct, reason)
    if _custom_base_url(merged) and not _window_configured(merged, settings, model, per_model):
        # Measured on 2.1.197: behind a custom ANTHROPIC_BASE_URL it does not know the window of most models
        # and never compacts proactively until one is configured.
        reason = (
            f"ANTHROPIC_BASE_URL is set and no window is configured: Claude Code does not compact proactively, "
            f"only after the API answers 'prompt is too long' (set {WINDOW_ENV}, or run `ctxtop claude install`)"
        )
        return CompactionInfo(window, source, None, True, pct, reason)
    point = compact_at_tokens(window, pct)
    if pct is not None and point is not None and point < default_compact_point(window):
        reason = f"{PCT_ENV}={merged[PCT_ENV]}: {pct:g}% of (window - {OUTPUT_RESERVE:,})"
    elif pct is not None:
        reason = f"{PCT_ENV}={merged[PCT_ENV]} cannot raise the default point (window - {OUTPUT_RESERVE + BUFFER:,})"
    else:
        reason = f"Claude Code default: window - {OUTPUT_RESERVE:,} reserve - {BUFFER:,} buffer"
    return CompactionInfo(window, source, point, True, pct, reason)


def _custom_base_url(env: Mapping[str, str]) -> bool:
    url = env.get("ANTHROPIC_BASE_URL", "").strip().rstrip("/")
    return bool(url) and url not in ("https://api.anthropic.com", "https://api.anthropic.com/v1")


def _window_configured(
    env: Mapping[str, str], settings: Sequence[Mapping[str, Any]], model: str | None, per_model: bool
) -> bool:
    if parse_window(env.get(WINDOW_ENV)) is not None:
        return True
    return _settings_window(settings, (), model, per_model)[0] is not None


def _label(sources: Sequence[str], index: int) -> str:
    return sources[index] if index < len(sources) else f"settings #{index + 1}"


def _settings_window(
    settings: Sequence[Mapping[str, Any]], sources: Sequence[str], model: str | None, per_model: bool
) -> tuple[int | None, str]:
    """The ``autoCompactWindow`` the settings give ``model``: (tokens, source), (None, source) for a
    per-model ``"auto"`` (the model's own window), (None, "") when none is set.

    Measured on 2.1.332: the highest-precedence file that sets a value wins; within a file a per-model value
    (``modelSettings.<model>.autoCompactWindow``, what ``/autocompact`` writes to the user settings) beats
    the top-level one, and a per-model ``"auto"`` beats both the file's and lower files' top-level values
    (a top-level ``"auto"`` is ignored). 2.1.197 has no ``modelSettings`` (``per_model`` False).
    """
    for index in range(len(settings) - 1, -1, -1):
        layer = settings[index]
        if not isinstance(layer, Mapping):
            continue
        by_model = layer.get("modelSettings") if per_model else None
        if model and isinstance(by_model, Mapping):
            # Keyed by the model id without ``[1m]`` (``/autocompact`` on the 1M default wrote "claude-opus-5-5").
            keys = (model, model.replace("[1m]", "").replace("[1M]", ""))
            entry = next((by_model[k] for k in keys if isinstance(by_model.get(k), Mapping)), None)
            raw = entry.get(WINDOW_SETTING) if entry is not None else None
            where = f"settings modelSettings.{model}.{WINDOW_SETTING}"
            if raw == "auto":
                return None, f"{where}=auto ({_label(sources, index)})"
            value = parse_window_setting(raw)
            if value is not None:
                return value, f"{where} ({_label(sources, index)})"
        value = parse_window_setting(layer.get(WINDOW_SETTING))
        if value is not None:
            return value, f"settings {WINDOW_SETTING} ({_label(sources, index)})"
    return None, ""


def _window(
    merged: Mapping[str, str],
    settings: Sequence[Mapping[str, Any]],
    sources: Sequence[str],
    model: str | None,
    default_window: int | None,
    default_source: str,
    per_model: bool = True,
) -> tuple[int | None, str]:
    configured: int | None = None
    source = ""
    if WINDOW_ENV in merged and parse_window(merged[WINDOW_ENV]) is not None:
        configured, source = parse_window(merged[WINDOW_ENV]), f"env {WINDOW_ENV}"
    else:
        configured, source = _settings_window(settings, sources, model, per_model)
    own, own_source = default_window, default_source
    if configured is None:
        return own, f"{own_source}; {source}" if source else own_source
    # A configured window larger than the model's own cannot be used (only known when the model is).
    if model and own is not None and configured > own:
        return own, f"{source}, capped at the model's {own}"
    return configured, source
