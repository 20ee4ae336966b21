"""The winner's step loop: it follows its own winning plan with tools until it finishes or a
limit stops it. A generator of events, like the auction, so front ends only render.

Each step: ask the model for one action (a native tool call where the provider supports them,
else the text format of ``actions``), run it against the ``Environment``, and feed the
observation back. The first turn already shows the files the job is about (``opening``); the
messages stay bounded (``transcript``); a change to a file runs the tests at once, as aider's
auto-test does; loops of any length are named, then stopped (``repeats``). Research answers
must cite ``path:line``; a finish whose citations do not exist is sent back (twice at most),
and a run near its step limit is told to answer. Every limit (steps, tokens, $, wall time)
ends the run with its reason.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Literal, TypeAlias

from sale_tui.agents import file_tools
from sale_tui.agents.actions import STOP, Action, ActionError, parse
from sale_tui.agents.citations import CitationCheck, check_citations
from sale_tui.agents.draft import (
    draft_messages,
    drafted_answer,
    drafts_first,
    grounded,
    not_grounded,
)
from sale_tui.agents.environment import Environment, clip, run_tests
from sale_tui.agents.feedback import (
    already_shown,
    not_done,
    read_only_line,
    steps_left_note,
    tests_before,
)
from sale_tui.agents.native_tools import from_tool_call, tool_schemas
from sale_tui.agents.opening import files_to_change, opening
from sale_tui.agents.repeats import STOP_AT, repeating
from sale_tui.agents.search_tool import search
from sale_tui.agents.task import AgentTask, Prompts
from sale_tui.agents.transcript import Transcript, Turn, whole_view
from sale_tui.protocols import Model, Reply, Usage

StopReason = Literal[
    "finished",
    "stuck",
    "broken_edit",
    "max_steps",
    "max_tokens",
    "budget",
    "wall_time",
    "model_error",
]
CITATION_RETRIES = 2
"""A research answer with missing or wrong citations is sent back this many times at most."""
BROKEN_EDITS = 4
"""Attempts to change a file that fail this many times in a row (not found, does not
compile, unreadable block) end the run: the agent cannot produce a working edit."""
DRAFT_TEMPERATURE = 0.7
"""Candidate drafts after the first (``AgentTask.drafts``) are sampled: a greedy model sends
the same wrong file again, word for word."""
AUTO_TEST_CHARS = 1500
PASSED_NEXT = "\nIf the job is done: `ACTION: finish <what you changed>`."
_QUESTION_LAST = (
    "The question: {job}\nWhen you have read the lines that answer it, reply "
    "`ACTION: finish <the short answer> (<path>:<line>)`."
)
_WRITE_FIRST = (
    "{path} is the file to change: reply with `ACTION: write {path}` and every line of its "
    "new content in one ``` block."
)
_TESTS_BAD = re.compile(r"^Tests (?:FAILED|TIMED OUT)", re.MULTILINE)
_TIMING = re.compile(r"\d+(?:\.\d+)?\s*(?:s|ms|sec|seconds)\b")
_TRIED_CHANGE = re.compile(r"ACTION:?\W*(write|edit)\b", re.IGNORECASE)


@dataclass(frozen=True)
class AgentLimits:
    max_steps: int = 20
    max_tokens: int = 60_000
    budget_usd: float | None = None
    wall_time_s: float = 900.0
    step_max_tokens: int = 1024
    """Room for a whole file of ~80 lines in one reply."""


@dataclass(frozen=True)
class StepRan:
    step: int
    action: Action | None
    """None when the reply held no readable action (the observation says why)."""
    reply: str
    observation: str
    tokens: int
    cost_usd: float
    elapsed_s: float


@dataclass(frozen=True)
class AgentStopped:
    reason: StopReason
    summary: str
    steps: int
    tokens: int
    cost_usd: float
    elapsed_s: float
    detail: str = ""
    citations: tuple[str, ...] = ()
    """Research jobs: the answer's path:line citations that exist in the repository."""
    bad_citations: tuple[str, ...] = ()
    usage: Usage = field(default_factory=Usage)
    """``tokens`` split: prompt tokens computed or read from the prompt cache, generated."""


