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

_ACTION = re.compile(r"^\s*(?:\*\*)?ACTION:?(?:\*\*)?\s*(\w+)[ \t]*(.*)$", re.MULTILINE)
# Lenient about the newline after the divider (small models drop it): then the text right
# after ======= is the first replacement line, indentation included.
_EDIT = re.compile(
    r"<{5,9} SEARCH\n(?P<search>.*?)\n?={5,9}(?:[ \t]*\n)?(?P<replace>.*?)\n?>{5,9} REPLACE",
    re.DOTALL,
)
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
        block = _EDIT.search(text, match.end())
        if not arg or block is None:
            raise ActionError(
                "`ACTION: edit <path>` must be followed by a <<<<<<< SEARCH block, "
                "a ======= line and a >>>>>>> REPLACE line."
            )
        return Action("edit", arg, block.group("search"), block.group("replace"))
    return Action(tool, arg)
