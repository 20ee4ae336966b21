"""A small model's first step, asked as one call would ask it (``AgentTask.draft_first``).

Measured (docs/BENCHMARKS.md, issue 14): given a stub and its tests in one short prompt, a
1.5B Qwen wrote a correct function 7 times in 10; the same model's first step inside the full
loop prompt (seven actions, the rules, the repository listing) got 5. So on a coding job that
names one file, shown whole in the first turn, step 1 asks only for that file, with the job,
the plan and the files on screen (and which tests fail). Its reply is a whole-file write like
any other. From step 2 on the agent sees the usual loop prompt, with the draft as its first
step, and fixes what the tests say.

Research jobs get no draft: asked for the cited answer in one call the same way, the 1.5B
answered 2 of 10 HotpotQA questions against 3 through the loop (docs/BENCHMARKS.md).
"""

from __future__ import annotations

import posixpath

from sale_tui.agents.opening import Opening
from sale_tui.agents.task import AgentTask, Prompts
from sale_tui.protocols import Message

_LANGUAGES = {".py": "python", ".js": "javascript", ".ts": "typescript", ".sh": "bash"}


def drafts_first(task: AgentTask, first: Opening, path: str | None, native_tools: bool) -> bool:
    """Whether step 1 is a draft: a whole-file agent on a coding job with one file to change
    that the first turn shows whole."""
    if not task.draft_first or native_tools or task.kind != "coding":
        return False
    shown = {shown for shown, _ in first.parts if shown is not None}
    return task.edit_format == "whole" and path is not None and path in shown


def draft_messages(task: AgentTask, first: Opening, path: str, prompts: Prompts) -> list[Message]:
    """One user message: the job, the plan, what the first turn shows, then the file asked."""
    # every part but the repository listing, which is the first
    files = "\n\n".join(text for _, text in first.parts[1:])
    language = _LANGUAGES.get(posixpath.splitext(path)[1], "")
    text = prompts.render(
        "execute_draft", job=task.job, plan=task.plan, files=files, path=path, language=language
    )
    return [{"role": "user", "content": text}]
