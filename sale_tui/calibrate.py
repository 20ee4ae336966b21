"""Fitting the auction's weights from recorded outcomes: the one home of scipy.

Each auction with a known outcome becomes a *task* with a *target* bid, the bid that should
have won:
- the cheapest agent whose execution succeeded (several are known after ``sale-tui bench``);
- otherwise, when the winner failed or its work was rejected or undone, the most expensive
  other bidder (a failure teaches the auction to escalate).

With a bid's score linear in the weights, ``s_i(w) = w_c c_i - w_h H_i - sum_j w_j g_ji``, the
loss of task t is ``max_i (s_target - s_i + margin)``: how far the target is from winning by a
margin. We solve ``min_w max_t loss_t`` (the worst task, not the mean, as in SALE) as a linear
program with bounded weights, plus a tiny pull towards the current weights so that data which
does not need a change does not move them. A missing entropy counts as 0 and a missing juror
score as the mean of the bid's other scores, which is what the auction's rescaling does when
jurors weigh the same.
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linprog

from sale_tui.auction.scoring import Weights
from sale_tui.errors import SaleError
from sale_tui.memory import AuctionMemory

MARGIN = 0.05
PULL = 1e-3
BOUNDS_COST = (0.0, 2.0)
BOUNDS_ENTROPY = (-1.0, 1.0)
BOUNDS_JUROR = (0.0, 1.0)


@dataclass(frozen=True)
class Candidate:
    agent: str
    price: float
    cost: float
    """Normalised cost feature c_i: price x tokens / (max price x max bid tokens)."""
    entropy: float
    jury: dict[str, float]


@dataclass(frozen=True)
class Task:
    auction_id: str
    target: str
    candidates: tuple[Candidate, ...]


@dataclass(frozen=True)
class Calibration:
    weights: Weights
    tasks: int
    train_before: float
    train_after: float
    heldout_before: float
    heldout_after: float
    heldout_tasks: int
    worst_loss: float


def _jurors(tasks: Sequence[Task]) -> list[str]:
    return sorted({j for t in tasks for c in t.candidates for j in c.jury})


def _features(candidate: Candidate, jurors: Sequence[str]) -> np.ndarray:
    present = list(candidate.jury.values())
    mean = sum(present) / len(present) if present else 0.0
    scores = [candidate.jury.get(j, mean) for j in jurors]
    return np.array([candidate.cost, -candidate.entropy, *[-s for s in scores]])


def _vector(weights: Weights, jurors: Sequence[str]) -> np.ndarray:
    return np.array(
        [weights.cost, weights.entropy, *[weights.juror_weight(j, len(jurors)) for j in jurors]]
    )


def routing_accuracy(tasks: Sequence[Task], weights: Weights) -> float:
    """Share of tasks where the target bid has the lowest score (ties to the cheaper)."""
    if not tasks:
        return float("nan")
    jurors = _jurors(tasks)
    w = _vector(weights, jurors)
    hits = 0
    for task in tasks:
        best = min(
            task.candidates, key=lambda c: (round(float(_features(c, jurors) @ w), 12), c.price)
        )
        hits += best.agent == task.target
    return hits / len(tasks)


def load_tasks(memory: AuctionMemory) -> list[Task]:
    db = memory.db
    tasks = []
    for auction_id, winner, max_tokens in db.execute(
        "SELECT id, winner, max_bid_tokens FROM auctions WHERE status = 'won' ORDER BY started_at"
    ).fetchall():
        outcomes = {}
        for agent, status, verdict in db.execute(
            "SELECT agent, status, verdict FROM executions WHERE auction_id = ? ORDER BY id",
            [auction_id],
        ).fetchall():
            good = (verdict == "accepted") or (
                status == "success" and verdict not in ("rejected", "undone")
            )
            outcomes[agent] = good
        rows = db.execute(
            "SELECT agent, price, tokens, entropy, jury FROM bids WHERE auction_id = ? AND "
            "round = 'original' AND score IS NOT NULL",
            [auction_id],
        ).fetchall()
        if not outcomes or len(rows) < 2:
            continue
        max_price = max(r[1] for r in rows) or 1.0
        candidates = tuple(
            Candidate(
                agent=r[0],
                price=r[1],
                cost=r[1] * r[2] / (max_price * (max_tokens or 256)),
                entropy=r[3] or 0.0,
                jury={j: s for j, s in json.loads(r[4] or "{}").items() if s is not None},
            )
            for r in rows
        )
        succeeded = [c for c in candidates if outcomes.get(c.agent)]
        if succeeded:
            target = min(succeeded, key=lambda c: c.price).agent
        elif outcomes.get(winner) is False:
            others = [c for c in candidates if c.agent != winner]
            target = max(others, key=lambda c: c.price).agent
        else:
            continue
        tasks.append(Task(auction_id, target, candidates))
    return tasks


def fit(tasks: Sequence[Task], start: Weights) -> tuple[Weights, float]:
    """Solve the bounded min-max LP; returns the weights and the worst task's loss."""
    jurors = _jurors(tasks)
    n = 2 + len(jurors)
    w0 = _vector(start, jurors)
    rows, rhs = [], []
    # variables: w (n), z (1), u (n) with u >= |w - w0|
    for task in tasks:
        target = next(c for c in task.candidates if c.agent == task.target)
        f_target = _features(target, jurors)
        for other in task.candidates:
            if other.agent == task.target:
                continue
            row = np.zeros(2 * n + 1)
            row[:n] = f_target - _features(other, jurors)
            row[n] = -1.0
            rows.append(row)
            rhs.append(-MARGIN)
    for k in range(n):
        for sign in (1.0, -1.0):
            row = np.zeros(2 * n + 1)
            row[k] = sign
            row[n + 1 + k] = -1.0
            rows.append(row)
            rhs.append(sign * w0[k])
    objective = np.zeros(2 * n + 1)
    objective[n] = 1.0
    objective[n + 1 :] = PULL
    bounds = [
        BOUNDS_COST,
        BOUNDS_ENTROPY,
        *[BOUNDS_JUROR] * len(jurors),
        (0.0, None),
        *[(0.0, None)] * n,
    ]
    result = linprog(
        objective, A_ub=np.array(rows), b_ub=np.array(rhs), bounds=bounds, method="highs"
    )
    if not result.success:
        raise SaleError(f"calibration failed: {result.message}")
    w = result.x[:n]
    jury = {j: float(w[2 + i]) for i, j in enumerate(jurors)}
    default = float(np.mean(list(jury.values()))) if jury else None
    weights = Weights(cost=float(w[0]), entropy=float(w[1]), jurors=jury, default_juror=default)
    return weights, float(result.x[n])


def calibrate(
    memory: AuctionMemory, start: Weights, *, heldout: float = 0.25, seed: int = 0
) -> Calibration:
    tasks = load_tasks(memory)
    if len(tasks) < 4:
        raise SaleError(
            f"only {len(tasks)} auction(s) with a known outcome; calibrate needs at least 4",
            fix="run more jobs (or `sale-tui bench`) and record outcomes, then calibrate",
        )
    shuffled = list(tasks)
    random.Random(seed).shuffle(shuffled)
    cut = max(1, round(len(shuffled) * heldout))
    test, train = shuffled[:cut], shuffled[cut:]
    weights, worst = fit(train, start)
    return Calibration(
        weights=weights,
        tasks=len(tasks),
        worst_loss=worst,
        train_before=routing_accuracy(train, start),
        train_after=routing_accuracy(train, weights),
        heldout_before=routing_accuracy(test, start),
        heldout_after=routing_accuracy(test, weights),
        heldout_tasks=len(test),
    )
