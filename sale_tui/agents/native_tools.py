"""The same actions as provider-native tool calls, for models that support function calling.

Hosted models (OpenAI, Anthropic, …) are trained on JSON tool calls and follow them more
reliably than a text format; small local models are not, so they keep ``actions``' text
format. Both end as the same ``Action``, so the loop and the environment do not care.
"""

from __future__ import annotations

import json
from typing import Any

from sale_tui.agents.actions import TOOLS, Action, ActionError
from sale_tui.protocols import ToolCall
from sale_tui.untrusted_text import without_surrogates


def _function(name: str, description: str, **properties: str) -> dict[str, Any]:
    return {
        "type": "function",
        "function": {
            "name": name,
            "description": description,
            "parameters": {
                "type": "object",
                "properties": {
                    key: {"type": "string", "description": text} for key, text in properties.items()
                },
                "required": list(properties),
            },
        },
    }


_SCHEMAS = {
    "run": _function(
        "run", "Run a shell command in the repository folder (no network).", command="The command."
    ),
    "view": _function(
        "view",
        "Show a file with line numbers; path:40 shows the lines around line 40.",
        path="Path from the repo root.",
    ),
    "search": _function(
        "search",
        "Find lines in the repository: a phrase, several words (ranked), or a regex.",
        pattern="What to look for.",
    ),
    "test": _function("test", "Run the repository's tests."),
    "write": _function(
        "write",
        "Write the whole file (created or replaced); a Python file that does not compile is "
        "refused.",
        path="Path from the repo root.",
        content="The file's whole new content.",
    ),
    "edit": _function(
        "edit",
        "Replace an exact block of lines in a file (an empty search creates the file).",
        path="Path from the repo root.",
        search="The old lines, copied exactly (empty to create a new file).",
        replace="The new lines.",
    ),
    "finish": _function(
        "finish",
        "End the job with a summary of what was done and how it was checked (research: the "
        "answer, citing path:line for every claim).",
        summary="The summary or answer.",
    ),
}
_ARGUMENT = {"run": "command", "view": "path", "search": "pattern", "finish": "summary"}


def tool_schemas(kind: str) -> list[dict[str, Any]]:
    """OpenAI-style tool definitions; research jobs get no edit or test tool."""
    names = ("run", "view", "search", "finish") if kind == "research" else TOOLS
    return [_SCHEMAS[name] for name in names]


def from_tool_call(call: ToolCall) -> Action:
    """The ``Action`` a tool call asks for; ``ActionError`` says what was wrong with it."""
    if call.name not in TOOLS:
        raise ActionError(f"unknown tool '{call.name}'; use one of: {', '.join(TOOLS)}")
    try:
        arguments = json.loads(call.arguments or "{}")
    except json.JSONDecodeError as error:
        raise ActionError(f"the arguments of '{call.name}' are not valid JSON: {error}") from None
    if not isinstance(arguments, dict):
        raise ActionError(f"the arguments of '{call.name}' must be a JSON object")
    # JSON can spell a lone surrogate ("\\ud800"), which no file, database or terminal holds
    arguments = {
        k: without_surrogates(v) if isinstance(v, str) else v for k, v in arguments.items()
    }
    tool = TOOLS[TOOLS.index(call.name)]
    if tool == "write":
        path = str(arguments.get("path") or "").strip()
        if not path or not isinstance(arguments.get("content"), str):
            raise ActionError("write needs 'path' and 'content'")
        return Action("write", path, replace=arguments["content"])
    if tool == "edit":
        path = str(arguments.get("path") or "").strip()
        if not path or "replace" not in arguments:
            raise ActionError("edit needs 'path', 'search' and 'replace'")
        return Action("edit", path, str(arguments.get("search") or ""), str(arguments["replace"]))
    argument = str(arguments.get(_ARGUMENT.get(tool, ""), "") or "").strip()
    if tool in ("run", "view", "search") and not argument:
        raise ActionError(f"'{tool}' needs '{_ARGUMENT[tool]}'")
    return Action(tool, argument)
