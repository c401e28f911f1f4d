"""Read (never write) what configures Claude Code's compaction for a session: env and settings.json layers.

Layers, lowest precedence first: user settings (``<config dir>/settings.json``), project
(``<cwd>/.claude/settings.json``), local (``<cwd>/.claude/settings.local.json``). Their ``env`` blocks apply
on top of the process environment, as Claude Code applies them.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from ctxtop.core.compaction import (
    CompactionInfo,
    claude_default_window,
    effective_compaction,
    reconcile_with_observed,
)

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: importing typing costs the statusline ~5 ms
if TYPE_CHECKING:
    from typing import Any


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


@lru_cache(maxsize=256)
def _layers_cached(config_dir: str, cwd: str | None, stamp: tuple) -> tuple[Layer, ...]:
    files = [Path(config_dir) / "settings.json"]
    if cwd:
        files += [Path(cwd) / ".claude" / "settings.json", Path(cwd) / ".claude" / "settings.local.json"]
    return tuple(layer for layer in (_load(f) for f in files) if layer is not None)


def _stamp(paths: list[Path]) -> tuple:
    out = []
    for p in paths:
        try:
            st = p.stat()
            out.append((st.st_mtime_ns, st.st_size))
        except OSError:
            out.append(None)
    return tuple(out)


def settings_layers(config_dir: Path, cwd: str | None) -> tuple[Layer, ...]:
    files = [config_dir / "settings.json"]
    if cwd:
        files += [Path(cwd) / ".claude" / "settings.json", Path(cwd) / ".claude" / "settings.local.json"]
    return _layers_cached(str(config_dir), cwd, _stamp(files))


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
) -> CompactionInfo:
    """Window and compaction point Claude Code uses for a session; a ``[windows]`` config override wins.

    ``max_context`` is the largest context the session reached: a session that went past a defaulted window
    proves that window wrong (see ``reconcile_with_observed``).
    """
    layers = settings_layers(config_dir, cwd)
    info = effective_compaction(
        os.environ if env is None else env,
        [layer.data for layer in layers],
        model,
        claude_default_window(model),
        settings_sources=[layer.path for layer in layers],
    )
    override = _override_window(model or "", window_overrides or {})
    if override is not None:
        from dataclasses import replace

        from ctxtop.core.compaction import compact_at_tokens

        point = compact_at_tokens(override, info.pct_override) if info.enabled else None
        return replace(info, window=override, window_source="ctxtop config [windows]", compact_at=point)
    if model and info.window is not None and max_context > info.window:
        if listed_window is None:
            from ctxtop.core.pricing import context_window_listed as listed_window
        return reconcile_with_observed(info, max_context, listed_window(model))
    return info
