"""The tree walked by directory stamps: ``os.walk`` that lists again only the directories that changed.

The sources' walks go through ``walk_dirs``; the index keeps the listings between updates
(``adapters.index_dirs``) and activates them with ``listing_cache`` around a walk. Every directory is still
stat'ed (one call, where listing takes several), and every known file is stat'ed by the index for appends.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

RACY_NS = 2_000_000_000
"""A directory modified less than this long before it is listed (ns) is listed again next time: an entry added
within the same mtime tick as the listing would leave its mtime unchanged (the racy-git problem)."""


class Listings:
    """Directory listings from earlier walks, so that a walk lists again only the directories that changed.

    ``known`` maps a directory's path to ``(stamp, dirnames, filenames)``, ``stamp`` being its (dev, inode,
    mtime, ctime) when listed: a directory's mtime changes whenever an entry is added, removed or renamed in
    it, its ctime when its permissions change. A directory holding a symbolic link is never kept (what the
    link points to can change kind without the directory changing), nor one whose mtime is racy (``RACY_NS``)."""

    __slots__ = ("known", "changed", "visited")

    def __init__(self, known: dict[str, tuple[tuple[int, int, int, int], list[str], list[str]]]) -> None:
        self.known = known
        self.changed: dict[str, tuple[tuple[int, int, int, int], list[str], list[str]] | None] = {}
        """Listings to store (None: no longer to be kept) since this object was made."""
        self.visited: set[str] = set()


_LISTINGS: Listings | None = None


class listing_cache:  # noqa: N801 - used as a context manager, like contextlib's (not imported: ~4 ms)
    """Within it, ``walk_dirs`` stats a known directory instead of listing it when it has not changed."""

    __slots__ = ("listings", "outer")

    def __init__(self, listings: Listings) -> None:
        self.listings = listings
        self.outer: Listings | None = None

    def __enter__(self) -> Listings:
        global _LISTINGS
        self.outer, _LISTINGS = _LISTINGS, self.listings
        return self.listings

    def __exit__(self, *exc: object) -> None:
        global _LISTINGS
        _LISTINGS = self.outer


def walk_dirs(root: Path) -> Iterator[tuple[str, list[str], list[str]]]:
    """``os.walk(root, followlinks=False)`` (top-down; callers may prune ``dirnames`` in place), through the
    active ``listing_cache`` when there is one: the same triples, in the same order of directories."""
    cache = _LISTINGS
    if cache is None:
        yield from os.walk(root, followlinks=False)
        return
    stack = [str(root)]
    while stack:
        top = stack.pop()
        listed = _listing(top, cache)
        if listed is None:
            continue  # unreadable or gone: os.walk skips it too
        dirnames, filenames, walk_into = listed
        yield top, dirnames, filenames
        # os.walk descends into what is left of dirnames, except symbolic links, in order.
        stack.extend(os.path.join(top, d) for d in reversed(dirnames) if d in walk_into)


def list_dir(folder: Path) -> list[str]:
    """The names in ``folder`` (entries of every kind, as a glob sees them), through the active
    ``listing_cache`` like ``walk_dirs``; [] when it cannot be listed."""
    cache = _LISTINGS
    if cache is None:
        try:
            return os.listdir(folder)
        except OSError:
            return []
    listed = _listing(str(folder), cache)
    return [] if listed is None else listed[0] + listed[1]


def _listing(top: str, cache: Listings) -> tuple[list[str], list[str], set[str]] | None:
    cache.visited.add(top)
    try:
        st = os.stat(top)
    except OSError:
        return None
    stamp = (st.st_dev, st.st_ino, st.st_mtime_ns, st.st_ctime_ns)
    known = cache.known.get(top)
    if known is not None and known[0] == stamp:
        return list(known[1]), list(known[2]), set(known[1])
    now = time.time_ns()  # before listing: an entry added after this cannot hide under an old stamp
    dirnames: list[str] = []
    filenames: list[str] = []
    walk_into: set[str] = set()
    keep = now - st.st_mtime_ns >= RACY_NS
    try:
        with os.scandir(top) as entries:
            for entry in entries:
                try:
                    is_dir = entry.is_dir()
                except OSError:
                    is_dir = False
                try:
                    link = entry.is_symlink()
                except OSError:
                    link = True
                if link:
                    keep = False
                (dirnames if is_dir else filenames).append(entry.name)
                if is_dir and not link:
                    walk_into.add(entry.name)
    except OSError:
        return None
    if keep:
        try:
            "/".join(dirnames + filenames).encode("utf-8")  # the index stores names as UTF-8 text
        except UnicodeEncodeError:
            keep = False
    if keep:
        # Copies: the caller prunes the dirnames it is given in place.
        cache.known[top] = cache.changed[top] = (stamp, list(dirnames), list(filenames))
    elif known is not None:
        del cache.known[top]
        cache.changed[top] = None
    return dirnames, filenames, walk_into
