"""What an executing agent acts on: a protocol the sandbox implements, and the tools built on it.

The tools are plain functions of an ``Environment`` (run a command, read and write a file), so
the step loop and its tests do not care whether the files live in Docker or elsewhere.
"""

from __future__ import annotations

import difflib
import re
import shlex
from dataclasses import dataclass
from typing import Protocol

OBSERVATION_CHARS = 3000
VIEW_LINES = 200


@dataclass(frozen=True)
class Outcome:
    exit_code: int
    output: str
    timed_out: bool = False

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.timed_out


class Environment(Protocol):
    def run(self, command: str, timeout_s: float | None = None) -> Outcome: ...

    def read(self, path: str) -> str | None:
        """The file's text, or None when it does not exist."""
        ...

    def write(self, path: str, content: str) -> None: ...


def clip(text: str, limit: int = OBSERVATION_CHARS) -> str:
    if len(text) <= limit:
        return text
    half = limit // 2
    return f"{text[:half]}\n[… {len(text) - limit} characters cut …]\n{text[-half:]}"


def view(env: Environment, path: str) -> str:
    content = env.read(path)
    if content is None:
        return f"Error: {path} does not exist. Use `ACTION: run ls` or `ACTION: search` to look."
    lines = content.splitlines()
    shown = "\n".join(f"{i:4}| {line}" for i, line in enumerate(lines[:VIEW_LINES], 1))
    more = f"\n[… {len(lines) - VIEW_LINES} more lines]" if len(lines) > VIEW_LINES else ""
    return f"{path} ({len(lines)} lines):\n{shown}{more}"


def search(env: Environment, pattern: str) -> str:
    result = env.run(f"rg -n --no-heading --max-count 20 -- {shlex.quote(pattern)} . | head -50")
    return clip(result.output) or f"No match for {pattern!r}."


def edit(env: Environment, path: str, old: str, new: str) -> str:
    """Replace ``old`` by ``new`` exactly once; a new file when ``old`` is empty."""
    content = env.read(path)
    if content is None:
        if old.strip():
            return f"Error: {path} does not exist; to create it, leave the SEARCH part empty."
        env.write(path, new if new.endswith("\n") else new + "\n")
        return f"Created {path}."
    count = content.count(old) if old else 0
    if count == 1:
        env.write(path, content.replace(old, new, 1))
        return f"Edited {path}: replaced {len(old.splitlines())} line(s)."
    if count > 1:
        return (
            f"Error: the SEARCH text occurs {count} times in {path}; include more "
            "surrounding lines so it matches once."
        )
    old, new = _without_view_numbers(old), _without_view_numbers(new)
    loose = _replace_ignoring_indentation(content, old, new)
    if loose is not None:
        env.write(path, loose)
        return f"Edited {path}: replaced {len(old.splitlines())} line(s) (indentation adjusted)."
    if new.strip() and _replace_ignoring_indentation(content, new, new) is not None:
        # Small models sometimes write the blocks the wrong way round; say so, do not guess.
        return (
            f"Error: the SEARCH text is not in {path}, but the REPLACE text already is: the "
            "blocks look swapped. SEARCH must copy the lines as they are now, REPLACE gives "
            "the new lines."
        )
    close = difflib.get_close_matches(
        old.strip().splitlines()[0] if old.strip() else "", content.splitlines(), n=3, cutoff=0.5
    )
    hint = ("\nClosest lines in the file:\n" + "\n".join(close)) if close else ""
    return (
        f"Error: the SEARCH text was not found in {path}; copy it exactly "
        f"(view the file first).{hint}"
    )


_VIEW_NUMBER = re.compile(r"^ *\d+\| ?")


def _without_view_numbers(text: str) -> str:
    """Drop the ``  12| `` prefixes that ``view`` adds, when a model copied them into a block."""
    lines = text.splitlines()
    if lines and all(_VIEW_NUMBER.match(line) for line in lines if line.strip()):
        return "\n".join(_VIEW_NUMBER.sub("", line, count=1) for line in lines)
    return text


def _replace_ignoring_indentation(content: str, old: str, new: str) -> str | None:
    """Replace the one run of lines equal to ``old`` up to leading/trailing whitespace,
    shifting ``new`` by the indentation difference (small models often mis-indent SEARCH)."""
    wanted = [line.strip() for line in old.strip("\n").splitlines()]
    if not wanted or not any(wanted):
        return None
    lines = content.splitlines(keepends=True)
    hits = [
        i
        for i in range(len(lines) - len(wanted) + 1)
        if [line.strip() for line in lines[i : i + len(wanted)]] == wanted
    ]
    if len(hits) != 1:
        return None
    start = hits[0]
    first_old = old.strip("\n").splitlines()[0]
    shift = (len(lines[start]) - len(lines[start].lstrip())) - (
        len(first_old) - len(first_old.lstrip())
    )
    replacement = []
    for line in new.strip("\n").splitlines():
        if shift > 0:
            line = " " * shift + line
        elif shift < 0 and line.startswith(" " * -shift):
            line = line[-shift:]
        replacement.append(line + "\n")
    return "".join(lines[:start] + replacement + lines[start + len(wanted) :])


def run_tests(env: Environment, command: str | None) -> str:
    if not command:
        return "Error: no test command is configured for this repository; use `ACTION: run`."
    result = env.run(command)
    verdict = "PASSED" if result.ok else ("TIMED OUT" if result.timed_out else "FAILED")
    return f"Tests {verdict} (`{command}`, exit {result.exit_code}):\n{clip(result.output)}"
