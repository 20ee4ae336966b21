"""The comparison: pass@1 with a bootstrap 95% interval, $, cost relative to always-largest,
share of tasks given to the largest agent, and the choosing overhead's share of tokens; per
domain and per complexity bin."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from sale_tui.benchmark.outcomes import Attempt, OutcomeStore
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
    mean_score: float = 0.0
    """Mean partial credit: token F1 for answer tasks (near misses count), 0/1 for tests."""


def bootstrap(passed: Sequence[float], seed: int = 0) -> tuple[float, float]:
    """95% percentile interval of the mean over ``BOOTSTRAP`` resamples."""
    if not passed:
        return 0.0, 0.0
    values = np.array(passed, dtype=float)
    draws = np.random.default_rng(seed).choice(values, size=(BOOTSTRAP, len(values)))
    means = draws.mean(axis=1)
    return float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))


def _per_task(items: Sequence[Routed]) -> dict[str, list[Routed]]:
    by_task: dict[str, list[Routed]] = {}
    for item in items:
        by_task.setdefault(item.task, []).append(item)
    return by_task


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values)


def rows(
    routed: dict[str, list[Routed]], tasks: Sequence[Task], largest: str, seed: int = 0
) -> list[Row]:
    """A strategy run over several stream orders (``sale+memory``) has one item per task and
    order: each task then counts once, with its mean over the orders (pass rate, $, tokens),
    and the bootstrap resamples tasks."""
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
            runs = [v for k, v in _per_task(items).items() if k in ids]
            if not runs:
                continue
            passed = [_mean([r.passed for r in runs_of]) for runs_of in runs]
            low, high = bootstrap(passed, seed)
            cost = sum(_mean([r.cost_usd + r.overhead_usd for r in x]) for x in runs)
            tokens = sum(_mean([r.tokens + r.overhead_tokens for r in x]) for x in runs)
            overhead = sum(_mean([r.overhead_tokens for r in x]) for x in runs)
            result.append(
                Row(
                    group,
                    strategy,
                    len(runs),
                    _mean(passed),
                    low,
                    high,
                    cost,
                    cost / largest_cost if largest_cost else None,
                    _mean([_mean([largest in r.agents for r in x]) for x in runs]),
                    overhead / tokens if tokens else 0.0,
                    _mean([_mean([r.score for r in x]) for x in runs]),
                )
            )
    return result


def agent_runs(
    tasks: Sequence[Task], by_price: Sequence[str], store: OutcomeStore
) -> list[dict[str, Any]]:
    """Agentic tasks, per agent and domain: pass@1 (hidden grade) with its interval, how often
    the user's own checks passed, median tokens / seconds / steps, and how runs stopped."""
    found = []
    for group in ["all", *sorted({t.domain for t in tasks})]:
        chosen = [t for t in tasks if group == "all" or t.domain == group]
        for name in by_price:
            attempts = [a for t in chosen if (a := store.get(t.id, name)) is not None]
            if not any(a.steps for a in attempts):
                continue  # one-call attempts: the strategy table says it all
            passed = [float(a.passed) for a in attempts]
            low, high = bootstrap(passed)
            found.append(
                {
                    "group": group,
                    "agent": name,
                    "tasks": len(attempts),
                    "pass_at_1": round(float(np.mean(passed)), 3),
                    "ci_low": low,
                    "ci_high": high,
                    "checks_passed": round(
                        float(np.mean([bool(a.checks_passed) for a in attempts])), 3
                    ),
                    "median_tokens": int(np.median([a.tokens for a in attempts])),
                    "median_computed_tokens": _median_computed(attempts),
                    "median_seconds": round(float(np.median([a.seconds for a in attempts])), 1),
                    "median_steps": float(np.median([a.steps for a in attempts])),
                    "stops": dict(Counter(a.stop for a in attempts).most_common()),
                }
            )
    return found


def _median_computed(attempts: Sequence[Attempt]) -> int | None:
    """Median tokens a model computed (prompt tokens not read from its cache, plus output);
    None when any attempt was recorded without the split."""
    cached = [a.cached_tokens for a in attempts]
    if not attempts or any(c is None for c in cached):
        return None
    return int(np.median([a.tokens - (c or 0) for a, c in zip(attempts, cached, strict=True)]))
