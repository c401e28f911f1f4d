"""Read (never write) what configures Claude Code's compaction for a session: env and settings.json layers.

Layers, lowest precedence first: user settings (``<config dir>/settings.json``), project
(``<cwd>/.claude/settings.json``), local (``<cwd>/.claude/settings.local.json``). Their ``env`` blocks apply
on top of the process environment, as Claude Code applies them.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from ctxtop.core.compaction import (
    OUTPUT_RESERVE,
    WINDOW_ENV,
    CompactionInfo,
    effective_compaction,
    effective_env,
)
from ctxtop.core.window import Observed, reads_model_settings, resolve_window

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: importing typing costs the statusline ~5 ms
if TYPE_CHECKING:
    from typing import Any

    from ctxtop.core.metrics import SessionStats


@dataclass(frozen=True, slots=True)
class Layer:
    path: str
    data: dict[str, Any]
    error: str | None = None


def _load(path: Path) -> Layer | None:
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        return Layer(str(path), {}, str(exc))
    try:
        data = json.loads(raw)
    except ValueError as exc:
        return Layer(str(path), {}, f"invalid JSON: {exc}")
    return Layer(str(path), data if isinstance(data, dict) else {}, None)


def settings_files(config_dir: Path, cwd: str | None) -> list[Path]:
    """The settings layers' files, lowest precedence first: user, then the project's and local (with a cwd)."""
    files = [Path(config_dir) / "settings.json"]
    if cwd:
        files += [Path(cwd) / ".claude" / "settings.json", Path(cwd) / ".claude" / "settings.local.json"]
    return files


@lru_cache(maxsize=256)
def _layers_cached(config_dir: str, cwd: str | None, stamp: tuple) -> tuple[Layer, ...]:
    files = settings_files(Path(config_dir), cwd)
    return tuple(layer for layer in (_load(f) for f in files) if layer is not None)


def _stamp(paths: list[Path]) -> tuple:
    out: list[tuple[int, int] | None] = []
    for p in paths:
        try:
            st = p.stat()
            out.append((st.st_mtime_ns, st.st_size))
        except OSError:
            out.append(None)
    return tuple(out)


_SNAPSHOT: dict[tuple[str, str | None], tuple[Layer, ...]] | None = None
"""While ``settings_snapshot()`` is active: the layers already looked at, by (config dir, cwd)."""


@contextmanager
def settings_snapshot() -> Iterator[None]:
    """Within it, each (config dir, cwd)'s settings files are looked at once, not once per session."""
    global _SNAPSHOT
    outer, _SNAPSHOT = _SNAPSHOT, ({} if _SNAPSHOT is None else _SNAPSHOT)
    try:
        yield
    finally:
        _SNAPSHOT = outer


def settings_stamp(config_dir: Path, cwd: str | None) -> tuple:
    """What identifies the settings layers of (config dir, cwd) now: the layers are read again when it changes
    (and a report row rendered from them is rendered again)."""
    return _stamp(settings_files(config_dir, cwd))


def settings_layers(config_dir: Path, cwd: str | None) -> tuple[Layer, ...]:
    key = (str(config_dir), cwd)
    snapshot = _SNAPSHOT
    if snapshot is not None and key in snapshot:
        return snapshot[key]
    layers = _layers_cached(key[0], cwd, settings_stamp(config_dir, cwd))
    if snapshot is not None:
        snapshot[key] = layers
    return layers


def _override_window(model: str, overrides: Mapping[str, int]) -> int | None:
    name = model.lower()
    best = None
    for prefix, window in overrides.items():
        if name.startswith(prefix.lower()) and (best is None or len(prefix) > len(best[0])):
            best = (prefix, window)
    return best[1] if best else None


