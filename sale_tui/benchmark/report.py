"""The comparison: pass@1 with a bootstrap 95% interval, $, cost relative to always-largest,
share of tasks given to the largest agent, and the choosing overhead's share of tokens; per
domain and per complexity bin."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from sale_tui.benchmark.strategies import Routed
from sale_tui.benchmark.tasks import Task

BOOTSTRAP = 2000


@dataclass(frozen=True)
class Row:
    group: str
    strategy: str
    tasks: int
    pass_at_1: float
    ci_low: float
    ci_high: float
    cost_usd: float
    cost_vs_largest: float | None
    largest_share: float
    overhead_token_share: float


def bootstrap(passed: Sequence[bool], seed: int = 0) -> tuple[float, float]:
    """95% percentile interval of the mean over ``BOOTSTRAP`` resamples."""
    if not passed:
        return 0.0, 0.0
    values = np.array(passed, dtype=float)
    draws = np.random.default_rng(seed).choice(values, size=(BOOTSTRAP, len(values)))
    means = draws.mean(axis=1)
    return float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))


def rows(
    routed: dict[str, list[Routed]], tasks: Sequence[Task], largest: str, seed: int = 0
) -> list[Row]:
    groups: dict[str, set[str]] = {"all": {t.id for t in tasks}}
    for task in tasks:
        groups.setdefault(task.domain, set()).add(task.id)
        groups.setdefault(f"{task.domain}/{task.bin}", set()).add(task.id)
    result = []
    for group, ids in groups.items():
        largest_cost = sum(
            r.cost_usd + r.overhead_usd for r in routed.get("largest", []) if r.task in ids
        )
        for strategy, items in routed.items():
            chosen = [r for r in items if r.task in ids]
            if not chosen:
                continue
            low, high = bootstrap([r.passed for r in chosen], seed)
            cost = sum(r.cost_usd + r.overhead_usd for r in chosen)
            tokens = sum(r.tokens + r.overhead_tokens for r in chosen)
            result.append(
                Row(
                    group,
                    strategy,
                    len(chosen),
                    sum(r.passed for r in chosen) / len(chosen),
                    low,
                    high,
                    cost,
                    cost / largest_cost if largest_cost else None,
                    sum(largest in r.agents for r in chosen) / len(chosen),
                    sum(r.overhead_tokens for r in chosen) / tokens if tokens else 0.0,
                )
            )
    return result
