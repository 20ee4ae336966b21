"""Reading a repo's files on the host, where the repo is untrusted input: what we read is
bounded in size and never leaves the repo through a link (a committed `README.md ->
/etc/shadow` went into every bidder's prompt; `Makefile -> /dev/zero` read without end).
Standard library only, so the light modules (jobs.py) can use it."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

READ_LIMIT_BYTES = 64_000
WALK_LIMIT_ENTRIES = 20_000


def inside(root: Path, candidate: Path) -> Path | None:
    """``candidate`` with every link resolved, if that is still inside ``root``; else None."""
    base = root.resolve()
    try:
        resolved = candidate.resolve(strict=True)
    except (OSError, RuntimeError):  # missing, or a link loop
        return None
    return resolved if resolved == base or base in resolved.parents else None


def read_bytes(root: Path, relative: str | Path, limit: int = READ_LIMIT_BYTES) -> bytes | None:
    """The first ``limit`` bytes of a regular file inside ``root``; None for a file that is
    missing, not a regular file (a device, a FIFO), or outside ``root``."""
    target = inside(root, root / relative)
    if target is None:
        return None
    try:
        if not stat.S_ISREG(os.stat(target).st_mode):
            return None
        with open(target, "rb") as handle:
            return handle.read(limit)
    except OSError:
        return None


def read_text(root: Path, relative: str | Path, limit: int = READ_LIMIT_BYTES) -> str | None:
    """``read_bytes``, decoded leniently."""
    data = read_bytes(root, relative, limit)
    return None if data is None else data.decode("utf-8", errors="replace")


def walk(root: Path, limit: int = WALK_LIMIT_ENTRIES) -> Iterator[Path]:
    """The repo's files, relative to it, without following links to folders (a link to / would
    walk the whole machine), .git skipped, at most ``limit`` entries."""
    seen = 0
    for folder, dirs, files in os.walk(root, followlinks=False):
        dirs[:] = sorted(d for d in dirs if d != ".git")
        for name in sorted(files):
            seen += 1
            if seen > limit:
                return
            yield Path(folder, name).relative_to(root)
