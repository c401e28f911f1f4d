"""Tell a callback which log files changed: one watchdog observer, and a cheap stat poll where it cannot see.

The files are those of the sources in effect (``ctxtop.sources.registry.Sources``): the watcher watches every
source's roots and keeps the paths a source claims (``Source.is_log``). A root that a native watchdog observer
(inotify, FSEvents, ReadDirectoryChangesW) watches costs nothing while nothing changes: no file or folder
under it is stat'ed, whatever the history's size. The stat poll runs every ``poll_interval`` seconds only over
the roots it cannot see: no native observer (or its thread died), a watch refused (inotify watch limit), a
network filesystem (NFS, SMB, sshfs...: writes made on another machine raise no local event). There it
compares the mtime of the folders where a source's new files appear (``Source.poll_dirs``: a new file changes
its folder's) and the size/mtime of the "hot" files, the ones that changed recently, and every
``SWEEP_EVERY`` polls stats every file. Every poll also looks for roots that appeared since (the tool's first
run creates them), watches them and reports the files already there. Events and poll findings are coalesced
for ``debounce`` seconds and handed to the callback as one set of paths, from the watcher's own thread.
Duplicates are harmless: the index skips files whose (inode, size, mtime) did not change.
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
"""A file that changed within this long is stat'ed at every poll (of a root the observer cannot see)."""
SWEEP_EVERY = 15
"""Every this many polls, stat every log file in the known directories (of the roots that are polled)."""
REMOTE_FILESYSTEMS = frozenset(
    "nfs nfs4 cifs smb3 smbfs 9p afs ceph glusterfs lustre gpfs ocfs2 virtiofs davfs vboxsf vmhgfs "
    "fuse.sshfs fuse.rclone fuse.s3fs fuse.gcsfuse fuse.davfs2 fuse.glusterfs fuse.cephfs fuse.vmhgfs-fuse".split()
)
"""Filesystems where another machine (or the host of a VM or container) can write without a local event."""


