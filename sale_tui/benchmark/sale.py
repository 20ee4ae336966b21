"""SALE as a routing strategy: a real auction per task (the agents' bids and jury, through the
same ``AuctionRunner`` as ``sale-tui do``); the winner's result is its attempt in the outcome
table, so SALE is judged on the very attempts the other strategies are; the auction's own
tokens and $ are its overhead. As in ``sale-tui do``, a winner whose work fails the user's
check (the visible tests, the citations; never the hidden grade) escalates to a pricier agent
(``ESCALATE`` tries, the largest last), and both attempts are paid for.

``sale``: no refinement from memory (so the order of the stream does not matter).
``sale`` and ``sale+memory`` are the paper's mechanism: every job auctioned, no memory term.
``sale+memory``: the stream runs in a seeded random order through one fresh memory file; after
each task the winner's outcome is recorded, so later auctions retrieve past winning and losing
plans (the paper's setting). It runs once per stream order (``orders``: their seeds), since
what the memory holds when a task comes depends on the order. Each auction is cached, so an
interrupted run resumes (the memory file holds exactly the auctions done so far).
``sale+learned``: ``sale+memory`` plus what the memory knows of outcomes (issue 15): each
bidder's track record on similar past jobs in the value, and no auction at all when the records
leave no doubt (``auction.mode = auto``, as ``sale-tui do`` runs by default); with a training
split, its stream starts from the training memory, as a user's memory holds their past jobs.
``sale+refit``: ``sale+learned`` with the automatic refit ``do`` makes after a job
(``refit.refit_if_due``: every ``auction.refit_every`` outcomes, adopted only when it routes
the held-out auctions no worse), so the weights move during the stream.

With training tasks (``--train N``), both follow the paper's protocol: first an auction on
every training task, each agent's outcome recorded (graded, as the trained routers learn it),
the weights fitted there (``calibrate.fit``) and frozen for the test stream. The training
auctions' tokens and $ are reported apart, as the routers' training is.
"""

from __future__ import annotations

import dataclasses
import json
import os
import random
import shutil
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

from sale_tui.auction import AuctionAgent, Job, Weights
from sale_tui.auction.events import AuctionFailed, MemoryConsulted, WinnerChosen
from sale_tui.auction.scoring import escalation_agents
from sale_tui.benchmark.outcomes import Attempt, OutcomeStore, messages_for
from sale_tui.benchmark.strategies import STREAMED, Routed, looks_answered
from sale_tui.benchmark.tasks import Task
from sale_tui.config import Settings
from sale_tui.memory import AuctionMemory
from sale_tui.prompting import PromptLibrary
from sale_tui.refit import refit_if_due
from sale_tui.runner import AuctionRunner, weights_from

