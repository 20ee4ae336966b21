"""SALE as a routing strategy: a real auction per task (the agents' bids and jury, through the
same ``AuctionRunner`` as ``sale-tui do``); the winner's result is its attempt in the outcome
table, so SALE is judged on the very attempts the other strategies are; the auction's own
tokens and $ are its overhead.

``sale``: no refinement from memory (so the order of the stream does not matter).
``sale+memory``: the stream runs in a seeded random order through one fresh memory file; after
each task the winner's outcome is recorded, so later auctions retrieve past winning and losing
plans (the paper's setting). It runs once per stream order (``orders``: their seeds), since
what the memory holds when a task comes depends on the order. Each auction is cached, so an
interrupted run resumes (the memory file holds exactly the auctions done so far).
"""

from __future__ import annotations

import json
import os
import random
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

from sale_tui.auction import AuctionAgent, Job
from sale_tui.auction.events import AuctionFailed, WinnerChosen
from sale_tui.benchmark.outcomes import OutcomeStore, messages_for
from sale_tui.benchmark.strategies import Routed
from sale_tui.benchmark.tasks import Task
from sale_tui.config import Settings
from sale_tui.memory import AuctionMemory
from sale_tui.prompting import PromptLibrary
from sale_tui.runner import AuctionRunner

SALE_STRATEGIES = ("sale", "sale+memory")


def job_text(task: Task) -> str:
    """What the bidders read: a HumanEval task with its instruction, else the request."""
    return messages_for(task)[0]["content"] if task.grader == "python" else task.prompt


def run_sale(
    strategy: str,
    tasks: Sequence[Task],
    agents: Sequence[AuctionAgent],
    store: OutcomeStore,
    out: Path,
    *,
    orders: Sequence[int],
    settings: Settings | None = None,
    progress: Callable[[str], None] = lambda task_id: None,
) -> list[Routed]:
    """Every task routed by an auction: once for ``sale``, once per stream order for
    ``sale+memory``."""
    if strategy == "sale":
        return _stream(strategy, tasks, agents, store, out, orders[0], settings, progress)
    routed: list[Routed] = []
    for seed in orders:
        items = _stream(strategy, tasks, agents, store, out, seed, settings, progress)
        routed += [replace(item, order=seed) for item in items]
    return routed


def _stream(
    strategy: str,
    tasks: Sequence[Task],
    agents: Sequence[AuctionAgent],
    store: OutcomeStore,
    out: Path,
    seed: int,
    settings: Settings | None,
    progress: Callable[[str], None],
) -> list[Routed]:
    """The tasks in stream order (seeded), each routed by an auction."""
    with_memory = strategy == "sale+memory"
    order = list(tasks)
    random.Random(seed).shuffle(order)
    cache_path = out / f"auctions-{strategy}-{seed}.json"
    cache: dict[str, dict[str, object]] = (
        json.loads(cache_path.read_text()) if cache_path.exists() else {}
    )
    memory = AuctionMemory(out / f"memory-{strategy}-{seed}.db")
    runner = AuctionRunner(settings or Settings(), agents, memory, PromptLibrary())
    cheapest = min(agents, key=lambda a: (a.price, a.name)).name
    routed = []
    for task in order:
        if task.id not in cache:
            events = list(
                runner.run(Job(job_text(task), task.domain, ""), refine=with_memory, repo="bench")
            )
            final = events[-1]
            if not isinstance(final, WinnerChosen | AuctionFailed):
                raise RuntimeError(f"the auction for {task.id} ended without a verdict")
            won = isinstance(final, WinnerChosen)
            winner = final.winner.agent if isinstance(final, WinnerChosen) else cheapest
            attempt = store.get(task.id, winner)
            if attempt is not None and won:
                # what the user saw (agentic tasks), never the hidden grade, is what it learns
                seen = attempt.passed if attempt.checks_passed is None else attempt.checks_passed
                memory.record_execution(
                    runner.auction_ids[-1],
                    winner,
                    "success" if seen else "failure",
                    tokens=attempt.tokens,
                    cost_usd=attempt.cost_usd,
                )
            cache[task.id] = {
                "winner": winner,
                "decided": won,
                "tokens": sum(final.tokens_by_phase.values()),
                "cost_usd": sum(final.cost_by_phase.values()),
            }
            partial = cache_path.with_suffix(".tmp")
            partial.write_text(json.dumps(cache, indent=1))
            os.replace(partial, cache_path)
        progress(task.id)
        done = cache[task.id]
        attempt = store.get(task.id, str(done["winner"]))
        if attempt is None:
            continue
        routed.append(
            Routed(
                task.id,
                strategy,
                (attempt.agent,),
                attempt.passed,
                attempt.score,
                attempt.cost_usd,
                attempt.tokens,
                overhead_tokens=int(str(done["tokens"])),
                overhead_usd=float(str(done["cost_usd"])),
            )
        )
    return routed


def small_wins(routed: Sequence[Routed], largest: str) -> dict[str, list[float]]:
    """Per stream order, the cumulative share of tasks a cheaper agent won, in stream order
    (the memory growing by one auction per task)."""
    curves: dict[str, list[float]] = {}
    counts: dict[str, tuple[int, int]] = {}
    for item in routed:  # each order's items are in its stream order
        order = str(item.order or 0)
        small, seen = counts.get(order, (0, 0))
        small, seen = small + (largest not in item.agents), seen + 1
        counts[order] = (small, seen)
        curves.setdefault(order, []).append(round(small / seen, 3))
    return curves
