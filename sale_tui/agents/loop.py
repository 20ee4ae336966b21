"""The winner's step loop: it follows its own winning plan with tools until it finishes or a
limit stops it. A generator of events, like the auction, so front ends only render.

Each step: ask the model for one action (a native tool call where the provider supports them,
else the text format of ``actions``), run it against the ``Environment``, and feed the
observation back. Research answers must cite ``path:line``; a finish whose citations do not
exist is sent back (twice at most) before it is accepted. Older observations are shortened so small
context windows last; every limit (steps, tokens, $, wall time) ends the run with its reason.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal, Protocol, TypeAlias

from sale_tui.agents import environment as tools
from sale_tui.agents.actions import STOP, Action, ActionError, parse
from sale_tui.agents.citations import CitationCheck, check_citations
from sale_tui.agents.environment import Environment
from sale_tui.agents.native_tools import from_tool_call, tool_schemas
from sale_tui.protocols import Message, Model, Reply

StopReason = Literal[
    "finished", "stuck", "max_steps", "max_tokens", "budget", "wall_time", "model_error"
]
STUCK_REPEATS = 3
"""The same reply this many times in a row ends the run: it will not do anything new.
(Sampling the repeats hotter was tried: Qwen-0.5B then wandered into malformed edits until
its context was full, 23,154 tokens instead of 3,756, and still failed.)"""
OLD_OBSERVATION_CHARS = 400
RECENT_STEPS_IN_FULL = 3
CITATION_RETRIES = 2
"""A research answer with missing or wrong citations is sent back this many times at most."""
NOT_RUN = "Not run: one action per step. Call it again after this one if still needed."


class Prompts(Protocol):
    def render(self, role: str, /, **variables: Any) -> str: ...


@dataclass(frozen=True)
class AgentTask:
    job: str
    plan: str
    kind: str = "coding"
    test_command: str | None = None
    repo_summary: str = ""


@dataclass(frozen=True)
class AgentLimits:
    max_steps: int = 20
    max_tokens: int = 60_000
    budget_usd: float | None = None
    wall_time_s: float = 900.0
    step_max_tokens: int = 768


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


AgentEvent: TypeAlias = StepRan | AgentStopped


def _execute(action: Action, env: Environment, task: AgentTask) -> str:
    match action.tool:
        case "run":
            result = env.run(action.arg)
            status = "timed out" if result.timed_out else f"exit {result.exit_code}"
            return f"[{status}]\n{tools.clip(result.output)}"
        case "view":
            return tools.view(env, action.arg)
        case "search":
            return tools.search(env, action.arg)
        case "edit":
            return tools.edit(env, action.arg, action.search or "", action.replace or "")
        case "test":
            return tools.run_tests(env, task.test_command)
        case "finish":
            return "Finished."
    return f"Error: unknown tool {action.tool}"


def _shorten_old(messages: list[Message]) -> list[Message]:
    """Keep the system prompt and recent steps whole; cut older observations short."""
    cutoff = len(messages) - 2 * RECENT_STEPS_IN_FULL
    shortened = []
    for index, message in enumerate(messages):
        content = str(message.get("content", ""))
        old_observation = message["role"] in ("user", "tool") and len(content) > 400
        if 1 < index < cutoff and old_observation:
            message = {**message, "content": content[:OLD_OBSERVATION_CHARS] + " […]"}
        shortened.append(message)
    return shortened


def _trailing_repeats(replies: list[str]) -> int:
    """How many of the last replies are the same as the very last one."""
    count = 0
    for reply in reversed(replies):
        if reply != replies[-1]:
            break
        count += 1
    return count


def _read_action(reply: Reply, native_tools: bool) -> Action:
    """The action a reply asks for. Native-tool models sometimes answer in text: accept it."""
    if native_tools and reply.tool_calls:
        return from_tool_call(reply.tool_calls[0])
    if native_tools and "ACTION:" not in reply.text:
        raise ActionError("no tool call found: call exactly one of the tools.")
    return parse(reply.text)


def _transcript(reply: Reply, observation: str, native_tools: bool) -> list[Message]:
    """The assistant turn and the observation, in the shape the provider expects back."""
    if not (native_tools and reply.tool_calls):
        return [
            {"role": "assistant", "content": reply.text},
            {"role": "user", "content": observation},
        ]
    calls = [
        {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
        for c in reply.tool_calls
    ]
    # Every call needs an answer; only the first one runs (one action per step).
    answers = [observation] + [NOT_RUN] * (len(calls) - 1)
    return [
        {"role": "assistant", "content": reply.text or None, "tool_calls": calls},
        *(
            {"role": "tool", "tool_call_id": call["id"], "content": answer}
            for call, answer in zip(calls, answers, strict=True)
        ),
    ]


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
    role = "execute_research" if task.kind == "research" else "execute_coding"
    system = prompts.render(
        role,
        job=task.job,
        plan=task.plan,
        test_command=task.test_command or "",
        repo_summary=task.repo_summary,
        native_tools=native_tools,
    )
    messages: list[Message] = [
        {"role": "system", "content": system},
        {"role": "user", "content": "Begin with your first action."},
    ]
    schemas = tool_schemas(task.kind) if native_tools else None
    started = time.monotonic()
    tokens, cost = 0, 0.0
    recent: list[str] = []
    citation_retries = 0

    def stopped(
        reason: StopReason,
        steps: int,
        summary: str = "",
        detail: str = "",
        cited: CitationCheck | None = None,
    ) -> AgentStopped:
        return AgentStopped(
            reason,
            summary,
            steps,
            tokens,
            cost,
            time.monotonic() - started,
            detail,
            cited.good if cited else (),
            cited.bad if cited else (),
        )

    for step in range(1, limits.max_steps + 1):
        if tokens >= limits.max_tokens:
            yield stopped("max_tokens", step - 1, detail=f"{tokens} tokens used")
            return
        if limits.budget_usd is not None and cost >= limits.budget_usd:
            yield stopped("budget", step - 1, detail=f"${cost:.6f} spent")
            return
        if time.monotonic() - started >= limits.wall_time_s:
            yield stopped("wall_time", step - 1, detail=f"{limits.wall_time_s:.0f} s")
            return
        step_started = time.monotonic()
        try:
            reply = model.complete(
                _shorten_old(messages),
                max_tokens=limits.step_max_tokens,
                temperature=0.0,
                tools=schemas,
                stop=None if native_tools else STOP,
            )
        except Exception as exc:  # a provider failure ends the run; the reason is kept
            yield stopped(
                "model_error", step - 1, detail=(getattr(exc, "message", None) or str(exc))[:300]
            )
            return
        tokens += reply.usage.total_tokens
        cost += reply.cost_usd
        action: Action | None
        cited: CitationCheck | None = None
        sent_back = False  # a research answer whose citations do not hold yet
        try:
            action = _read_action(reply, native_tools)
            if action.tool == "finish" and task.kind == "research":
                cited = check_citations(env, action.arg)
                sent_back = not cited.ok and citation_retries < CITATION_RETRIES
            if sent_back and cited is not None:
                citation_retries += 1
                observation = f"Error: {cited.feedback()}"
            else:
                observation = _execute(action, env, task)
        except ActionError as error:
            action, observation = None, f"Error: {error}"
        key = reply.text.strip() + repr(reply.tool_calls)
        if recent and key == recent[-1] and not native_tools:
            # Not appended again: a transcript of identical turns makes a small model copy
            # them even when sampled hot. The last observation says it was tried again.
            messages[-1] = {
                "role": "user",
                "content": f"{observation}\n(You sent exactly the same action again and got the "
                "same result. Try something different.)",
            }
        else:
            messages.extend(_transcript(reply, observation, native_tools))
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
        recent.append(key)
        if _trailing_repeats(recent) >= STUCK_REPEATS:
            yield stopped("stuck", step, detail=f"the same reply {STUCK_REPEATS} times in a row")
            return
    yield stopped("max_steps", limits.max_steps, detail=f"{limits.max_steps} steps")