SALE_STRATEGIES = ("sale", "sale+memory", "sale+learned", "sale+refit")
LEARNED = ("sale+learned", "sale+refit")
"""As ``sale-tui do`` runs: the memory's records in the value, routing without an auction."""
ESCALATE = 1
"""Escalations after a failed check, as ``sale-tui do --escalate`` (default 1)."""


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
    weights: Weights | None = None,
) -> list[Routed]:
    """Every task routed by an auction: once for ``sale``, once per stream order for
    ``sale+memory``. ``weights``: fitted on the training split (``fit_on_training``), or
    None for the configured ones."""
    if strategy not in STREAMED:
        return _stream(strategy, tasks, agents, store, out, orders[0], settings, progress, weights)
    routed: list[Routed] = []
    for seed in orders:
        items = _stream(strategy, tasks, agents, store, out, seed, settings, progress, weights)
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
    weights: Weights | None = None,
) -> list[Routed]:
    """The tasks in stream order (seeded), each routed by an auction (or by the memory)."""
    with_memory = strategy in STREAMED
    learned = strategy in LEARNED
    settings = settings_for(strategy, settings or Settings())
    order = list(tasks)
    random.Random(seed).shuffle(order)
    cache_path = out / f"auctions-{strategy}-{seed}.json"
    cache = _load(cache_path)
    memory_path = out / f"memory-{strategy}-{seed}.db"
    if learned and not cache and (out / "memory-train.db").exists():
        shutil.copyfile(out / "memory-train.db", memory_path)  # what the training taught
    memory = AuctionMemory(memory_path)
    if weights is not None and not learned:
        weights = replace(weights, memory=0.0)  # the paper's value: no memory term
    if weights is not None and memory.latest_fitted_weights() != weights:
        _freeze(memory, weights)
    runner = AuctionRunner(settings, agents, memory, PromptLibrary())
    cheapest = min(agents, key=lambda a: (a.price, a.name)).name
    prices = {a.name: a.price for a in agents}
    routed = []
    for task in order:
        if task.id not in cache:
            job = Job(job_text(task), task.domain, "")
            events = list(runner.run(job, refine=with_memory, repo="bench", escalate=ESCALATE > 0))
            final = events[-1]
            if not isinstance(final, WinnerChosen | AuctionFailed):
                raise RuntimeError(f"the auction for {task.id} ended without a verdict")
            won = isinstance(final, WinnerChosen)
            winner = final.winner.agent if isinstance(final, WinnerChosen) else cheapest
            tried = _escalated(task, winner, prices, store)
            refit = None
            if won:
                for attempt in tried:  # escalation outcomes too, as `do` records them
                    # what the user saw (agentic tasks), never the hidden grade, is learnt
                    seen = (
                        attempt.passed if attempt.checks_passed is None else attempt.checks_passed
                    )
                    memory.record_execution(
                        runner.auction_ids[-1],
                        attempt.agent,
                        "success" if seen else "failure",
                        tokens=attempt.tokens,
                        cost_usd=attempt.cost_usd,
                    )
                if strategy == "sale+refit":  # after the job, as `do` does
                    refit = refit_if_due(memory, settings)
            by_memory = any(
                isinstance(e, MemoryConsulted) and e.outcome == "routed" for e in events
            )
            cache[task.id] = {
                "winner": winner, "decided": won, "routed": by_memory, **_spent(final),
                "refit": None if refit is None else dataclasses.asdict(refit),
            }  # fmt: skip
            _save(cache_path, cache)
        progress(task.id)
        done = cache[task.id]
        tried = _escalated(task, str(done["winner"]), prices, store)
        if not tried:
            continue
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
                overhead_tokens=int(str(done["tokens"])),
                overhead_usd=float(str(done["cost_usd"])),
            )
        )
    return routed


def settings_for(strategy: str, settings: Settings) -> Settings:
    """The paper's ``sale`` and ``sale+memory`` auction every job with no memory term;
    ``sale+learned`` and ``sale+refit`` run as configured (``do``'s defaults)."""
    if strategy in LEARNED:
        return settings
    auction = settings.auction.model_copy(update={"mode": "always", "w_memory": 0.0})
    return settings.model_copy(update={"auction": auction})


def _spent(final: WinnerChosen | AuctionFailed) -> dict[str, object]:
    """What an auction cost: its tokens and $ over all phases."""
    return {
        "tokens": sum(final.tokens_by_phase.values()),
        "cost_usd": sum(final.cost_by_phase.values()),
    }


def _load(path: Path) -> dict[str, dict[str, object]]:
    """The auctions a run already did (empty on a first run)."""
    return json.loads(path.read_text()) if path.exists() else {}


def _save(path: Path, cache: dict[str, dict[str, object]]) -> None:
    """Written whole, then renamed: an interrupted run never leaves half a cache."""
    partial = path.with_suffix(".tmp")
    partial.write_text(json.dumps(cache, indent=1))
    os.replace(partial, path)


