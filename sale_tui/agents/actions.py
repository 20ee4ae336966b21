"""The actions an executing agent can take, and the text format small models write them in.

One action per reply::

    ACTION: run <shell command>
    ACTION: view <path>
    ACTION: search <regular expression>
    ACTION: test
    ACTION: write <path>
    ```
    the whole new content of the file
    ```
    ACTION: edit <path>
    <<<<<<< SEARCH
    exact lines to replace
    =======
    new lines
    >>>>>>> REPLACE
    ACTION: finish <summary of what was done and how it was checked>

Two ways to change a file, as in aider: ``write`` gives the whole file (what small models get
right: no exact copy of old lines needed), ``edit`` is aider's search/replace block (cheaper on
big files, for models that copy text exactly). Anything the parser cannot read comes back to
the model as an error saying what to write instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Tool = Literal["run", "view", "search", "test", "write", "edit", "finish"]
TOOLS: tuple[Tool, ...] = ("run", "view", "search", "test", "write", "edit", "finish")

# Every pattern here is searched once, forward, from a known position: a reply is model output,
# and one regex with two lazy groups took 27 s of CPU on a 3.5 KB reply of repeated markers.
# `[ \t]*`, not `\s*`, at a line start: `\s` would rescan every run of blank lines.
_ACTION = re.compile(r"^[ \t]*(?:\*\*)?ACTION:?(?:\*\*)?[ \t]*(\w+)[ \t]*(.*)$", re.MULTILINE)
_SEARCH_HEAD = re.compile(r"<{5,9} SEARCH\n")
# Lenient about the newline after the divider (small models drop it): then the text right
# after ======= is the first replacement line, indentation included.
_DIVIDER = re.compile(r"\n?={5,9}(?:[ \t]*\n)?")
_REPLACE_TAIL = re.compile(r"\n?>{5,9} REPLACE")
_FENCE_OPEN = re.compile(r"^[ \t]*(`{3,}|~{3,})[^\n`]*\n", re.MULTILINE)
STOP = ["\nACTION:"]
"""Stop sequences for a step: a reply holds one action, so generation ends at a second one."""

FORMAT_HELP = (
    "Reply with exactly one line starting with ACTION:, one of: `ACTION: run <command>`, "
    "`ACTION: view <path>`, `ACTION: search <words>`, `ACTION: test`, `ACTION: write <path>` "
    "followed by the whole file in a ``` block, `ACTION: edit <path>` followed by a "
    "<<<<<<< SEARCH / ======= / >>>>>>> REPLACE block, or `ACTION: finish <summary>`."
)


@dataclass(frozen=True)
class Action:
    tool: Tool
    arg: str = ""
    search: str | None = None
    replace: str | None = None


class ActionError(ValueError):
    """The reply holds no readable action; the message says how to write one."""


_FILE_LINE = re.compile(r"^[ \t*`#]*(?P<path>[\w./-]+\.\w+)[ \t*`:]*$")


def parse(text: str, default_file: str | None = None) -> Action:
    """The reply's action. A reply with no ACTION line but a code block (what small models
    write when asked for code) is a whole-file write: to the file named on the line above
    the block, or else to ``default_file`` (the one file the job is about)."""
    match = _ACTION.search(text)
    if match is None:
        block = _FENCE_OPEN.search(text)
        if block is not None:
            above = text[: block.start()].rstrip("\n").rsplit("\n", 1)[-1]
            named = _FILE_LINE.match(above) if len(above) <= 300 else None  # bounded: linear
            path = named["path"] if named else default_file
            if path:
                return Action("write", path, replace=_whole_file(text, block.start()))
        raise ActionError(f"no action found. {FORMAT_HELP}")
    name = match.group(1).lower()
    arg = match.group(2).strip().strip("`").strip()
    if name not in TOOLS:
        raise ActionError(f"unknown action '{name}'. {FORMAT_HELP}")
    tool = TOOLS[TOOLS.index(name)]
    if tool in ("view", "search"):
        # the prompt's action list has its descriptions in a column after a wide gap, and
        # small models copy the description too: a wide gap ends the argument
        arg = re.split(r"[ \t]{3,}", arg, maxsplit=1)[0]
    if tool in ("run", "view", "search") and not arg:
        raise ActionError(f"`ACTION: {tool}` needs an argument on the same line.")
    if tool == "write":
        if not arg:
            raise ActionError("`ACTION: write <path>` needs the file's path on the same line.")
        return Action("write", arg.split()[0].rstrip(":"), replace=_whole_file(text, match.end()))
    if tool == "edit":
        pair = _edit_block(text, match.end())
        if not arg or pair is None:
            raise ActionError(
                "`ACTION: edit <path>` must be followed by a <<<<<<< SEARCH block, "
                "a ======= line and a >>>>>>> REPLACE line."
            )
        return Action("edit", arg, *pair)
    return Action(tool, arg)


def _edit_block(text: str, start: int) -> tuple[str, str] | None:
    """(search, replace) of the first edit block after ``start``: its SEARCH line, the first
    divider after it, the first REPLACE line after that. Linear in the reply's length."""
    head = _SEARCH_HEAD.search(text, start)
    divider = head and _DIVIDER.search(text, head.end())
    tail = divider and _REPLACE_TAIL.search(text, divider.end())
    if head is None or divider is None or tail is None:
        return None
    return text[head.end() : divider.start()], text[divider.end() : tail.start()]


def _whole_file(text: str, start: int) -> str:
    """The content of the first fenced block after ``start`` (the fence line's language tag
    dropped). Without a closing fence the reply was cut off: refused, not half a file."""
    opening = _FENCE_OPEN.search(text, start)
    if opening is None:
        raise ActionError(
            "`ACTION: write <path>` must be followed by the whole file inside a ``` block."
        )
    fence = opening.group(1)
    closing = re.compile(rf"^[ \t]*{re.escape(fence)}[ \t]*$", re.MULTILINE)
    # the last bare fence closes it: a file may hold fenced blocks of its own (a README), and
    # a reply holds one action (generation stops at a second one)
    end = max(closing.finditer(text, opening.end()), key=lambda m: m.start(), default=None)
    if end is None:
        raise ActionError(
            "the file has no closing ``` (the reply was cut off): nothing was written. "
            "Write it again, shorter, or change part of it with `ACTION: edit`."
        )
    content = text[opening.end() : end.start()]
    first, _, rest = content.partition("\n")
    # the language tag on a line of its own inside the block (```\npython\n…)
    return rest if first.strip().lower() in ("python", "py", "python3") else content
