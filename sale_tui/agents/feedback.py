"""What the loop tells the agent besides a tool's output: why a finish is sent back, that
a file is already on screen, how many steps are left, which tests fail before any change."""

from __future__ import annotations

from sale_tui.agents import file_tools
from sale_tui.agents.environment import Environment, failing_summary
from sale_tui.agents.task import AgentTask

PROMPT_READ_ONLY = 10
"""Read-only files named in the prompt; past that, a count (a big repo has hundreds)."""
FAILING_FINISH = (
    "Not finished: the tests still fail (see above). Fix the code and the tests run again, "
    "or finish again to stop anyway."
)


def not_done(env: Environment, tests_fail: bool, default_file: str | None) -> str:
    """Why a coding finish is sent back (once), or ""."""
    if tests_fail:
        return FAILING_FINISH
    content = env.read(default_file) if default_file else None
    line = file_tools.stub_line(content) if content else None
    if line is not None:
        return (
            f"Not finished: {default_file} line {line} still raises NotImplementedError, so "
            "the job is not done. Write the code, or finish again to stop anyway."
        )
    return ""


def already_shown(path: str, task: AgentTask) -> str:
    """Instead of the same file again (small models view it over and over): where it is,
    and the step that would move the job on."""
    if task.kind == "research":
        step = "answer with `ACTION: finish <the short answer> (<path>:<line>)`, or search"
    elif path in {file_tools.normal_path(p) for p in task.read_only}:
        step = "it is one of the job's tests (read-only): change the code it tests"
    elif task.edit_format == "diff":
        step = f"change it with `ACTION: edit {path}` and a search/replace block"
    else:
        step = f"change it with `ACTION: write {path}` and the whole new file in a ``` block"
    return f"{path} has not changed since it was shown above. Do not view it again: {step}."


def steps_left_note(kind: str, left: int) -> str:
    answer = "your best answer, citing path:line" if kind == "research" else "what you changed"
    if left == 1:
        return f"\n\n(1 step left: your next reply must be `ACTION: finish <{answer}>`.)"
    if left == 3 and kind == "research":
        return f"\n\n(3 steps left: finish soon with {answer}.)"
    return ""


def tests_before(env: Environment, task: AgentTask) -> str | None:
    """Run the job's tests before any change. When they fail: a part of the first turn that
    names the failing tests (aider's /test), and the bar a change must clear for
    ``stop_when_tests_pass``."""
    if task.kind != "coding" or not task.test_command:
        return None
    before = env.run(task.test_command)
    if before.ok:
        return None
    shown = failing_summary(before.output)
    return f"The tests (`{task.test_command}`) fail before any change:\n{shown}"


def read_only_line(read_only: frozenset[str]) -> str:
    """The job's read-only files as the prompt names them."""
    named = sorted(read_only)
    more = len(named) - PROMPT_READ_ONLY
    line = ", ".join(named[:PROMPT_READ_ONLY])
    return line + (f" and {more} more test files" if more > 0 else "")
