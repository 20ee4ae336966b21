"""One benchmark run: tasks → outcome table (resumable) → strategies → report, saved as JSON."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from sale_tui.auction import AuctionAgent
from sale_tui.benchmark.call_cache import CallCache
from sale_tui.benchmark.grading import Runner
from sale_tui.benchmark.outcomes import Attempt, OutcomeStore, fill
from sale_tui.benchmark.report import agent_runs, rows
from sale_tui.benchmark.routers import ROUTERS, route_trained
from sale_tui.benchmark.sale import SALE_STRATEGIES, fit_on_training, run_sale, small_wins
from sale_tui.benchmark.strategies import Routed, route, table_strategies
from sale_tui.benchmark.tasks import Task
from sale_tui.config import Settings
from sale_tui.errors import UsageError

__all__ = ["SALE_STRATEGIES", "known_strategies", "run"]


def known_strategies(by_price: Sequence[str], trained: bool) -> list[str]:
    return [*table_strategies(by_price), *(ROUTERS if trained else ()), *SALE_STRATEGIES]


def run(
    tasks: Sequence[Task],
    agents: Sequence[AuctionAgent],
    box: Runner,
    out: Path,
    *,
    train: Sequence[Task] = (),
    strategies: Sequence[str] | None = None,
    seed: int = 0,
    orders: Sequence[int] = (0,),
    settings: Settings | None = None,
    progress: Callable[[Attempt | None], None] = lambda attempt: None,
    auction_progress: Callable[[str], None] = lambda task_id: None,
) -> dict[str, Any]:
    """``tasks``: the test stream; ``train``: tasks only the trained routers learn from;
    ``orders``: the stream-order seeds ``sale+memory`` runs with."""
    by_price = [a.name for a in sorted(agents, key=lambda a: (a.price, a.name))]
    known = known_strategies(by_price, trained=bool(train))
    chosen = list(strategies or known)
    unknown = [s for s in chosen if s not in known]
    if unknown:
        needs_train = [s for s in unknown if s in ROUTERS]
        raise UsageError(
            f"unknown strategies: {', '.join(unknown)}",
            fix="give the routers training tasks with --train N"
            if needs_train and len(needs_train) == len(unknown)
            else f"choose from {', '.join(known)}",
        )
    store = OutcomeStore(out / "outcomes.json")
    started = time.perf_counter()
    fill(store, [*tasks, *train], agents, box, progress)
    routed: dict[str, list[Routed]] = {}
    calls = CallCache(out / "calls.db")
    sale_training: dict[str, object] = {}
    try:
        replaying = calls.wrap(agents)
        weights = None
        if train and any(s in SALE_STRATEGIES for s in chosen):
            weights, sale_training = fit_on_training(
                train, replaying, store, out, settings, auction_progress
            )
        for strategy in chosen:
            if strategy in SALE_STRATEGIES:
                routed[strategy] = run_sale(
                    strategy, tasks, replaying, store, out, orders=orders, settings=settings,
                    progress=auction_progress, weights=weights,
                )  # fmt: skip
            elif strategy in ROUTERS:
                routed[strategy] = route_trained(strategy, train, tasks, by_price, store)
            else:
                routed[strategy] = route(strategy, tasks, by_price, store, seed)
    finally:
        calls.close()
    report = {
        "seed": seed,
        "orders": list(orders),
        "agents": by_price,
        "largest": by_price[-1],
        "tasks": [{"id": t.id, "domain": t.domain, "bin": t.bin} for t in tasks],
        "train": [t.id for t in train],
        "seconds": round(time.perf_counter() - started, 1),
        "replayed_calls": {"hits": calls.hits, "misses": calls.misses},
        "sale_training": sale_training,
        "rows": [asdict(r) for r in rows(routed, tasks, by_price[-1], seed)],
        "agent_runs": agent_runs(tasks, by_price, store),
        "small_agent_wins": {
            s: small_wins(items, by_price[-1])
            for s, items in routed.items()
            if s in SALE_STRATEGIES
        },
        "routed": {s: [asdict(r) for r in items] for s, items in routed.items()},
    }
    (out / "results.json").write_text(json.dumps(report, indent=1))
    return report
