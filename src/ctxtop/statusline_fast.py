"""The statusline's fast path: the last rendered line again when nothing it depends on changed.

``<python> -m ctxtop statusline`` (what ``claude install --statusline`` writes) and the ``ctxtop`` console
script come here before anything else of ctxtop is imported. This module uses only ``os``, ``sys``, ``time``,
``select`` and the C half of ``json`` (``subprocess`` only with ``--then``), and ``ctxtop.core.limit_windows``: no argparse, pathlib, sqlite3, Textual,
tiktoken or genai-prices, so a refresh whose transcript did not grow costs little more than the interpreter
start.

Every call first keeps Claude Code's report (``record_observation``: the same file ``ctxtop limits`` and the
window resolution read). Then, when ``<data dir>/statusline/<session>.json`` (dir 0700, file 0600, this user's,
never followed through a symlink) was written less than ``FRESH_SECONDS`` ago by a full render whose inputs all
match now -- the transcript's inode, size and mtime, the settings files and config.toml the render read, the
window facts Claude Code reports, the environment variables that configure compaction -- the cached line is
printed with this refresh's plan limits. Anything else (a miss, an option this parser does not know, any
error) hands the already-read input to the full ``ctxtop.commands.statusline``, which updates just that
session and writes the cache for the next refresh.
"""

from __future__ import annotations

import os
import sys
import time

from ctxtop.core.limit_windows import limit_windows

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: importing typing is what this module exists to avoid
if TYPE_CHECKING:
    from typing import TypeGuard

BUDGET = float(os.environ.get("CTXTOP_STATUSLINE_BUDGET") or 2.0)
"""Seconds for the whole answer (Claude Code refreshes the status line every few hundred ms at most)."""
STDIN_LIMIT = 4 << 20
"""Claude Code's statusLine JSON is a few KB; more than this is not read."""
FRESH_SECONDS = 60.0
"""A cached line older than this is recomputed even when nothing it depends on changed (prices, index)."""
MAX_CACHE = 64 << 10
ENV_PREFIXES = ("ANTHROPIC_", "CLAUDE", "CTXTOP_", "DISABLE_", "XDG_", "HOME")
"""The environment variables that can change the window, the compaction point or where ctxtop keeps data."""
OBSERVED_KEPT = ("session_id", "transcript_path", "version", "model", "context_window", "cost", "rate_limits",
                 "exceeds_200k_tokens")  # fmt: skip


# -- JSON without ``json``: its package imports ``re`` (with enum and the regex compiler), which costs more than
# everything else this path does. The same C scanner and encoder ``json`` uses underneath, with ``json``'s own
# defaults; ``json`` itself where the accelerator is missing.
try:
    import _json

    class _Defaults:
        strict = True
        object_hook = None
        object_pairs_hook = None
        parse_float = float
        parse_int = int
        parse_constant = {
            "-Infinity": float("-inf"),
            "Infinity": float("inf"),
            "NaN": float("nan"),
        }.__getitem__
        memo: dict[object, object] = {}

    _SCAN = _json.make_scanner(_Defaults())  # type: ignore[arg-type]  # it reads json.JSONDecoder's attributes

    def _no_default(o: object) -> object:
        raise TypeError(f"Object of type {type(o).__name__} is not JSON serializable")

    def loads(data: bytes | str) -> object:
        """``json.loads`` (strict, json's defaults) of UTF-8 ``data``."""
        text = data.decode("utf-8") if isinstance(data, bytes) else data
        start = len(text) - len(text.lstrip(" \t\n\r"))
        try:
            obj, end = _SCAN(text, start)
        except StopIteration:
            raise ValueError("not JSON") from None
        finally:
            _Defaults.memo.clear()
        if text[end:].strip(" \t\n\r"):
            raise ValueError("extra data after the JSON value")
        return obj

    def dumps(obj: object) -> str:
        """``json.dumps(obj, separators=(",", ":"))``."""
        encode = _json.make_encoder(
            {}, _no_default, _json.encode_basestring_ascii, None, ":", ",", False, False, True
        )
        return "".join(encode(obj, 0))

except (ImportError, AttributeError, TypeError):  # another interpreter: the json package then
    import json

    def loads(data: bytes | str) -> object:
        return json.loads(data)

    def dumps(obj: object) -> str:
        return json.dumps(obj, separators=(",", ":"))


PENDING: tuple[bytes, float] | None = None
"""(stdin, start time) when the fast path read the input but could not answer; the full path takes it."""
_ALNUM = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
_SAFE_CHARS = _ALNUM | frozenset("._-")


