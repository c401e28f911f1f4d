"""Themes are data: one TOML file per theme (Theme fields + a ``[variables]`` table), validated at load.

Bundled themes live in ``themes/`` at the repository root in development and in ``ctxtop/themes`` inside the
installed wheel; user themes in ``<config dir>/themes/*.toml`` come after them (same name: the user's wins).
A broken file is collected as a problem and skipped, so one typo never costs the user every other theme.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import fields
from pathlib import Path

from textual.color import Color, ColorParseError
from textual.theme import Theme

import ctxtop

COLOR_FIELDS = ("primary", "secondary", "warning", "error", "success", "accent", "foreground", "background",
                "surface", "panel", "boost")  # fmt: skip
ALLOWED = {f.name for f in fields(Theme)}


def bundled_theme_dir() -> Path | None:
    package = Path(ctxtop.__file__).resolve().parent
    for candidate in (package / "themes", package.parents[1] / "themes"):
        if candidate.is_dir():
            return candidate
    return None


def theme_from_toml(path: Path) -> Theme:
    """Build one theme; raises ValueError with a message for people."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"cannot read it: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"not valid TOML: {exc}") from None
    unknown = sorted(set(data) - ALLOWED)
    if unknown:
        raise ValueError(f"unknown keys: {', '.join(unknown)}")
    name = data.get("name", path.stem)
    if not isinstance(name, str) or not name.strip():
        raise ValueError("name must be text")
    if not isinstance(data.get("primary"), str):
        raise ValueError("primary colour is required")
    for key in COLOR_FIELDS:
        value = data.get(key)
        if value is None:
            continue
        if not isinstance(value, str):
            raise ValueError(f"{key} must be a colour string")
        try:
            Color.parse(value)
        except ColorParseError:
            raise ValueError(f"{key}: {value!r} is not a colour") from None
    variables = data.get("variables", {})
    if not isinstance(variables, dict) or not all(isinstance(v, str) for v in variables.values()):
        raise ValueError("[variables] must map names to strings")
    for key, value in variables.items():
        # Textual parses these into every stylesheet: one bad value would crash the app at start-up.
        if not _valid_variable(value):
            raise ValueError(f"[variables] {key}: {value!r} is neither a colour nor a text style")
    if "dark" in data and not isinstance(data["dark"], bool):
        raise ValueError("dark must be true or false")
    try:
        return Theme(**data)
    except (TypeError, ValueError) as exc:
        raise ValueError(str(exc)) from None


_TEXT_STYLES = {
    "bold",
    "italic",
    "underline",
    "reverse",
    "dim",
    "strike",
    "blink",
    "none",
    "not",
    "b",
    "i",
    "u",
}
_ALPHA = re.compile(r"^(?P<base>\S+)\s+\d{1,3}%$")


def _valid_variable(value: str) -> bool:
    """A colour (``#ff0000``, ``red``, ``rgb(...)``, ``auto``), a colour with alpha (``$primary 50%``), a
    reference to another variable, or a text style (``bold italic``)."""
    text = value.strip()
    if not text:
        return False
    match = _ALPHA.match(text)
    base = match.group("base") if match else text
    if base.startswith("$") and re.fullmatch(r"\$[\w-]+", base):
        return True
    if base == "auto":
        return True
    try:
        Color.parse(base)
        return True
    except ColorParseError:
        pass
    return match is None and all(word in _TEXT_STYLES for word in text.split())


def load_themes(dirs: list[Path | None]) -> tuple[list[Theme], list[str]]:
    """Every theme in ``dirs`` (in order) and one problem line per broken file."""
    themes: dict[str, Theme] = {}
    problems: list[str] = []
    for folder in dirs:
        if folder is None or not folder.is_dir():
            continue
        for path in sorted(folder.glob("*.toml")):
            try:
                theme = theme_from_toml(path)
            except ValueError as exc:
                problems.append(f"{path}: {exc}")
                continue
            themes[theme.name] = theme
    return list(themes.values()), problems
