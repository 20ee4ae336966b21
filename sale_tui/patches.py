"""Hunk-level selection in a git patch, for review before anything reaches the repo.

A ``git diff --binary`` is a sequence of file sections (``diff --git a/… b/…``), each a header
followed by text hunks (``@@ … @@``) or one binary blob. ``split`` lists the files and their
hunks; ``select`` rebuilds a patch with only the chosen ones. Git applies the remaining hunks
of a file at their offsets, so dropping a hunk never invalidates the others. Binary files,
renames, mode changes, creations and deletions are one unit each (all or nothing).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

# Git writes a name plain (`a/x`) or C-quoted (`"a/\\001x"`) when it holds odd bytes.
_QUOTED = rb'"(?:[^"\\\n]|\\.)*"'
_FILE = re.compile(
    rb"^diff --git (" + _QUOTED + rb"|a/.+?) (" + _QUOTED + rb"|b/.+)$", re.MULTILINE
)


def unquote(name: bytes) -> bytes:
    """A path as git writes it in a patch header: plain, or C-quoted (``"\\303\\274/x"``)."""
    if not (name.startswith(b'"') and name.endswith(b'"') and len(name) >= 2):
        return name
    escapes = dict(zip(b'nt"\\abfrv', b'\n\t"\\\a\b\f\r\v', strict=True))
    body, out, i = name[1:-1], bytearray(), 0
    while i < len(body):
        char = body[i : i + 1]
        if char == b"\\" and i + 1 < len(body):
            octal = body[i + 1 : i + 4]
            if len(octal) == 3 and all(48 <= c <= 55 for c in octal):
                out.append(int(octal, 8))
                i += 4
                continue
            out.append(escapes.get(body[i + 1], body[i + 1]))
            i += 2
            continue
        out += char
        i += 1
    return bytes(out)


def header_paths(section: bytes) -> tuple[str, str]:
    """(old path, new path) of a file section's ``diff --git`` line, unquoted, without a/ b/."""
    found = _FILE.match(section)
    assert found is not None
    old, new = (unquote(part)[2:].decode(errors="replace") for part in found.groups())
    return old, new


def preamble(patch: bytes) -> bytes:
    """Whatever comes before the first file section (nothing, in a patch git made)."""
    first = _FILE.search(patch)
    return patch if first is None else patch[: first.start()]


@dataclass(frozen=True)
class FilePatch:
    path: str
    header: bytes
    hunks: tuple[bytes, ...]
    """Text hunks; empty for a file that is one unit (binary, pure rename or mode change)."""
    body: bytes
    """Everything after the header when the file is one unit."""

    @property
    def splittable(self) -> bool:
        return bool(self.hunks)


def _sections(patch: bytes) -> list[tuple[int, int]]:
    """Where each file section begins and ends; none in an empty patch (no changes)."""
    starts = [m.start() for m in _FILE.finditer(patch)]
    return list(zip(starts, [*starts[1:], len(patch)][: len(starts)], strict=True))


def split(patch: bytes) -> list[FilePatch]:
    files = []
    for begin, end in _sections(patch):
        section = patch[begin:end]
        path = header_paths(section)[1]
        first_hunk = section.find(b"\n@@ ")
        is_binary = b"\nGIT binary patch\n" in section or b"\nBinary files " in section
        if first_hunk < 0 or is_binary:
            files.append(FilePatch(path, section, (), b""))
            continue
        header = section[: first_hunk + 1]
        rest = section[first_hunk + 1 :]
        hunk_starts = [m.start() for m in re.finditer(rb"^@@ ", rest, re.MULTILINE)]
        hunks = tuple(
            rest[a:b] for a, b in zip(hunk_starts, [*hunk_starts[1:], len(rest)], strict=True)
        )
        files.append(FilePatch(path, header, hunks, b""))
    return files


def drop(patch: bytes, paths: Iterable[str]) -> bytes:
    """The patch without the files whose old or new path is in ``paths``."""
    unwanted = set(paths)
    kept = [preamble(patch)]
    for begin, end in _sections(patch):
        section = patch[begin:end]
        if not unwanted.intersection(header_paths(section)):
            kept.append(section)
    return b"".join(kept)


def select(patch: bytes, keep: Iterable[tuple[str, int | None]]) -> bytes:
    """A patch with only the chosen ``(path, hunk index)`` pairs; ``None`` keeps a whole file."""
    wanted: dict[str, set[int | None]] = {}
    for path, hunk in keep:
        wanted.setdefault(path, set()).add(hunk)
    out = []
    for file in split(patch):
        chosen = wanted.get(file.path)
        if not chosen:
            continue
        if not file.splittable or None in chosen:
            out.append(file.header + b"".join(file.hunks))
            continue
        hunks = [h for i, h in enumerate(file.hunks) if i in chosen]
        if hunks:
            out.append(file.header + b"".join(hunks))
    return b"".join(out)