def compaction_for(
    model: str | None,
    config_dir: Path,
    cwd: str | None,
    window_overrides: Mapping[str, int] | None = None,
    env: Mapping[str, str] | None = None,
    max_context: int = 0,
    listed_window: Callable[[str], int | None] | None = None,
    *,
    version: str | None = None,
    observed: Observed | None = None,
) -> CompactionInfo:
    """Window, fill window and compaction point Claude Code uses for a session (see ``ctxtop.core.window``).

    ``max_context`` is the largest prompt the session reached: a session that went past a defaulted window
    proves that window wrong; then Claude Code did not know the window (a custom base URL) and compacts
    only after "prompt is too long". ``observed`` is what Claude Code's statusline input said.
    """
    layers = settings_layers(config_dir, cwd)
    data = [layer.data for layer in layers]
    base_env = os.environ if env is None else env
    override = _override_window(model or "", window_overrides or {})
    listed = None
    if model and max_context:
        if listed_window is None:
            from ctxtop.core.pricing import context_window_listed

            listed_window = context_window_listed
        listed = listed_window(model)
    window, source, proven = resolve_window(
        model,
        version,
        effective_env(base_env, data),
        data,
        observed=observed,
        override=override,
        max_prompt=max_context,
        listed=listed,
    )
    info = effective_compaction(
        base_env,
        data,
        model,
        window,
        settings_sources=[layer.path for layer in layers],
        window_source=source,
        per_model_settings=reads_model_settings(version),
    )
    if proven and info.compact_at is not None and info.window == window and not _configured(info):
        from dataclasses import replace

        reason = (
            "the session ran past Claude Code's default window without compacting: Claude Code did not know "
            f"the window (custom base URL?) and compacts only after 'prompt is too long' (set {WINDOW_ENV})"
        )
        return replace(info, compact_at=None, reason=reason)
    return info


def for_session(
    stats: SessionStats,
    config_dir: Path,
    window_overrides: Mapping[str, int] | None = None,
    *,
    env: Mapping[str, str] | None = None,
    listed_window: Callable[[str], int | None] | None = None,
    observed: Observed | None = None,
    version: str | None = None,
) -> CompactionInfo:
    """``compaction_for`` a session, with everything its own record proves.

    Every surface (report, TUI, statusline, doctor) calls this. A session whose prompt went past the
    compaction point without any automatic compaction shows that Claude Code does not compact it
    proactively (it did not know the window, e.g. behind a custom base URL); then no point is claimed.
    """
    model = stats.context_model or (stats.models[0] if stats.models else None)
    info = compaction_for(
        model,
        config_dir,
        stats.cwd,
        window_overrides,
        env=env,
        max_context=stats.max_context,
        listed_window=listed_window,
        version=version or stats.version,
        observed=observed,
    )
    # Past the effective window (window - reserve), not merely the point: one turn's growth can pass it.
    # A reactive compaction ("prompt is too long") is recorded as "auto" too, with preTokens that large.
    limit = max(info.compact_at or 0, (info.window or 0) - OUTPUT_RESERVE)
    if (
        info.compact_at is not None
        and stats.max_context > limit
        and not any(c.trigger == "auto" and c.pre_tokens <= limit for c in stats.compactions)
    ):
        from dataclasses import replace

        reason = (
            f"the session reached {stats.max_context:,} tokens, past {info.compact_at:,}, without compacting: "
            f"Claude Code does not compact it proactively (custom base URL?), only after 'prompt is too long'"
        )
        return replace(info, compact_at=None, reason=reason)
    return info


def _configured(info: CompactionInfo) -> bool:
    return info.window_source.startswith(("env ", "settings "))


SWITCHES: tuple[tuple[str, str, str], ...] = (
    (
        "precomputeCompactionEnabled",
        "2.1.197",
        "the summary is written in the background before the point and swapped in at it; measured on "
        "2.1.197 and 2.1.332, on or off, the point does not move",
    ),
    (
        "idleCompaction",
        "2.1.332",
        "an interactive session left idle for 54 min (90% of the 1-hour prompt cache) with at least 200,000 "
        "context tokens (CLAUDE_CODE_IDLE_COMPACT_MIN_TOKENS, not under 100,000) is compacted before the cache "
        "expires; the token point does not move (from 2.1.332's code: an hour idle is not measured)",
    ),
)
"""Compaction settings that change how or when Claude Code compacts but not the token point ctxtop shows:
(setting, first version known to have it, what it does)."""


def compaction_switches(config_dir: Path, cwd: str | None, version: str | None) -> list[dict[str, Any]]:
    """Each of ``SWITCHES`` as Claude Code reads it for a session: value, the file that sets it (highest
    precedence first, default on), whether the version has it, and its effect (for ``doctor``)."""
    from ctxtop.core.window import version_key

    layers = settings_layers(config_dir, cwd)
    key = version_key(version)
    out = []
    for name, since, effect in SWITCHES:
        value, source = True, "default"
        for layer in reversed(layers):
            if isinstance(layer.data.get(name), bool):
                value, source = layer.data[name], layer.path
                break
        known = key is None or key >= (version_key(since) or ())
        out.append({"setting": name, "value": value, "source": source, "applies": known, "effect": effect})
    return out