def safe_id(name: object) -> TypeGuard[str]:
    """A session id usable as a file name: ``[A-Za-z0-9][A-Za-z0-9._-]{0,127}`` (without importing ``re``)."""
    return (
        isinstance(name, str)
        and 0 < len(name) <= 128
        and name[0] in _ALNUM
        and all(c in _SAFE_CHARS for c in name)
    )


def data_dir(environ: dict[str, str] | os._Environ[str] | None = None) -> str | None:
    """ctxtop's data dir as ``ctxtop.adapters.paths`` resolves it on Linux; None elsewhere (platformdirs)."""
    env = os.environ if environ is None else environ
    override = env.get("CTXTOP_DATA_DIR")
    if override:
        return os.path.expanduser(override)
    if not sys.platform.startswith("linux") or "ANDROID_DATA" in env:
        return None
    base = env.get("XDG_DATA_HOME", "").strip() or os.path.expanduser("~/.local/share")
    return os.path.join(base, "ctxtop")


def private_dir(path: str) -> str | None:
    """``path`` created 0700, or None when it is not a real directory owned by this user."""
    try:
        os.makedirs(path, mode=0o700, exist_ok=True)
        st = os.lstat(path)
    except OSError:
        return None
    if (st.st_mode & 0o170000) != 0o040000 or st.st_uid != os.getuid():
        return None
    if st.st_mode & 0o077:
        try:
            os.chmod(path, 0o700)
        except OSError:
            return None
    return path


def write_private(folder: str, name: str, data: bytes) -> str:
    """``folder/name`` replaced atomically by ``data`` (0600, never through a symlink); returns its path."""
    tmp = os.path.join(folder, f".{name}.{os.getpid()}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
    try:
        fd = os.open(tmp, flags, 0o600)
    except FileExistsError:
        os.unlink(tmp)
        fd = os.open(tmp, flags, 0o600)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)
    target = os.path.join(folder, name)
    os.replace(tmp, target)
    return target


def read_private(path: str, limit: int) -> bytes | None:
    """The bytes of ``path`` when it is a regular file of this user's, at most ``limit`` bytes, else None."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if (st.st_mode & 0o170000) != 0o100000 or st.st_uid != os.getuid() or st.st_size > limit:
            return None
        return os.read(fd, st.st_size)
    except OSError:
        return None
    finally:
        os.close(fd)


def record_observation(payload: dict, now: float | None = None, directory: str | None = None) -> str | None:
    """Keep what Claude Code reported in ``<data dir>/observed/<session>.json``; the file, or None."""
    sid = payload.get("session_id")
    if not safe_id(sid):
        return None
    if directory is None:
        base = data_dir()
        if base is None:
            from ctxtop.adapters import paths

            base = str(paths.data_dir())
        directory = os.path.join(base, "observed")
    folder = private_dir(directory)
    if folder is None:
        return None
    kept = {k: payload[k] for k in OBSERVED_KEPT if k in payload}
    kept["observed_at"] = time.time() if now is None else now
    return write_private(folder, f"{sid}.json", dumps(kept).encode())


def read_stdin(deadline: float, limit: int = STDIN_LIMIT) -> bytes:
    """stdin until EOF, ``limit`` bytes or ``deadline`` (monotonic), whichever comes first."""
    try:
        fd = sys.stdin.fileno()
    except (AttributeError, ValueError, OSError):  # an in-memory stdin (ctxtop called as a library)
        return sys.stdin.read(limit).encode("utf-8", "surrogateescape")
    import select

    chunks: list[bytes] = []
    size = 0
    while size < limit:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            break
        chunk = os.read(fd, min(65536, limit - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def limits_segment(payload: dict, now: float | None = None) -> str:
    found = limit_windows(payload.get("rate_limits"), time.time() if now is None else now)
    return " ".join(f"{label} {used:.0f}%" for _, label, used, _ in found)


def compose(head: list[str], limits: str, tail: list[str]) -> str:
    """The line: ctxtop's figures, this refresh's plan limits, then any config problem notice."""
    return " · ".join([*head, *([limits] if limits else []), *tail])


def join(prefix: str, line: str) -> str:
    """The user's statusline output first, ctxtop's segment after it (on its own line if theirs has several)."""
    if not prefix:
        return line
    return f"{prefix}\n{line}" if "\n" in prefix else f"{prefix} · {line}"


# -- the cache ------------------------------------------------------------------------------------------


def stamp(path: str) -> list[int] | None:
    """What tells a file changed: inode, size, mtime (ns); None when it does not exist."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return [st.st_ino, st.st_size, st.st_mtime_ns]


