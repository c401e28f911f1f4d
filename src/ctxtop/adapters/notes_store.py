"""Per-session notes files in the data dir, readable by the user only.

For a session ``S`` the notes dir holds ``S.md`` (the rendered notes, rebuilt from the transcript at every
hook so they are never a stale snapshot), ``S.pins.json`` (lines the user pinned), ``S.own.md`` (the lines
the user wrote into the notes, in the TUI or by hand in ``S.md``) and ``S.json`` (where the transcript is,
so ``ctxtop notes`` can rebuild too, and the text ctxtop last wrote to ``S.md``). Pins and own lines are
kept apart so a rebuild never loses them: before each rebuild, lines of ``S.md`` that ctxtop did not write
are taken into ``S.own.md``.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ctxtop.adapters import paths
from ctxtop.adapters.atomic import write_atomic
from ctxtop.core import notes as core_notes
from ctxtop.core.session_ids import resolve

_SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")


def _safe_id(session_id: str) -> str:
    if _SAFE_ID.match(session_id) and ".." not in session_id:
        return session_id
    return "id-" + hashlib.sha256(session_id.encode("utf-8")).hexdigest()[:32]


def notes_path(session_id: str) -> Path:
    return paths.notes_dir() / f"{_safe_id(session_id)}.md"


def pins_path(session_id: str) -> Path:
    return paths.notes_dir() / f"{_safe_id(session_id)}.pins.json"


def meta_path(session_id: str) -> Path:
    return paths.notes_dir() / f"{_safe_id(session_id)}.json"


def own_path(session_id: str) -> Path:
    return paths.notes_dir() / f"{_safe_id(session_id)}.own.md"


def _write_private(path: Path, text: str) -> None:
    paths.ensure_private_dir(paths.data_dir())
    paths.ensure_private_dir(path.parent)
    paths.refuse_link(path)  # a planted link would redirect the write to its target
    write_atomic(path, text, mode=0o600)


def _read_text(path: Path) -> str:
    return paths.read_private(path).decode("utf-8")


def _read_json(path: Path) -> Any:
    try:
        return json.loads(_read_text(path))
    except (OSError, ValueError):
        return None


def load_pins(session_id: str) -> list[str]:
    data = _read_json(pins_path(session_id))
    return [p for p in data if isinstance(p, str)] if isinstance(data, list) else []


def save_pins(session_id: str, pins: list[str]) -> None:
    _write_private(pins_path(session_id), json.dumps(pins, ensure_ascii=False, indent=2) + "\n")


def pin(session_id: str, line: str) -> bool:
    """Pin ``line`` for the session; False if it was already pinned."""
    line = " ".join(line.split())
    pins = load_pins(session_id)
    if not line or line in pins:
        return False
    save_pins(session_id, [*pins, line])
    return True


def unpin(session_id: str, line: str) -> bool:
    """Remove a pinned line; False if it was not pinned."""
    line = " ".join(line.split())
    pins = load_pins(session_id)
    if line not in pins:
        return False
    save_pins(session_id, [p for p in pins if p != line])
    return True


def load_own(session_id: str) -> list[str]:
    try:
        return [
            line for line in own_path(session_id).read_text(encoding="utf-8").splitlines() if line.strip()
        ]
    except OSError:
        return []


def _save_own(session_id: str, lines: list[str]) -> None:
    if lines or own_path(session_id).exists():
        _write_private(own_path(session_id), "".join(f"{line}\n" for line in lines))


def _written(session_id: str) -> str | None:
    meta = _read_json(meta_path(session_id))
    written = meta.get("written") if isinstance(meta, dict) else None
    return written if isinstance(written, str) else None


def keep_own_lines(session_id: str, text: str | None = None) -> list[str]:
    """Take the user's own lines out of ``text`` (default: the notes file as it is on disk, perhaps edited
    by hand) into ``S.own.md`` and return them. A notes file exactly as ctxtop wrote it changes nothing."""
    if text is None:
        text = load_notes(session_id)
        if text is None or text == _written(session_id):
            return load_own(session_id)
    own = core_notes.own_lines(text, _written(session_id))
    _save_own(session_id, own)
    return own


def save_edit(session_id: str, text: str) -> Path:
    """The user saved the notes they edited: their own lines are kept apart, the text is stored as typed."""
    keep_own_lines(session_id, text)
    path = notes_path(session_id)
    _write_private(path, text)
    return path


def load_notes(session_id: str) -> str | None:
    try:
        return _read_text(notes_path(session_id))
    except (OSError, ValueError):
        return None


def save_notes(session_id: str, text: str, transcript_path: str | None = None) -> Path:
    """Store notes ctxtop built (``save_edit`` stores what the user typed)."""
    path = notes_path(session_id)
    _write_private(path, text)
    meta = _read_json(meta_path(session_id))
    meta = meta if isinstance(meta, dict) else {}
    meta.update({"session_id": session_id, "updated": time.time(), "written": text})
    if transcript_path:
        meta["transcript_path"] = transcript_path
    _write_private(meta_path(session_id), json.dumps(meta, indent=2) + "\n")
    return path


def hook_transcript(session_id: str) -> Path | None:
    """The transcript a hook last named for the session (stored with its notes), if it is still there."""
    meta = _read_json(meta_path(session_id))
    if isinstance(meta, dict) and isinstance(meta.get("transcript_path"), str):
        candidate = Path(meta["transcript_path"])
        if candidate.is_file():
            return candidate
    return None


def match_sessions(prefix: str, indexed: Iterable[str] = ()) -> list[str]:
    """Session ids that are ``prefix`` or start with it: sessions with notes, and ``indexed`` (the index's
    sessions starting with it, ``Index.match_sessions``); the short ids ctxtop shows are prefixes."""
    prefix = prefix.strip()
    if not prefix or not _SAFE_ID.match(prefix):
        return [prefix] if prefix else []
    found: set[str] = set(indexed)
    try:
        for meta in paths.notes_dir().glob(f"{prefix}*.json"):
            data = _read_json(meta)
            if isinstance(data, dict) and isinstance(data.get("session_id"), str):
                found.add(data["session_id"])
    except OSError:
        pass
    return resolve(found, prefix)


def latest_session() -> str | None:
    """The session whose notes changed last."""
    try:
        candidates = [
            p for p in paths.notes_dir().glob("*.md") if p.is_file() and not p.name.endswith(".own.md")
        ]
    except OSError:
        return None
    if not candidates:
        return None
    newest = max(candidates, key=lambda p: p.stat().st_mtime)
    meta = _read_json(newest.with_suffix(".json"))
    if isinstance(meta, dict) and isinstance(meta.get("session_id"), str):
        return meta["session_id"]
    return newest.stem
