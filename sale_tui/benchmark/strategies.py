"""Routing strategies read off the outcome table: each returns, per task, which agents ran and
what the task's result and cost came to.

- ``agent:<name>``: that agent alone. ``largest``: the dearest agent alone.
- ``random``: a uniformly random agent per task (seeded).
- ``cascade`` (FrugalGPT-style): cheapest first; the next agent tries when the answer fails
  its check. The check is the one a user has at run time: the tests for coding tasks; for
  research, an empty or "unknown" answer (the true answer is not known at run time).
- ``oracle``: the cheapest agent that got it right, in hindsight (else the cheapest).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from sale_tui.benchmark.outcomes import Attempt, OutcomeStore
from sale_tui.benchmark.tasks import Task

UNKNOWN = ("", "unknown", "i don't know", "not found")
STREAMED = ("sale+memory", "sale+learned", "sale+refit")
"""SALE strategies whose memory grows along the stream, so they run once per stream order."""


@dataclass(frozen=True)
class Routed:
    task: str
    strategy: str
    agents: tuple[str, ...]
    """Every agent that ran, in order; the last one's result counts."""
    passed: bool
    score: float
    cost_usd: float
    tokens: int
    overhead_tokens: int = 0
    """Tokens spent choosing (the auction); 0 for table look-ups."""
    overhead_usd: float = 0.0
    order: int | None = None
    """``sale+memory``: the seed of the stream order this item came from (one item per order)."""


def one(task: Task, strategy: str, attempt: Attempt) -> Routed:
    return Routed(
        task.id, strategy, (attempt.agent,), attempt.passed, attempt.score, attempt.cost_usd,
        attempt.tokens,
    )  # fmt: skip


def looks_answered(task: Task, attempt: Attempt) -> bool:
    """The check a user has at run time (what escalation may look at)."""
    if attempt.checks_passed is not None:  # agentic: what the user saw, not the hidden grade
        return attempt.checks_passed
    if task.grader == "python":
        return attempt.passed  # the tests are there at run time
    answer = attempt.detail.removeprefix("answer:").strip().lower()
    return answer not in UNKNOWN


def route(
    strategy: str,
    tasks: Sequence[Task],
    by_price: Sequence[str],
    store: OutcomeStore,
    seed: int = 0,
) -> list[Routed]:
    """``by_price``: agent names, cheapest first."""
    rng = random.Random(seed)
    routed = []
    for task in tasks:
        attempts = [store.get(task.id, name) for name in by_price]
        if any(a is None for a in attempts):
            continue  # not solved yet (an interrupted run): left out of every strategy alike
        table = [a for a in attempts if a is not None]
        if strategy.startswith("agent:"):
            routed.append(one(task, strategy, table[by_price.index(strategy[6:])]))
        elif strategy == "largest":
            routed.append(one(task, strategy, table[-1]))
        elif strategy == "random":
            routed.append(one(task, strategy, rng.choice(table)))
        elif strategy == "oracle":
            right = [a for a in table if a.passed]
            routed.append(one(task, strategy, right[0] if right else table[0]))
        elif strategy == "cascade":
            tried: list[Attempt] = []
            for attempt in table:
                tried.append(attempt)
                if looks_answered(task, attempt):
                    break
            last = tried[-1]
            routed.append(
                Routed(
                    task.id,
                    strategy,
                    tuple(a.agent for a in tried),
                    last.passed,
                    last.score,
                    sum(a.cost_usd for a in tried),
                    sum(a.tokens for a in tried),
                )
            )
        else:
            raise ValueError(f"unknown strategy {strategy}")
    return routed


def table_strategies(by_price: Sequence[str]) -> list[str]:
    return [*(f"agent:{name}" for name in by_price), "largest", "random", "cascade", "oracle"]
