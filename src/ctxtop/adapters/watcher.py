"""Tell a callback which log files changed: one watchdog observer plus a cheap stat poll as a backstop.

The files are those of the sources in effect (``ctxtop.sources.registry.Sources``): the watcher watches every
source's roots and keeps the paths a source claims (``Source.is_log``). Watchdog events (inotify, FSEvents...)
are fast but can be lost: inotify watch limits, network filesystems, editors that replace files. So a poll
runs every ``poll_interval`` seconds over what is cheap to check: the mtime of the folders where a source's
new files appear (``Source.poll_dirs``: a new file changes its folder's) and the size/mtime of the "hot"
files, the ones that changed recently. Events and poll findings are coalesced for ``debounce`` seconds and handed to the
callback as one set of paths, from the watcher's own thread. Duplicates are harmless: the index skips files
whose (inode, size, mtime) did not change.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from watchdog.events import FileSystemEvent, FileSystemEventHandler
    from watchdog.observers.api import BaseObserver

    from ctxtop.sources.base import Source
    from ctxtop.sources.registry import Sources

log = logging.getLogger(__name__)

HOT_SECONDS = 3600.0
"""A file that changed within this long is stat'ed at every poll."""
SWEEP_EVERY = 15
"""Every this many polls, stat every log file in the known directories."""


