"""The messages a step sends: bounded, so a step costs about the same at step 15 as at step 2.

Re-sending the whole transcript made steps grow from 1,000 to 2,700 prompt tokens over a job.
Here only the last ``RECENT_TURNS`` steps are sent whole; older ones shrink to a note (what
was done, the first line of what came back) on the message before them; a native tool call
stays a call, its arguments shortened. A file's content is kept once, in its latest view or
whole-file write: an earlier view of the same file (the first turn's included) gives way to
a one-line pointer, so the agent never reads two versions and wonders which holds.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from sale_tui.agents.actions import Action
from sale_tui.agents.file_tools import normal_path
from sale_tui.agents.opening import Opening
from sale_tui.protocols import Message, Reply

RECENT_TURNS = 2
OLD_LINE_CHARS = 200
_WHOLE_VIEW = re.compile(r"^(?P<path>.+) \(\d+ lines\):$")
BEGIN = "Begin with your first action."
NOT_RUN = "Not run: one action per step. Call it again after this one if still needed."


@dataclass
class Turn:
    step: int
    reply: Reply
    action: Action | None
    observation: str


def shows_file(turn: Turn) -> str | None:
    """The file whose whole current content this step shows (a view or a write), if any."""
    action = turn.action
    if action is None or turn.observation.startswith(("Error", "Not finished")):
        return None
    if action.tool == "write":
        return normal_path(action.arg)
    if action.tool == "view":
        return whole_view(turn.observation)
    return None


def edited_file(turn: Turn) -> str | None:
    """The file a successful search/replace edit changed."""
    action = turn.action
    if action is None or action.tool != "edit" or not turn.observation.startswith("Edited"):
        return None
    return normal_path(action.arg)


def whole_view(observation: str) -> str | None:
    """The file a view showed whole ("app.py (40 lines):"), not a range of its lines."""
    whole = _WHOLE_VIEW.match(observation.split("\n", 1)[0])
    return normal_path(whole["path"]) if whole else None


def _short(text: str) -> str:
    first = text.strip().splitlines()[0] if text.strip() else ""
    more = len(text.strip()) > len(first)
    return first[:OLD_LINE_CHARS] + (" […]" if more or len(first) > OLD_LINE_CHARS else "")


def _short_reply(turn: Turn) -> str:
    """An old step as a note, not in the action format: small models copy what they see in
    their own past turns, and copied a shortened action ("ACTION: write a.py [the whole file,
    …]") as their next one."""
    action = turn.action
    if action is None:
        return f"[step {turn.step}: a reply with no action]"
    if action.tool == "write":
        lines = len((action.replace or "").splitlines())
        return f"[step {turn.step}: wrote {action.arg}, {lines} lines]"
    if action.tool == "edit":
        return f"[step {turn.step}: edited {action.arg}]"
    return f"[step {turn.step}: {action.tool} {action.arg}]"[:OLD_LINE_CHARS]


def _short_arguments(arguments: str) -> str:
    try:
        values = json.loads(arguments or "{}")
    except json.JSONDecodeError:
        return json.dumps({"note": "arguments left out"})
    if not isinstance(values, dict):
        return json.dumps({"note": "arguments left out"})
    return json.dumps(
        {
            k: v[:OLD_LINE_CHARS] + " […]" if isinstance(v, str) and len(v) > OLD_LINE_CHARS else v
            for k, v in values.items()
        }
    )


class Transcript:
    def __init__(
        self, system: str, opening: Opening, *, native_tools: bool, reminder: str = ""
    ) -> None:
        self.system = system
        self.opening = opening
        self.reminder = reminder
        self.native_tools = native_tools
        self.turns: list[Turn] = []

    def add(self, turn: Turn) -> None:
        self.turns.append(turn)

    def note_on_last(self, observation: str) -> None:
        """Replace the last step's observation (a repeat is not piled up as a new turn)."""
        self.turns[-1].observation = observation

    def messages(self) -> list[Message]:
        latest: dict[str, int] = {}  # per file, the last step that showed or changed it
        for index, turn in enumerate(self.turns):
            path = shows_file(turn) or edited_file(turn)
            if path is not None:
                latest[path] = index
        first_turn = [
            text if path is None or path not in latest else self._pointer(path, latest[path])
            for path, text in self.opening.parts
        ]
        messages: list[Message] = [
            {"role": "system", "content": self.system},
            {
                "role": "user",
                "content": "\n\n".join(
                    [*first_turn, *([self.reminder] if self.reminder else []), BEGIN]
                ),
            },
        ]
        recent_from = len(self.turns) - RECENT_TURNS
        for index, turn in enumerate(self.turns):
            path = shows_file(turn)
            # a file's latest content stays, however old; other steps only while recent
            whole = latest[path] == index if path is not None else index >= recent_from
            if whole or (self.native_tools and turn.reply.tool_calls):
                # tool calls stay calls (shortened when old): every call needs its answer
                messages += self._turn(turn, whole)
            else:
                # an old step is a note on the message before it, never an assistant turn:
                # small models copy their own past turns, and sent "[step 3: wrote a.py]"
                # as their next reply when old steps were shown as such
                last = messages[-1]
                note = f"{_short_reply(turn)} {_short(turn.observation)}"
                last["content"] = f"{last.get('content') or ''}\n\n{note}"
        return messages

    def _pointer(self, path: str, index: int) -> str:
        turn = self.turns[index]
        if edited_file(turn) is not None:  # an edit shows no whole file: view it anew
            return f"{path}: [changed by an edit at step {turn.step}: view it to see it now]"
        return f"{path}: [shown again at step {turn.step}: read it there]"

    def _turn(self, turn: Turn, whole: bool) -> list[Message]:
        reply = turn.reply
        if not (self.native_tools and reply.tool_calls):
            return [
                {"role": "assistant", "content": reply.text},
                {"role": "user", "content": turn.observation},
            ]
        calls = [
            {
                "id": c.id,
                "type": "function",
                "function": {
                    "name": c.name,
                    "arguments": c.arguments if whole else _short_arguments(c.arguments),
                },
            }
            for c in reply.tool_calls
        ]
        # Every call needs an answer; only the first one ran (one action per step).
        observation = turn.observation if whole else _short(turn.observation)
        answers = [observation] + [NOT_RUN] * (len(calls) - 1)
        content = reply.text if whole else _short(reply.text)
        return [
            {"role": "assistant", "content": content or None, "tool_calls": calls},
            *(
                {"role": "tool", "tool_call_id": call["id"], "content": answer}
                for call, answer in zip(calls, answers, strict=True)
            ),
        ]
