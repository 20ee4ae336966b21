"""A small model's first step, asked as one call would ask it (``AgentTask.draft_first``).

Measured (docs/BENCHMARKS.md, issue 14): given a stub in one short prompt, a 1.5B Qwen wrote a
correct function 7 times in 10; the same model's first step inside the full loop prompt (seven
actions, the rules, the repository listing) got 5. So step 1 asks only for what the job needs:

- **Coding** (one file to change, shown whole in the first turn): that whole file, with the
  job, the plan and the other files on screen, but not the job's test files: shown them, the
  0.5B copied them into the solution. Which tests fail, and their assert lines, are named.
  The reply is a whole-file write like any other; from step 2 on the agent sees the usual
  loop prompt, with the draft as its first step, and fixes what the tests say.
- **Research** (the best-matching files shown whole): the answer in a few words, as the
  one-call benchmark asks. Asked for the answer *and* its citation in one line, the 1.5B wrote
  whole sentences (2 of 10 right). So the citation is found, not asked for: the line of a
  shown file that holds the answer's words (for yes or no, the lines that best match the
  question). An answer no shown line holds is not taken, and the loop goes on from step 2.
"""

from __future__ import annotations

import posixpath
import re

from sale_tui.agents.environment import Environment
from sale_tui.agents.file_tools import normal_path
from sale_tui.agents.opening import Opening
from sale_tui.agents.search_tool import ranked_lines, search_words
from sale_tui.agents.task import AgentTask, Prompts
from sale_tui.protocols import Message

_LANGUAGES = {".py": "python", ".js": "javascript", ".ts": "typescript", ".sh": "bash"}
ANSWER_WORDS = 10
"""A drafted answer longer than this is a sentence, not the short answer asked for."""
_ANSWER = re.compile(r"^\W*answer\s*:\s*(.+)$", re.IGNORECASE | re.MULTILINE)
_CITED = re.compile(r"\(?\s*(?:[\w.-]+/)*[\w.-]+\.\w+:\d+(?:-\d+)?\s*\)?")


def drafts_first(task: AgentTask, first: Opening, path: str | None, native_tools: bool) -> bool:
    """Whether step 1 is a draft: a research job whose first turn shows files whole, or a
    whole-file agent on a coding job with one file to change that the first turn shows whole."""
    if not task.draft_first or native_tools:
        return False
    shown = {shown for shown, _ in first.parts if shown is not None}
    if task.kind == "research":
        return bool(shown)
    return task.edit_format == "whole" and path is not None and path in shown


def draft_messages(
    task: AgentTask, first: Opening, path: str | None, prompts: Prompts
) -> list[Message]:
    """One user message: the job and what it needs from the first turn, then what is asked."""
    if task.kind == "research":
        files = "\n\n".join(text for shown, text in first.parts if shown is not None)
        text = prompts.render(
            "execute_answer_draft", question=task.job, files=files, context=task.context
        )
        return [{"role": "user", "content": text}]
    assert path is not None  # drafts_first: a coding draft has its file
    tests = tuple(normal_path(p) for p in task.read_only)
    # every part but the repository listing (the first) and the test files
    files = "\n\n".join(
        text for shown, text in first.parts[1:] if not (tests and text.startswith(tests))
    )
    language = _LANGUAGES.get(posixpath.splitext(path)[1], "")
    text = prompts.render(
        "execute_draft",
        job=task.job,
        plan=task.plan,
        files=files,
        path=path,
        language=language,
        context=task.context,
    )
    return [{"role": "user", "content": text}]


def drafted_answer(reply: str) -> str:
    """The short answer a research draft gave: its ``Answer:`` line, or its first line."""
    found = _ANSWER.findall(reply)
    lines = [line for line in reply.strip().splitlines() if line.strip()]
    answer = found[0] if found else lines[0] if lines else ""
    return _CITED.sub(" ", answer).strip(" .*`\"'")


def _words(text: str) -> str:
    return " " + " ".join(re.findall(r"\w+", text.lower())) + " "


def _a_sentence(answer: str) -> bool:
    return len(_words(answer).split()) > ANSWER_WORDS


def grounded(env: Environment, first: Opening, question: str, answer: str) -> str | None:
    """``answer (path:line)`` citing the shown line that holds the answer, or None when no
    line does (or it is not a short answer). This knows nothing of the right answer: it only
    ties the model's answer to a line it was shown."""
    key = _words(answer)
    if not key.strip() or _a_sentence(answer):
        return None
    shown = [path for path, _ in first.parts if path is not None]
    if key.strip() in ("yes", "no"):  # said nowhere: the lines the question is about
        hits = [h for h in ranked_lines(env, search_words(question)) if h[0] in shown]
        best = {path: f"{path}:{number}" for path, number, _ in reversed(hits)}
        cited = list(dict.fromkeys(best[path] for path, _, _ in hits))[:2]
        return f"{answer} ({', '.join(cited)})" if cited else None
    for path in shown:
        for number, line in enumerate((env.read(path) or "").splitlines(), 1):
            if key in _words(line):
                return f"{answer} ({path}:{number})"
    return None


def not_grounded(answer: str) -> str:
    """Why a drafted answer was not taken, and what to do instead."""
    if not answer:
        why = "the reply gave no answer"
    elif _a_sentence(answer):
        why = "that is a sentence, not the short answer"
    else:
        why = f'no line of the files shown says "{answer}"'
    return (
        f"Not taken: {why}. Search for the answer, view the best hits, then reply "
        "`ACTION: finish <the short answer> (<path>:<line>)`."
    )