def _escalated(
    task: Task, winner: str, prices: dict[str, float], store: OutcomeStore
) -> list[Attempt]:
    """The attempts `do` would make: the winner's, then while the user's check fails (never
    the hidden grade) a pricier agent's, the largest last (``ESCALATE`` tries, as ``do``'s
    default ``--escalate 1``). Empty when the winner's attempt is not in the table yet."""
    first = store.get(task.id, winner)
    if first is None:
        return []
    tried = [first]
    for name in escalation_agents(winner, prices, ESCALATE):
        if looks_answered(task, tried[-1]):
            break
        attempt = store.get(task.id, name)
        if attempt is None:
            break
        tried.append(attempt)
    return tried


def small_wins(routed: Sequence[Routed], largest: str) -> dict[str, list[float]]:
    """Per stream order, the cumulative share of tasks a cheaper agent won, in stream order
    (the memory growing by one auction per task)."""
    curves: dict[str, list[float]] = {}
    counts: dict[str, tuple[int, int]] = {}
    for item in routed:  # each order's items are in its stream order
        order = str(item.order or 0)
        small, seen = counts.get(order, (0, 0))
        small, seen = small + (item.agents[0] != largest), seen + 1  # the auction's winner
        counts[order] = (small, seen)
        curves.setdefault(order, []).append(round(small / seen, 3))
    return curves


def _freeze(memory: AuctionMemory, weights: Weights) -> None:
    """The weights the stream's auctions use (``runner.weights_from`` reads the latest)."""
    nan = float("nan")
    memory.save_fitted_weights(
        weights,
        records=0,
        train_accuracy=nan,
        heldout_accuracy=nan,
        baseline_heldout_accuracy=nan,
        trigger="bench",
    )


def fit_on_training(
    train: Sequence[Task],
    agents: Sequence[AuctionAgent],
    store: OutcomeStore,
    out: Path,
    settings: Settings | None = None,
    progress: Callable[[str], None] = lambda task_id: None,
) -> tuple[Weights | None, dict[str, object]]:
    """The paper's protocol: an auction per training task, every agent's outcome recorded,
    the weights fitted on them. (the weights, or None when too few tasks say anything; what
    the training cost and found)"""
    from sale_tui.calibrate import fit, load_tasks, routing_accuracy

    settings = settings or Settings()
    cache_path = out / "auctions-train.json"
    cache = _load(cache_path)
    memory = AuctionMemory(out / "memory-train.db")
    runner = AuctionRunner(settings, agents, memory, PromptLibrary())
    for task in train:
        if task.id in cache:
            continue
        job = Job(job_text(task), task.domain, "")
        events = list(runner.run(job, refine=False, repo="bench", mode="always"))
        final = events[-1]
        if isinstance(final, WinnerChosen):
            for agent in agents:  # every agent's attempt is known on the training split
                attempt = store.get(task.id, agent.name)
                if attempt is not None:
                    status = "success" if attempt.passed else "failure"
                    memory.record_execution(
                        runner.auction_ids[-1],
                        agent.name,
                        status,
                        tokens=attempt.tokens,
                        cost_usd=attempt.cost_usd,
                    )
        if isinstance(final, WinnerChosen | AuctionFailed):
            cache[task.id] = _spent(final)
            _save(cache_path, cache)
        progress(task.id)
    start = weights_from(settings)
    tasks = load_tasks(memory)
    summary: dict[str, object] = {
        "auctions": len(cache),
        "tokens": sum(int(str(c["tokens"])) for c in cache.values()),
        "cost_usd": sum(float(str(c["cost_usd"])) for c in cache.values()),
        "tasks_with_a_target": len(tasks),
    }
    if len(tasks) < 4:
        return None, {**summary, "weights": "configured (fewer than 4 training tasks to fit)"}
    weights, loss = fit(tasks, start)
    summary |= {
        "weights": dataclasses.asdict(weights),
        "loss": round(loss, 4),
        "train_accuracy_before": routing_accuracy(tasks, start),
        "train_accuracy_after": routing_accuracy(tasks, weights),
    }
    return weights, summary
