"""The actions an executing agent can take, and the text format small models write them in.

One action per reply::

    ACTION: run <shell command>
    ACTION: view <path>
    ACTION: search <regular expression>
    ACTION: test
    ACTION: edit <path>
    <<<<<<< SEARCH
    exact lines to replace
    =======
    new lines
    >>>>>>> REPLACE
    ACTION: finish <summary of what was done and how it was checked>

The edit block is aider's search/replace format, which coder models know well. Anything the
parser cannot read comes back to the model as an error saying what to write instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Tool = Literal["run", "view", "search", "test", "edit", "finish"]
TOOLS: tuple[Tool, ...] = ("run", "view", "search", "test", "edit", "finish")

# Every pattern here is searched once, forward, from a known position: a reply is model output,
# and one regex with two lazy groups took 27 s of CPU on a 3.5 KB reply of repeated markers.
# `[ \t]*`, not `\s*`, at a line start: `\s` would rescan every run of blank lines.
_ACTION = re.compile(r"^[ \t]*(?:\*\*)?ACTION:?(?:\*\*)?[ \t]*(\w+)[ \t]*(.*)$", re.MULTILINE)
_SEARCH_HEAD = re.compile(r"<{5,9} SEARCH\n")
# Lenient about the newline after the divider (small models drop it): then the text right
# after ======= is the first replacement line, indentation included.
_DIVIDER = re.compile(r"\n?={5,9}(?:[ \t]*\n)?")
_REPLACE_TAIL = re.compile(r"\n?>{5,9} REPLACE")
STOP = ["\nACTION:"]
"""Stop sequences for a step: a reply holds one action, so generation ends at a second one."""

FORMAT_HELP = (
    "Reply with exactly one line starting with ACTION:, one of: `ACTION: run <command>`, "
    "`ACTION: view <path>`, `ACTION: search <regex>`, `ACTION: test`, `ACTION: edit <path>` "
    "followed by a <<<<<<< SEARCH / ======= / >>>>>>> REPLACE block, or "
    "`ACTION: finish <summary>`."
)


@dataclass(frozen=True)
class Action:
    tool: Tool
    arg: str = ""
    search: str | None = None
    replace: str | None = None


class ActionError(ValueError):
    """The reply holds no readable action; the message says how to write one."""


def parse(text: str) -> Action:
    match = _ACTION.search(text)
    if match is None:
        raise ActionError(f"no action found. {FORMAT_HELP}")
    name = match.group(1).lower()
    arg = match.group(2).strip().strip("`").strip()
    if name not in TOOLS:
        raise ActionError(f"unknown action '{name}'. {FORMAT_HELP}")
    tool = TOOLS[TOOLS.index(name)]
    if tool in ("run", "view", "search") and not arg:
        raise ActionError(f"`ACTION: {tool}` needs an argument on the same line.")
    if tool == "edit":
        block = _edit_block(text, match.end())
        if not arg or block is None:
            raise ActionError(
                "`ACTION: edit <path>` must be followed by a <<<<<<< SEARCH block, "
                "a ======= line and a >>>>>>> REPLACE line."
            )
        return Action("edit", arg, *block)
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
