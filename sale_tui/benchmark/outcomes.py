"""Every agent on every task, once: solved with one model call (temperature 0), graded, cached
in a JSON file written after each attempt, so an interrupted run resumes where it stopped.

Coding tasks: the agent completes the function (graded by the task's tests in the sandbox).
Research tasks: the agent's search over the task's closed corpus returns the best-matching
paragraphs (word overlap with the question), and the agent answers from them.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from sale_tui.auction import AuctionAgent
from sale_tui.benchmark.grading import Runner, grade_answer, grade_python
from sale_tui.benchmark.tasks import Task

MAX_TOKENS = {"coding": 512, "research": 96}
SEARCH_RESULTS = 3


@dataclass(frozen=True)
class Attempt:
    task: str
    agent: str
    passed: bool
    score: float
    tokens: int
    cost_usd: float
    seconds: float
    detail: str = ""
    steps: int = 0
    """Agentic tasks: the agent's steps, and how its run ended (``AgentStopped.reason``)."""
    stop: str = ""
    checks_passed: bool | None = None
    """What the user could see at run time (visible tests pass, citations exist); None for
    one-call tasks. Escalation reads this, never ``passed`` (the hidden grade)."""
    cached_tokens: int | None = None
    """Of ``tokens``, prompt tokens read from the prompt cache (None: not recorded, attempts
    cached before the split was kept)."""


def search(task: Task, k: int = SEARCH_RESULTS) -> list[str]:
    """The ``k`` paragraphs of the task's corpus sharing most words with the question."""
    words = set(re.findall(r"\w+", task.prompt.lower())) - {"the", "a", "an", "of", "is", "was"}

    def overlap(paragraph: str) -> int:
        return len(words & set(re.findall(r"\w+", paragraph.lower())))

    return sorted(task.context, key=overlap, reverse=True)[:k]


def messages_for(task: Task) -> list[dict[str, str]]:
    if task.domain == "coding":
        text = (
            "Complete this Python function. Reply with the whole function in one ```python "
            f"block, nothing else.\n\n```python\n{task.prompt}```"
        )
    else:
        found = "\n\n".join(search(task))
        text = (
            f"Question: {task.prompt}\n\nSearch results:\n{found}\n\n"
            "Answer with a few words only, on one line starting with 'Answer:'."
        )
    return [{"role": "user", "content": text}]


def solve(task: Task, agent: AuctionAgent, box: Runner) -> Attempt:
    started = time.perf_counter()
    if task.grader == "agentic":  # HumanEval or HotpotQA as a repo job (agentic.py)
        from sale_tui.benchmark.agentic import solve_agentic

        done, checks, stopped = solve_agentic(task, agent)
        return Attempt(
            task.id,
            agent.name,
            done.passed,
            done.score,
            stopped.tokens,
            stopped.cost_usd,
            time.perf_counter() - started,
            done.detail,
            stopped.steps,
            stopped.reason,
            checks,
            cached_tokens=stopped.usage.cached_tokens,
        )
    if task.grader == "repo":  # a real job: the agent loop in the sandbox (replay.py)
        from sale_tui.benchmark.replay import solve_in_repo

        passed, tokens, cost, detail = solve_in_repo(task, agent)
        elapsed = time.perf_counter() - started
        return Attempt(task.id, agent.name, passed, float(passed), tokens, cost, elapsed, detail)
    reply = agent.model.complete(
        messages_for(task), max_tokens=MAX_TOKENS[task.domain], temperature=0.0
    )
    seconds = time.perf_counter() - started
    if task.grader == "python":
        grade = grade_python(task, reply.text, box, f"{task.id}_{agent.name}")
    else:
        grade = grade_answer(task, reply.text)
    tokens = reply.usage.prompt_tokens + reply.usage.completion_tokens
    return Attempt(
        task.id,
        agent.name,
        grade.passed,
        grade.score,
        tokens,
        reply.cost_usd,
        seconds,
        grade.detail,
        cached_tokens=reply.usage.cached_tokens,
    )


class OutcomeStore:
    """``results/outcomes.json``: {"task|agent": Attempt}; written atomically after each one."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.attempts: dict[str, Attempt] = {}
        if path.exists():
            for key, value in json.loads(path.read_text()).items():
                self.attempts[key] = Attempt(**value)

    @staticmethod
    def key(task: str, agent: str) -> str:
        return f"{task}|{agent}"

    def get(self, task: str, agent: str) -> Attempt | None:
        return self.attempts.get(self.key(task, agent))

    def add(self, attempt: Attempt) -> None:
        self.attempts[self.key(attempt.task, attempt.agent)] = attempt
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_suffix(".tmp")
        partial.write_text(json.dumps({k: asdict(v) for k, v in self.attempts.items()}, indent=1))
        os.replace(partial, self.path)  # a crash never leaves half a file


def fill(
    store: OutcomeStore,
    tasks: Sequence[Task],
    agents: Sequence[AuctionAgent],
    box: Runner,
    progress: Callable[[Attempt | None], None] = lambda attempt: None,
) -> None:
    """Solve every (task, agent) pair the store does not have yet."""
    for task in tasks:
        for agent in agents:
            if store.get(task.id, agent.name) is not None:
                progress(None)
                continue
            attempt = solve(task, agent, box)
            store.add(attempt)
            progress(attempt)