AgentEvent: TypeAlias = StepRan | AgentStopped


def _execute(
    action: Action, env: Environment, task: AgentTask, read_only: frozenset[str]
) -> tuple[str, bool]:
    """(the observation, whether a file changed)."""
    match action.tool:
        case "run":
            result = env.run(action.arg)
            status = "timed out" if result.timed_out else f"exit {result.exit_code}"
            return f"[{status}]\n{clip(result.output)}", False
        case "view":
            return file_tools.view(env, action.arg), False
        case "search":
            return search(env, action.arg), False
        case "write" | "edit" if task.kind == "research":
            return "Error: a research job only reads; answer with finish.", False
        case "write":
            return file_tools.write(env, action.arg, action.replace or "", read_only)
        case "edit":
            old, new = action.search or "", action.replace or ""
            return file_tools.edit(env, action.arg, old, new, read_only)
        case "test":
            return run_tests(env, task.test_command), False
        case "finish":
            return "Finished.", False
    return f"Error: unknown tool {action.tool}", False


def _read_action(reply: Reply, native_tools: bool, default_file: str | None) -> Action:
    """The action a reply asks for. Native-tool models sometimes answer in text: accept it."""
    if native_tools and reply.tool_calls:
        return from_tool_call(reply.tool_calls[0])
    if native_tools and "ACTION:" not in reply.text:
        raise ActionError("no tool call found: call exactly one of the tools.")
    return parse(reply.text, default_file)


def _track_on_screen(on_screen: set[str], action: Action | None, observation: str) -> None:
    if action is None or observation.startswith("Error"):
        return
    if action.tool == "run":
        on_screen.clear()  # a command may have changed any file
    elif action.tool == "edit":
        on_screen.discard(file_tools.normal_path(action.arg))
    elif action.tool == "write":
        on_screen.add(file_tools.normal_path(action.arg))
    elif action.tool == "view" and (path := whole_view(observation)) is not None:
        on_screen.add(path)


def _final_rewrite(task: AgentTask, action: Action | None, seen: str, tests_fail: bool) -> bool:
    """A small model's file sent again unchanged, with its tests green and no stub left:
    it is done. It would send it again until stopped as stuck (agentic-v4: 10 of the 0.5B's
    20 coding runs, ~1,500 tokens each, the patch unchanged by it)."""
    rewrite = action is not None and action.tool == "write" and file_tools.UNCHANGED in seen
    return rewrite and task.kind == "coding" and task.stop_when_tests_pass and not tests_fail