def filesystem_type(path: str, mountinfo: str = "/proc/self/mountinfo") -> str | None:
    """The type of the filesystem ``path`` is on (Linux ``/proc/self/mountinfo``), or None if unknown."""
    try:
        with open(mountinfo, encoding="utf-8", errors="replace") as fh:
            lines = fh.read().splitlines()
    except OSError:
        return None
    real = os.path.realpath(path)
    best, found = -1, None
    for line in lines:
        left, sep, right = line.partition(" - ")
        parts, rest = left.split(), right.split()
        if not sep or len(parts) < 5 or not rest:
            continue
        # Mount points escape space, tab, newline and backslash as octal (\040 ...).
        point = parts[4].encode().decode("unicode_escape", errors="replace")
        inside = real == point or real.startswith(point.rstrip("/") + "/")
        # The longest mount point holding the path wins; a later line of the same point is mounted over it.
        if inside and len(point) >= best:
            best, found = len(point), rest[0]
    return found


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
        """Roots given to the observer, or found unwatchable (they are polled): not tried again."""
        self.seen_by_observer: set[str] = set()
        """Roots the native observer watches whole, on a local filesystem: the poll skips them."""
        self._dirs: dict[str, int] = {}
        self._hot: dict[str, tuple[int, int, int]] = {}
        """size, mtime and ctime of each hot file: ctime also changes on a rewrite that keeps size and mtime."""
        self.polls = 0
        self.events_seen = 0
        """Events the observer delivered (kept or not): an idle tree read by others delivers none."""
        self._event_filter: list[type] = []
        self._last_sweep_ns = int(clock() * 1e9)
        self._last_poll_ns = self._last_sweep_ns

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        if self.use_observer:
            self._start_observer()
        self._scan_dirs(initial=True)
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
            from watchdog import events
            from watchdog.observers import Observer
        except ImportError:  # pragma: no cover - watchdog is a dependency; the poll still works
            return
        watcher = self
        # Writes only: a process reading the tree (Claude Code, ccusage, another ctxtop) would otherwise wake
        # the observer for every file it opens (inotify's open and close-without-write events).
        self._event_filter = [
            events.FileCreatedEvent, events.FileModifiedEvent, events.FileMovedEvent, events.FileClosedEvent,
            events.DirCreatedEvent, events.DirMovedEvent,
        ]  # fmt: skip

        class Handler(events.FileSystemEventHandler):
            def on_any_event(self, event: FileSystemEvent) -> None:
                watcher.events_seen += 1
                if event.event_type not in ("created", "modified", "moved", "closed"):
                    return
                for attr in ("src_path", "dest_path"):
                    path = getattr(event, attr, "")
                    if isinstance(path, bytes):
                        path = os.fsdecode(path)
                    if path and not event.is_directory and watcher.sources.source_of(path) is not None:
                        watcher.notify([path])

        observer = Observer()
        if type(observer).__name__ == "PollingObserver":
            # No native events here: watchdog's polling stats every file each second; ours is cheaper.
            log.info("no native file events on this system; polling only")
            return
        self._handler = Handler()
        try:
            observer.start()
        except OSError as exc:
            log.warning("file watching unavailable (%s); polling only", exc)
            return
        self._observer = observer
        self._schedule_new_roots()

    def _schedule_new_roots(self) -> list[str]:
        """Watch the roots that exist now (a root may appear later: the first Claude Code run creates it);
        returns the roots the observer sees from now on."""
        if self._observer is None or self._handler is None:
            return []
        added = []
        for root in self.roots:
            key = str(root)
            if key in self._watched or not root.is_dir():
                continue
            self._watched.add(key)
            try:
                self._observer.schedule(self._handler, key, recursive=True, event_filter=self._event_filter)
            except OSError as exc:  # inotify limit reached: the poll covers this root
                log.warning("cannot watch %s (%s): polling it", root, exc)
                continue
            kind = filesystem_type(key)
            if kind in REMOTE_FILESYSTEMS:
                log.info("%s is on %s: polling it as well", root, kind)
                continue
            self.seen_by_observer.add(key)
            added.append(key)
        return added

    def _observer_alive(self) -> bool:
        observer = self._observer
        if observer is None or not observer.is_alive():
            return False
        # One emitter thread per watched root; a dead one sees nothing any more.
        return all(emitter.is_alive() for emitter in observer.emitters)

    def polled_roots(self) -> list[tuple[Path, Source]]:
        """The roots the stat poll covers: those the observer does not see."""
        return [(root, source) for root, source in self._roots if str(root) not in self.seen_by_observer]

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
        if self._observed(path):
            return  # the observer reports its next change: nothing to stat
        try:
            st = os.stat(path)
        except OSError:
            self._hot.pop(path, None)
            return
        self._hot[path] = (st.st_size, st.st_mtime_ns, st.st_ctime_ns)

    def _observed(self, path: str) -> bool:
        return any(path.startswith(root + os.sep) for root in self.seen_by_observer)

    def _scan_dirs(self, initial: bool = False, roots: list[tuple[Path, Source]] | None = None) -> set[str]:
        """New log files, found through directory mtimes (a new file changes its directory's)."""
        found: set[str] = set()
        cutoff = self.clock() - HOT_SECONDS
        for root, source in self.polled_roots() if roots is None else roots:
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

    def _sweep(self, roots: list[tuple[Path, Source]] | None = None, since_ns: int | None = None) -> set[str]:
        """Every file, not only hot ones: catches an old session resumed while watchdog missed it."""
        found: set[str] = set()
        if since_ns is None:
            since_ns = self._last_sweep_ns
            self._last_sweep_ns = int(self.clock() * 1e9)
        for root, source in self.polled_roots() if roots is None else roots:
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
                        if st.st_mtime_ns >= since_ns:
                            self._hot[entry.path] = (st.st_size, st.st_mtime_ns, st.st_ctime_ns)
                            found.add(entry.path)
        return found

    def poll(self) -> None:
        """One backstop pass; changed paths join the pending set."""
        self.polls += 1
        changed: set[str] = set()
        since_ns, self._last_poll_ns = self._last_poll_ns, int(self.clock() * 1e9)
        if self.seen_by_observer and not self._observer_alive():
            # The observer died: its roots are polled from now on, from what changed since the last poll.
            log.warning("file watching stopped; polling instead")
            lost = [(r, s) for r, s in self._roots if str(r) in self.seen_by_observer]
            self.seen_by_observer.clear()
            # A margin: file mtimes come from a coarser clock than ours; a file reported twice is harmless.
            changed |= self._sweep(lost, since_ns - 2_000_000_000)  # first: the scan below would hide these
            self._scan_dirs(initial=True, roots=lost)
        for key in self._schedule_new_roots():
            # A root that appeared since (nearly empty): files written before its watch was set, reported now.
            sources = {source for root, source in self._roots if str(root) == key}
            changed |= {
                str(p) for source in sources for p in source.iter_files() if str(p).startswith(key + os.sep)
            }
        polled = self.polled_roots()
        if polled:
            changed |= self._scan_dirs(roots=polled)
            if self.polls % SWEEP_EVERY == 0:
                changed |= self._sweep(polled)
        cutoff_ns = int((self.clock() - HOT_SECONDS) * 1e9)
        for path, seen in list(self._hot.items()):
            if self._observed(path):
                del self._hot[path]  # its root is watched now
                continue
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