class Watcher:
    """Watch the roots of ``sources`` recursively; call ``on_change(paths)`` with coalesced sets of changed
    log files."""

    def __init__(
        self,
        sources: Sources,
        on_change: Callable[[set[Path]], None],
        *,
        poll_interval: float = 2.0,
        debounce: float = 0.02,
        use_observer: bool = True,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.sources = sources
        # Every root, existing or not: one that appears later (the tool's first run creates it) is picked up.
        self._roots: list[tuple[Path, Source]] = [(Path(r), s) for s in sources.sources for r in s.roots()]
        self.roots = [root for root, _ in self._roots]
        self.on_change = on_change
        self.poll_interval = poll_interval
        self.debounce = debounce
        self.use_observer = use_observer
        self.clock = clock
        self._pending: set[str] = set()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._observer: BaseObserver | None = None
        self._handler: FileSystemEventHandler | None = None
        self._watched: set[str] = set()
        self._dirs: dict[str, int] = {}
        self._hot: dict[str, tuple[int, int, int]] = {}
        """size, mtime and ctime of each hot file: ctime also changes on a rewrite that keeps size and mtime."""
        self.polls = 0
        self._last_sweep_ns = int(clock() * 1e9)

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        self._scan_dirs(initial=True)
        if self.use_observer:
            self._start_observer()
        self._thread = threading.Thread(target=self._loop, name="ctxtop-watcher", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._observer is not None:
            try:
                self._observer.stop()
                self._observer.join(timeout=2)
            except Exception:  # noqa: BLE001 - shutting down: nothing useful to do with it
                pass
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=2)

    def _start_observer(self) -> None:
        try:
            from watchdog.events import FileSystemEventHandler
            from watchdog.observers import Observer
        except ImportError:  # pragma: no cover - watchdog is a dependency; the poll still works
            return
        watcher = self

        class Handler(FileSystemEventHandler):
            def on_any_event(self, event: FileSystemEvent) -> None:
                if event.event_type not in ("created", "modified", "moved", "closed"):
                    return
                for attr in ("src_path", "dest_path"):
                    path = getattr(event, attr, "")
                    if isinstance(path, bytes):
                        path = os.fsdecode(path)
                    if path and not event.is_directory and watcher.sources.source_of(path) is not None:
                        watcher.notify([path])

        observer = Observer()
        self._handler = Handler()
        try:
            observer.start()
        except OSError as exc:
            log.warning("file watching unavailable (%s); polling only", exc)
            return
        self._observer = observer
        self._schedule_new_roots()

    def _schedule_new_roots(self) -> None:
        """Watch the roots that exist now (a root may appear later: the first Claude Code run creates it)."""
        if self._observer is None or self._handler is None:
            return
        for root in self.roots:
            key = str(root)
            if key in self._watched or not root.is_dir():
                continue
            try:
                self._observer.schedule(self._handler, key, recursive=True)
                self._watched.add(key)
            except OSError as exc:  # inotify limit reached: the poll covers this root
                log.warning("cannot watch %s: %s", root, exc)
                self._watched.add(key)

    # ------------------------------------------------------------------ events

    def notify(self, paths: Iterable[str | Path]) -> None:
        """Record changed paths (thread-safe); the loop hands them over after ``debounce``."""
        with self._lock:
            self._pending.update(str(p) for p in paths)
        self._wake.set()

    def _loop(self) -> None:
        next_poll = time.monotonic() + self.poll_interval
        while not self._stop.is_set():
            timeout = max(next_poll - time.monotonic(), 0.0)
            woke = self._wake.wait(timeout)
            if self._stop.is_set():
                return
            if woke:
                self._wake.clear()
                if self.debounce:
                    # Let a burst of writes land; one callback for all of them.
                    time.sleep(self.debounce)
            if time.monotonic() >= next_poll:
                self.poll()
                next_poll = time.monotonic() + self.poll_interval
            self._flush()

    def _flush(self) -> None:
        with self._lock:
            batch, self._pending = self._pending, set()
        if not batch:
            return
        for path in batch:
            self._remember(path)
        try:
            self.on_change({Path(p) for p in batch})
        except Exception:  # noqa: BLE001 - a failing callback must not kill the watcher
            log.exception("watch callback failed")

    # ------------------------------------------------------------------ poll backstop

    def _remember(self, path: str) -> None:
        try:
            st = os.stat(path)
        except OSError:
            self._hot.pop(path, None)
            return
        self._hot[path] = (st.st_size, st.st_mtime_ns, st.st_ctime_ns)

    def _scan_dirs(self, initial: bool = False) -> set[str]:
        """New log files, found through directory mtimes (a new file changes its directory's)."""
        found: set[str] = set()
        cutoff = self.clock() - HOT_SECONDS
        for root, source in self._roots:
            for folder in self._folders(root, source):
                try:
                    mtime = os.stat(folder).st_mtime_ns
                except OSError:
                    self._dirs.pop(folder, None)
                    continue
                if self._dirs.get(folder) == mtime:
                    continue
                self._dirs[folder] = mtime
                try:
                    entries = list(os.scandir(folder))
                except OSError:
                    continue
                for entry in entries:
                    if entry.path in self._hot or not source.is_log(entry.path):
                        continue
                    try:
                        st = entry.stat()
                    except OSError:
                        continue
                    if initial and st.st_mtime < cutoff:
                        continue
                    self._hot[entry.path] = (st.st_size, st.st_mtime_ns, st.st_ctime_ns)
                    if not initial:
                        found.add(entry.path)
        return found

    def _folders(self, root: Path, source: Source) -> list[str]:
        """Where the source's new files appear under ``root`` (``Source.poll_dirs``), given the hot files."""
        return source.poll_dirs(root, list(self._hot))

    def _sweep(self) -> set[str]:
        """Every file, not only hot ones: catches an old session resumed while watchdog missed it."""
        found: set[str] = set()
        since = self._last_sweep_ns
        self._last_sweep_ns = int(self.clock() * 1e9)
        for root, source in self._roots:
            for folder in self._folders(root, source):
                try:
                    entries = list(os.scandir(folder))
                except OSError:
                    continue
                for entry in entries:
                    if entry.path not in self._hot and source.is_log(entry.path):
                        try:
                            st = entry.stat()
                        except OSError:
                            continue
                        if st.st_mtime_ns >= since:
                            self._hot[entry.path] = (st.st_size, st.st_mtime_ns, st.st_ctime_ns)
                            found.add(entry.path)
        return found

    def poll(self) -> None:
        """One backstop pass; changed paths join the pending set."""
        self.polls += 1
        self._schedule_new_roots()
        changed = self._scan_dirs()
        if self.polls % SWEEP_EVERY == 0:
            changed |= self._sweep()
        cutoff_ns = int((self.clock() - HOT_SECONDS) * 1e9)
        for path, seen in list(self._hot.items()):
            try:
                st = os.stat(path)
            except OSError:
                del self._hot[path]
                continue
            now = (st.st_size, st.st_mtime_ns, st.st_ctime_ns)
            if now != seen:
                self._hot[path] = now
                changed.add(path)
            elif st.st_mtime_ns < cutoff_ns:
                del self._hot[path]  # cooled down; its directory's mtime still reveals new siblings
        if changed:
            with self._lock:
                self._pending.update(changed)