def run_agent(
    task: AgentTask,
    model: Model,
    env: Environment,
    prompts: Prompts,
    limits: AgentLimits | None = None,
    *,
    native_tools: bool = False,
) -> Iterator[AgentEvent]:
    """Run the winner's plan. ``native_tools``: use provider tool calls (hosted models)."""
    limits = limits or AgentLimits()
    read_only = frozenset(file_tools.normal_path(path) for path in task.read_only)
    role = "execute_research" if task.kind == "research" else "execute_coding"
    system = prompts.render(
        role,
        job=task.job,
        plan=task.plan,
        test_command=task.test_command or "",
        repo_summary=task.repo_summary,
        context=task.context,
        native_tools=native_tools,
        edit_format=task.edit_format,
        read_only=read_only_line(read_only),
    )
    started = time.monotonic()
    first = opening(env, task.job, task.kind, read_only)
    failing = tests_before(env, task)
    if failing is not None:
        first = replace(first, parts=(*first.parts, (None, failing)))
    # a bare code block in a reply writes this file: the one the job is about, when only one
    targets = files_to_change(env, task.job, list(first.files), read_only)
    default_file = targets[0] if len(targets) == 1 and task.kind == "coding" else None
    # small models follow what comes last: the question, or the file to write, said there
    if task.kind == "research":
        reminder = _QUESTION_LAST.format(job=task.job.strip())
    elif default_file and task.edit_format == "whole" and not native_tools:
        reminder = _WRITE_FIRST.format(path=default_file)
    else:
        reminder = ""
    transcript = Transcript(system, first, native_tools=native_tools, reminder=reminder)
    drafting = drafts_first(task, first, default_file, native_tools)
    drafts_made, redraft = 0, False  # redraft: the last draft left the failing tests failing
    schemas = tool_schemas(task.kind) if native_tools else None
    used, cost = Usage(), 0.0
    keys: list[str] = []
    labels: list[str] = []
    citation_retries = failed_changes = 0
    changed_any = False  # a file changed in this run
    tests_fail = failing is not None  # the latest test run failed (at first: the run before)
    finish_returned = False  # a coding finish was sent back
    viewed: list[Action] = []
    # files whose current content the agent has in front of it (shown whole, unchanged since)
    on_screen = {path for path, _ in transcript.opening.parts if path is not None}

    def stopped(
        reason: StopReason,
        steps: int,
        summary: str = "",
        detail: str = "",
        cited: CitationCheck | None = None,
    ) -> AgentStopped:
        return AgentStopped(reason, summary, steps, used.total_tokens, cost,
                            time.monotonic() - started, detail, cited.good if cited else (),
                            cited.bad if cited else (), used)  # fmt: skip

    for step in range(1, limits.max_steps + 1):
        if used.total_tokens >= limits.max_tokens:
            yield stopped("max_tokens", step - 1, detail=f"{used.total_tokens} tokens used")
            return
        if limits.budget_usd is not None and cost >= limits.budget_usd:
            yield stopped("budget", step - 1, detail=f"${cost:.6f} spent")
            return
        if time.monotonic() - started >= limits.wall_time_s:
            yield stopped("wall_time", step - 1, detail=f"{limits.wall_time_s:.0f} s")
            return
        step_started = time.monotonic()
        try:
            draft = drafting and (step == 1 or (redraft and drafts_made < task.drafts))
            if draft:
                messages = draft_messages(task, first, default_file, prompts)
            else:
                messages = transcript.messages()
            sampled = draft and drafts_made > 0  # a fresh candidate from the same prompt
            reply = model.complete(
                messages,
                max_tokens=limits.step_max_tokens,
                temperature=DRAFT_TEMPERATURE if sampled else 0.0,
                seed=drafts_made if sampled else None,
                tools=schemas,
                stop=None if native_tools else STOP,
            )
        except Exception as exc:  # a provider failure ends the run; the reason is kept
            yield stopped(
                "model_error", step - 1, detail=(getattr(exc, "message", None) or str(exc))[:300]
            )
            return
        used += reply.usage
        cost += reply.cost_usd
        drafts_made += draft
        redraft = draft and bool(failing)  # the run goes on: the tests still fail
        action: Action | None
        cited: CitationCheck | None = None
        sent_back = changed = False  # sent back: a finish not taken yet (citations, tests)
        done = ""  # the summary of a run that ends as the tests pass
        last_step = step == limits.max_steps
        if draft and task.kind == "research":  # research drafts only at step 1
            answer = drafted_answer(reply.text)
            summary = grounded(env, first, task.job, answer)
            observation = f"Answered: {summary}" if summary else not_grounded(answer)
            if not summary:
                transcript.add(Turn(step, reply, None, observation))
            yield StepRan(step, None, reply.text, observation, reply.usage.total_tokens,
                          reply.cost_usd, time.monotonic() - step_started)  # fmt: skip
            if summary:
                checked = check_citations(env, summary)
                yield stopped("finished", step, summary=summary, cited=checked)
                return
            continue
        try:
            action = _read_action(reply, native_tools, default_file)
            observation = ""
            if action.tool == "finish" and task.kind == "research":
                cited = check_citations(env, action.arg)
                retry = citation_retries < CITATION_RETRIES and not last_step
                sent_back = not cited.ok and retry
                if sent_back:
                    citation_retries += 1
                    read = tuple(dict.fromkeys(t.arg.split(":")[0] for t in viewed))
                    observation = f"Error: {cited.feedback(task.job, read)}"
            elif action.tool == "finish" and not finish_returned and not last_step:
                # a coding finish while the tests fail or the stub is left: said once
                observation = not_done(env, tests_fail, default_file)
                finish_returned = sent_back = bool(observation)
            if sent_back:
                pass  # the observation says why the finish was not taken
            elif action.tool == "view" and file_tools.viewed_file(action.arg) in on_screen:
                observation = already_shown(file_tools.viewed_file(action.arg), task)
            else:
                observation, changed = _execute(action, env, task, read_only)
        except ActionError as error:
            action, observation = None, f"Error: {error}"
        if action is not None and action.tool == "view" and not observation.startswith("Error"):
            viewed.append(action)
        _track_on_screen(on_screen, action, observation)
        if changed and task.test_command and task.kind == "coding":
            tests = run_tests(env, task.test_command, AUTO_TEST_CHARS)
            observation += (
                "\n\n" + tests + (PASSED_NEXT if tests.startswith("Tests PASSED") else "")
            )
        if action is not None and (changed or action.tool == "test"):
            tests_fail = bool(_TESTS_BAD.search(observation))
        # aider's auto-test loop: the change that turns failing tests green ends the run
        # (``failing``: a coding job with tests, so a change has just run them)
        if (
            changed
            and failing
            and not tests_fail
            and task.stop_when_tests_pass
            and not not_done(env, False, default_file)
        ):
            assert action is not None  # a change is always an action's
            done = f"Changed {action.arg}; the tests (`{task.test_command}`) now pass."
        changed_any |= changed
        if (
            not done
            and changed_any
            and _final_rewrite(task, action, observation, tests_fail)
            and not not_done(env, False, default_file)
        ):
            assert action is not None
            done = f"Changed {action.arg} and sent it again unchanged" + (
                f"; the tests (`{task.test_command}`) pass." if task.test_command else "."
            )

        tried_change = (
            action.tool in ("write", "edit") if action else bool(_TRIED_CHANGE.search(reply.text))
        )
        failed_changes = 0 if changed else failed_changes + tried_change
        # timings ("1 failed in 0.04s") differ on every run of the same step
        seen = _TIMING.sub("<t>", observation)
        keys.append(f"{action!r}\x00{seen}" if action else f"{reply.text}\x00{seen}")
        labels.append(f"{action.tool} {action.arg}"[:60].strip() if action else "a reply")
        cycle = repeating(keys, labels)
        if cycle is not None:
            observation += "\n\n" + cycle.feedback(task.kind)
        observation += steps_left_note(task.kind, limits.max_steps - step)
        if cycle is not None and cycle.length == 1 and not native_tools:
            # Not added again: a transcript of identical turns makes a small model copy them
            # even when sampled hot. The last observation says it was tried again.
            transcript.note_on_last(observation)
        else:
            transcript.add(Turn(step, reply, action, observation))
        yield StepRan(
            step,
            action,
            reply.text,
            observation,
            reply.usage.total_tokens,
            reply.cost_usd,
            time.monotonic() - step_started,
        )
        if action is not None and action.tool == "finish" and not sent_back:
            yield stopped("finished", step, summary=action.arg, cited=cited)
            return
        if done:
            yield stopped("finished", step, summary=done)
            return
        if cycle is not None and cycle.times >= STOP_AT:
            what = " → ".join(cycle.steps)
            yield stopped("stuck", step, detail=f"repeated {what} {cycle.times} times")
            return
        if failed_changes >= BROKEN_EDITS:
            yield stopped("broken_edit", step, detail=f"{BROKEN_EDITS} failed edits in a row")
            return
    yield stopped("max_steps", limits.max_steps, detail=f"{limits.max_steps} steps")