def window_key(payload: dict) -> list[object]:
    """The parts of Claude Code's report a render depends on (besides the plan limits, applied per refresh)."""
    return [payload.get("context_window"), payload.get("model"), payload.get("version")]


def env_key(environ: dict[str, str] | os._Environ[str] | None = None) -> dict[str, str]:
    env = os.environ if environ is None else environ
    return {k: v for k, v in env.items() if k.startswith(ENV_PREFIXES)}


def cache_file(sid: str, data: str | None) -> str | None:
    base = data or data_dir()
    return None if base is None else os.path.join(base, "statusline", f"{sid}.json")


def store(
    payload: dict, data: str | None, files: list[str], head: list[str], tail: list[str], then: str | None
) -> str | None:
    """Keep a full render for the next refresh: the figures, and the stamps of every file they came from."""
    sid = payload.get("session_id")
    if not safe_id(sid):
        return None
    path = cache_file(sid, data)
    if path is None:
        return None
    folder = private_dir(os.path.dirname(path))
    if folder is None:
        return None
    entry = {
        "written": time.time(),
        "files": [[f, stamp(f)] for f in files],
        "window": window_key(payload),
        "env": env_key(),
        "then": then,
        "head": head,
        "tail": tail,
    }
    return write_private(folder, os.path.basename(path), dumps(entry).encode())


def cached(payload: dict, data: str | None, then: str | None, now: float | None = None) -> str | None:
    """The cached line for this refresh when every input still matches and it is fresh, else None."""
    sid = payload.get("session_id")
    if not safe_id(sid):
        return None
    path = cache_file(sid, data)
    raw = None if path is None else read_private(path, MAX_CACHE)
    if raw is None:
        return None
    try:
        entry = loads(raw)
    except ValueError:
        return None
    if not isinstance(entry, dict):
        return None
    now = time.time() if now is None else now
    written = entry.get("written")
    if not isinstance(written, int | float) or not 0 <= now - written < FRESH_SECONDS:
        return None
    files = entry.get("files")
    transcript = payload.get("transcript_path")
    if not isinstance(files, list) or not files or files[0][0] != transcript:
        return None
    if any(not isinstance(f, list) or len(f) != 2 or stamp(f[0]) != f[1] for f in files):
        return None
    if entry.get("window") != loads(dumps(window_key(payload))) or entry.get("env") != env_key():
        return None
    if entry.get("then") != then:
        return None
    head, tail = entry.get("head"), entry.get("tail")
    if not isinstance(head, list) or not isinstance(tail, list):
        return None
    return compose([str(h) for h in head], limits_segment(payload, now), [str(t) for t in tail])


# -- the entry ------------------------------------------------------------------------------------------


def parse_args(argv: list[str]) -> tuple[str | None, str | None] | None:
    """(data dir, --then) from ``statusline``'s own options; None when there is any other option."""
    data = then = None
    i = 0
    while i < len(argv):
        arg = argv[i]
        name, eq, value = arg.partition("=")
        if name not in ("--cache-dir", "--data-dir", "--then"):
            return None
        if not eq:
            if i + 1 >= len(argv):
                return None
            i += 1
            value = argv[i]
        if name == "--then":
            then = value
        else:
            data = os.path.expanduser(value)
        i += 1
    return data, then


def _user_command(command: str, raw: bytes, deadline: float) -> str:
    import subprocess

    try:
        proc = subprocess.run(
            command,
            shell=True,
            input=raw,
            capture_output=True,
            timeout=max(deadline - time.monotonic(), 0.05),
        )
    except (subprocess.TimeoutExpired, OSError):
        return ""
    return proc.stdout.decode("utf-8", "replace").rstrip("\n")


def main(argv: list[str], budget: float = BUDGET, stdin_limit: int = STDIN_LIMIT) -> bool:
    """Answer from the cache and return True; False (the input kept in ``PENDING``) for the full path.

    Never raises: whatever goes wrong here, the full path answers (and fails open the way it does).
    """
    global PENDING
    try:
        parsed = parse_args(argv)
        if parsed is None:
            return False
        data, then = parsed
        started = time.monotonic()
        raw = read_stdin(started + budget / 3, stdin_limit)
        PENDING = (raw, started)
        payload = loads(raw) if raw.strip() else {}
        if not isinstance(payload, dict):
            return False
        line = cached(payload, data, then)
        if line is None:
            return False
        record_observation(payload)
        prefix = _user_command(then, raw, started + budget / 2) if then else ""
        sys.stdout.write(join(prefix, line) + "\n")
        sys.stdout.flush()
    except Exception:  # noqa: BLE001 - the full path answers instead
        return False
    return True
