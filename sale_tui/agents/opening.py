"""What the agent sees before its first step, so it does not spend steps opening the obvious.

Like aider's chat files: the files the job names, and in a small repository its instructions,
code and tests, shown whole within a budget. A research job also gets the lines that best
match the question's words (``search_tool``'s ranking), so the first step can open the right
file instead of guessing searches.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass

from sale_tui.agents.environment import Environment, list_files
from sale_tui.agents.file_tools import view
from sale_tui.agents.search_tool import ranked_lines, search_words

BUDGET_CHARS = 6_000
"""About 1,500 tokens: room for a stub, its tests and instructions in a 4k-token context."""
FILE_CHARS = 4_000
SMALL_REPO_FILES = 12
"""A repository with at most this many files is shown whole (within the budget)."""
RESEARCH_HITS = 10
RESEARCH_FILES = 3
_TEXT_SUFFIXES = (".py", ".md", ".txt", ".rst", ".toml", ".cfg", ".ini", ".json", ".yaml", ".yml")
_INSTRUCTIONS = re.compile(r"(^|/)(readme|instructions?|task|problem|spec)[^/]*$", re.IGNORECASE)


@dataclass(frozen=True)
class Opening:
    parts: tuple[tuple[str | None, str], ...]
    """The first turn in pieces: (the file a piece shows whole, or None; its text), so a
    file's piece can give way to a later view of it."""
    files: tuple[str, ...] = ()
    """The repository's files when the job began."""

    @property
    def text(self) -> str:
        return "\n\n".join(text for _, text in self.parts)


def whole_view_header(shown: str) -> bool:
    """Whether a ``view`` output is the whole file ("app.py (40 lines):")."""
    return bool(re.match(r"^.+ \(\d+ lines\):$", shown.split("\n", 1)[0]))


def named_files(job: str, files: list[str]) -> list[str]:
    """Files whose path, or whose name when it is unique, appears in the job text."""
    by_name: dict[str, list[str]] = {}
    for path in files:
        by_name.setdefault(posixpath.basename(path), []).append(path)
    named = []
    for path in files:
        name = posixpath.basename(path)
        spelled = path if re.search(rf"(?<![\w/.-]){re.escape(path)}(?![\w-])", job) else None
        if spelled is None and len(by_name[name]) == 1:
            spelled = name if re.search(rf"(?<![\w/.-]){re.escape(name)}(?![\w-])", job) else None
        if spelled is not None:
            named.append(path)
    return named


_IMPORT = re.compile(r"^\s*(?:from\s+([\w.]+)\s+import|import\s+([\w.]+))", re.MULTILINE)


def files_to_change(
    env: Environment, job: str, files: list[str], read_only: frozenset[str]
) -> list[str]:
    """The files the job names that the agent may change; when it names only tests (read-only:
    "make test_calc.py pass"), the repository's modules those tests import (calc.py)."""
    named = named_files(job, files)
    targets = [f for f in named if f not in read_only]
    if targets or not named:
        return targets
    present = set(files)
    found: list[str] = []
    for test in named:
        for dotted in _IMPORT.findall(env.read(test) or ""):
            module = (dotted[0] or dotted[1]).replace(".", "/")
            for candidate in (f"{module}.py", f"{module}/__init__.py"):
                if candidate in present and candidate not in read_only and candidate not in found:
                    found.append(candidate)
    return found


def _priority(path: str, read_only: frozenset[str]) -> int:
    if _INSTRUCTIONS.search(path):
        return 0
    return 2 if path in read_only else 1  # the code before its tests


def chosen_files(job: str, files: list[str], read_only: frozenset[str]) -> list[str]:
    chosen = named_files(job, files)
    if len(files) <= SMALL_REPO_FILES:
        rest = [f for f in files if f.endswith(_TEXT_SUFFIXES) and f not in chosen]
        chosen += sorted(rest, key=lambda f: (_priority(f, read_only), f))
    return chosen


def _block(path: str, content: str, limit: int, read_only: frozenset[str]) -> str:
    cut = len(content) > limit
    body = content[:limit].rstrip("\n")
    note = " (read-only: the job's tests)" if path in read_only else ""
    more = f"\n[… {len(content) - limit} more characters: view {path}]" if cut else ""
    return f"{path}{note}:\n```\n{body}\n```{more}"


def opening(
    env: Environment,
    job: str,
    kind: str,
    read_only: frozenset[str] = frozenset(),
    budget: int = BUDGET_CHARS,
) -> Opening:
    files = list_files(env)
    listing = f"The repository's files ({len(files)}): " + ", ".join(files[:60])
    if len(files) > 60:
        listing += f", … ({len(files) - 60} more)"
    parts: list[tuple[str | None, str]] = [(None, listing)]
    left = budget
    if kind == "research":
        hits = ranked_lines(env, search_words(job))[:RESEARCH_HITS]
        if hits:
            lines = [f"{path}:{number}: {text.strip()[:200]}" for path, number, text in hits]
            block = "Lines that best match the question's words:\n" + "\n".join(lines)
            parts.append((None, block))
            left -= len(block)
        # the files of the best hits, numbered for citing: often the answer is in them
        best = list(dict.fromkeys(path for path, _, _ in hits))[:RESEARCH_FILES]
        for path in dict.fromkeys([*named_files(job, files), *best]):
            shown = view(env, path)
            if shown.startswith("Error") or len(shown) > left:
                continue
            parts.append((path if whole_view_header(shown) else None, shown))
            left -= len(shown)
        return Opening(tuple(parts), tuple(files))
    for path in chosen_files(job, files, read_only):
        if left < 200:
            break
        content = env.read(path)
        if content is None or "\x00" in content:
            continue
        limit = min(FILE_CHARS, left)
        whole = len(content) <= limit
        parts.append((path if whole else None, _block(path, content, limit, read_only)))
        left -= min(len(content), limit) + len(path) + 10
    return Opening(tuple(parts), tuple(files))
