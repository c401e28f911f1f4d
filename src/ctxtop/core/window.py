"""The context window Claude Code runs a session with: the denominator of the fill.

Measured with the real CLI (interactive, its statusLine input's ``context_window.context_window_size``) against
the local fake API:

==========  ===============================  =========================================================
version     default model (transcript id)    window
==========  ===============================  =========================================================
2.1.197     ``claude-opus-4-8``              1,000,000 as the default (statusline id ``claude-opus-4-8[1m]``);
                                             200,000 when chosen with ``--model claude-opus-4-8``;
                                             every other model 200,000 unless ``[1m]``
2.1.332     ``claude-opus-5-5``              1,000,000; ``claude-opus-4-8`` and ``claude-opus-5-5`` run with
                                             1,000,000 also when chosen; ``claude-sonnet-4-5`` 200,000
==========  ===============================  =========================================================

``[1m]`` aliases (``opus[1m]``, ``sonnet[1m]``) run with 1,000,000 on both; the transcript drops the suffix
(the request carries a beta header instead), so the model id alone cannot tell. ``CLAUDE_CODE_AUTO_COMPACT_WINDOW``
moves only the compaction point, never the window the percentage is against. ``CLAUDE_CODE_MAX_CONTEXT_TOKENS``
did not change ``context_window_size`` on either version, so it is reported and not applied.

Resolution, first that applies: what Claude Code itself reported for the session (its statusline input), the
user's ``[windows]`` override, ``[1m]`` in the id, the ``model`` setting / ``ANTHROPIC_MODEL`` naming this model,
the default model of the Claude Code version that wrote the session, 200,000. A prompt larger than that
proves a larger window (the listed one, or 1M).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: importing typing costs the statusline ~5 ms
if TYPE_CHECKING:
    from typing import Any

DEFAULT_WINDOW = 200_000
ONE_M_WINDOW = 1_000_000
MAX_CONTEXT_ENV = "CLAUDE_CODE_MAX_CONTEXT_TOKENS"
MODEL_ENV = "ANTHROPIC_MODEL"


@dataclass(frozen=True, slots=True)
class VersionFacts:
    """What one Claude Code version does with models, as measured."""

    version: str
    default_model: str
    """The default model as the transcript names it."""
    default_window: int
    native_1m: tuple[str, ...] = ()
    """Models that run with 1M when chosen explicitly (without ``[1m]``)."""
    model_settings: bool = False
    """Reads ``modelSettings.<model>.autoCompactWindow`` (what ``/autocompact`` persists); 2.1.197 has no
    ``modelSettings`` at all and compacts by the top-level ``autoCompactWindow`` alone."""


VERIFIED: dict[str, VersionFacts] = {
    "2.1.197": VersionFacts("2.1.197", "claude-opus-4-8", ONE_M_WINDOW),
    "2.1.332": VersionFacts(
        "2.1.332",
        "claude-opus-5-5",
        ONE_M_WINDOW,
        ("claude-opus-4-8", "claude-opus-5-5"),
        model_settings=True,
    ),
}
"""Claude Code versions whose window and compaction rule ctxtop measured (see ``tests/e2e``)."""


@lru_cache(maxsize=256)  # a history has a few versions; every session's window asks again (4-5 times)
def version_key(version: str | None) -> tuple[int, ...] | None:
    if not version:
        return None
    parts = []
    for piece in version.strip().split("."):
        digits = "".join(ch for ch in piece if ch.isdigit()) if piece else ""
        if not digits:
            return None
        parts.append(int(digits))
    return tuple(parts)


@lru_cache(maxsize=256)
def facts_for(version: str | None) -> tuple[VersionFacts | None, bool]:
    """The measured facts that apply to ``version`` and whether that version itself was verified.

    A version between two verified ones gets the older one's facts (unverified); one older than every
    verified version gets none (its default models differed).
    """
    key = version_key(version)
    if key is None:
        return None, False
    if version in VERIFIED:
        return VERIFIED[version], True
    older = [v for v in VERIFIED if (version_key(v) or ()) <= key]
    if not older:
        return None, False
    return VERIFIED[max(older, key=lambda v: version_key(v) or ())], False


def reads_model_settings(version: str | None) -> bool:
    """Whether Claude Code ``version`` reads per-model ``autoCompactWindow`` (``modelSettings``).

    An unknown version is taken to be today's (it does); one older than every verified version does not.
    """
    facts, _verified = facts_for(version)
    if facts is not None:
        return facts.model_settings
    return version_key(version) is None


def base_model(model: str) -> str:
    """The model id without a ``[1m]`` suffix, lower case."""
    return model.lower().replace("[1m]", "").strip()


def names_model(configured: str, model: str) -> bool:
    """Whether a configured model (``opus[1m]``, ``claude-opus-4-8``, ``sonnet``) selects ``model``."""
    alias = base_model(configured)
    target = base_model(model)
    if not alias:
        return False
    if alias in ("opus", "sonnet", "haiku", "opusplan"):
        return alias.replace("plan", "") in target
    return target == alias or target.startswith(alias + "-") or alias.startswith(target)


@dataclass(frozen=True, slots=True)
class Observed:
    """What Claude Code handed its statusLine command for the session (the latest refresh)."""

    window: int | None
    """``context_window.context_window_size``."""
    model: str | None
    """``model.id`` (may carry ``[1m]``)."""
    ts: float = 0.0
    used_percentage: float | None = None


def configured_model(env: Mapping[str, str], settings: Sequence[Mapping[str, Any]]) -> tuple[str, str] | None:
    """The model Claude Code is told to use (``ANTHROPIC_MODEL`` beats the ``model`` setting), with its source."""
    value = env.get(MODEL_ENV, "").strip()
    if value:
        return value, f"env {MODEL_ENV}={value}"
    for layer in reversed(settings):
        if isinstance(layer, Mapping) and isinstance(layer.get("model"), str) and layer["model"].strip():
            return layer["model"].strip(), f"model setting {layer['model'].strip()}"
    return None


def resolve_window(
    model: str | None,
    version: str | None,
    env: Mapping[str, str],
    settings: Sequence[Mapping[str, Any]],
    *,
    observed: Observed | None = None,
    override: int | None = None,
    max_prompt: int = 0,
    listed: int | None = None,
) -> tuple[int | None, str, bool]:
    """The window of the session: (window, where it came from, whether it was inferred past a default).

    The third value is True when the window is only a default the session's own prompts proved too small.
    """
    if (
        observed is not None
        and observed.window
        and (observed.model is None or model is None or base_model(observed.model) == base_model(model))
    ):
        return observed.window, "reported by Claude Code (statusline)", False
    if override is not None:
        return override, "ctxtop config [windows]", False
    if model is None:
        return None, "no model", False
    window, source = _inferred(model, version, env, settings)
    if max_prompt > window:
        proven = listed if listed is not None and listed >= max_prompt else ONE_M_WINDOW
        if proven >= max_prompt:
            return proven, f"a prompt of {max_prompt:,} tokens proves more than {source} ({window:,})", True
        return None, f"a prompt of {max_prompt:,} tokens is larger than any known window", True
    return window, source, False


def _inferred(
    model: str, version: str | None, env: Mapping[str, str], settings: Sequence[Mapping[str, Any]]
) -> tuple[int, str]:
    if "[1m]" in model.lower():
        return ONE_M_WINDOW, "[1m] in the model id"
    facts, verified = facts_for(version)
    label = f"Claude Code {version}" + (
        "" if verified else f" (unverified; as {facts.version})" if facts else ""
    )
    chosen = configured_model(env, settings)
    if chosen is not None and names_model(chosen[0], model):
        if "[1m]" in chosen[0].lower():
            return ONE_M_WINDOW, chosen[1]
        if facts is not None and base_model(model) in facts.native_1m:
            return ONE_M_WINDOW, f"{chosen[1]}: {label} runs {base_model(model)} with 1M"
        return DEFAULT_WINDOW, chosen[1]
    if facts is not None and chosen is None and base_model(model) == facts.default_model:
        return facts.default_window, f"{label} default model {facts.default_model}"
    if facts is not None and base_model(model) in facts.native_1m:
        return ONE_M_WINDOW, f"{label} runs {base_model(model)} with 1M"
    return DEFAULT_WINDOW, "Claude Code default 200000"
