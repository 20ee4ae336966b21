"""Fitting the auction's weights from recorded outcomes: the one home of scipy.

Each auction with a known outcome becomes a *task* with a *target* bid, the bid that should
have won:
- the cheapest agent whose execution succeeded (several are known after ``sale-tui bench``);
- when none did: the priciest other bidder not known to have failed (a failure teaches the
  auction to escalate), or the cheapest bidder when every bidder failed (nobody would have
  done it: the cheapest wastes least).

With a bid's score linear in the weights, ``s_i(w) = w_c c_i - w_h H_i - sum_j w_j g_ji``, the
slack of task t is ``xi_t = max(0, max_i (s_target - s_i + margin))``: how far the target is
from winning by a margin. SALE minimises the worst task's slack; with real outcomes, which are
never perfectly separable, that optimum is any w that makes one contradictory task's slack
small, and w = 0 (every score 0, slack = margin everywhere) was the usual answer: every job
then went to the cheapest agent. So:

- the weights are **normalised** (``w_c + sum_j w_j = 1``, all non-negative; the entropy
  weight and ``w_m``, the weight of the bidder's success rate on similar past jobs, are
  bounded), which excludes w = 0; scores only rank bids, so nothing is lost;
- the loss is the **CVaR** of the slacks at level ``alpha``: the mean of the worst
  ``alpha`` share of tasks (Rockafellar-Uryasev, a linear program). ``alpha = 1`` is the mean
  hinge, ``alpha -> 1/T`` SALE's worst case; in between, one noisy task cannot decide w.

A tiny pull towards the starting weights (normalised the same way) keeps data that does not
need a change from moving them. A missing entropy counts as 0 and a missing juror score as the
mean of the bid's other scores, which is what the auction's rescaling does when jurors weigh
the same. The cost feature is normalised by the auction's highest price, as the engine does.
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linprog

from sale_tui.auction.scoring import Weights
from sale_tui.auction.track import PRIOR_RATE
from sale_tui.errors import SaleError
from sale_tui.memory import AuctionMemory
from sale_tui.memory.fits import Trigger

MARGIN = 0.05
PULL = 1e-3
ALPHA = 0.25
"""CVaR level: the loss is the mean slack of the worst quarter of the training tasks."""
BOUNDS_ENTROPY = (-1.0, 1.0)
BOUNDS_MEMORY = (0.0, 2.0)
"""w_m is outside the normalisation (a memory that knows nothing gives every bid the same rate,
and a weight inside the sum would then take all of it at no loss); the default weights put it
at 2/3 of the normalised sum."""


@dataclass(frozen=True)
class Candidate:
    agent: str
    price: float
    cost: float
    """Normalised cost feature c_i: price x tokens / (max price x max bid tokens)."""
    entropy: float
    jury: dict[str, float]
    memory: float = PRIOR_RATE
    """The bidder's success rate on similar past jobs as the value used it (the prior, the same
    for every bid, when the memory knew nothing)."""


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
    loss: float
    """The fit's training loss: the mean slack of the worst ``ALPHA`` share of tasks."""


def _jurors(tasks: Sequence[Task]) -> list[str]:
    return sorted({j for t in tasks for c in t.candidates for j in c.jury})


def _features(candidate: Candidate, jurors: Sequence[str]) -> np.ndarray:
    present = list(candidate.jury.values())
    mean = sum(present) / len(present) if present else 0.0
    scores = [candidate.jury.get(j, mean) for j in jurors]
    return np.array([candidate.cost, -candidate.entropy, *[-s for s in scores], -candidate.memory])


def _vector(weights: Weights, jurors: Sequence[str]) -> np.ndarray:
    return np.array(
        [
            weights.cost,
            weights.entropy,
            *[weights.juror_weight(j, len(jurors)) for j in jurors],
            weights.memory,
        ]
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


def _target(
    candidates: Sequence[Candidate], outcomes: dict[str, bool], winner: str | None
) -> str | None:
    """The bid that should have won, or None when the outcomes do not say."""
    succeeded = [c for c in candidates if outcomes.get(c.agent)]
    if succeeded:
        return min(succeeded, key=lambda c: c.price).agent
    if all(outcomes.get(c.agent) is False for c in candidates):
        return min(candidates, key=lambda c: c.price).agent  # nobody could: spend least
    if outcomes.get(winner or "") is False:
        untried = [c for c in candidates if outcomes.get(c.agent) is None]
        return max(untried, key=lambda c: c.price).agent
    return None


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
            "SELECT agent, price, tokens, entropy, jury, memory_rate FROM bids "
            "WHERE auction_id = ? AND round = 'original' AND score IS NOT NULL",
            [auction_id],
        ).fetchall()
        if not outcomes or len(rows) < 2:
            continue
        # the engine's normalisation: the highest price among the auction's agents, dropped
        # bids' agents included
        (max_price,) = db.execute(
            "SELECT max(price) FROM bids WHERE auction_id = ? AND round = 'original'",
            [auction_id],
        ).fetchone()
        candidates = tuple(
            Candidate(
                agent=r[0],
                price=r[1],
                cost=r[1] * r[2] / ((max_price or 1.0) * (max_tokens or 256)),
                entropy=r[3] or 0.0,
                jury={j: s for j, s in json.loads(r[4] or "{}").items() if s is not None},
                memory=PRIOR_RATE if r[5] is None else r[5],
            )
            for r in rows
        )
        target = _target(candidates, outcomes, winner)
        if target is None:
            continue
        tasks.append(Task(auction_id, target, candidates))
    return tasks


def _normalised(w: np.ndarray) -> np.ndarray:
    """``w`` scaled so that the cost and juror weights sum to 1 (the fit's normalisation)."""
    total = w[0] + w[2:-1].sum()
    return w / total if total > 0 else np.array([1.0, *w[1:] * 0])


def fit(tasks: Sequence[Task], start: Weights, alpha: float = ALPHA) -> tuple[Weights, float]:
    """Solve the normalised CVaR LP; returns the weights and the loss (the mean slack of the
    worst ``alpha`` share of tasks)."""
    jurors = _jurors(tasks)
    n = 3 + len(jurors)  # cost, entropy, each juror, memory
    count = len(tasks)
    w0 = _normalised(_vector(start, jurors))
    # variables: w (n) | xi (count): slacks | tau (1) | zeta (count): xi - tau above 0 |
    # u (n): |w - w0|
    xi, tau, zeta, u = n, n + count, n + count + 1, n + 2 * count + 1
    size = 2 * n + 2 * count + 1
    rows, rhs = [], []
    for t, task in enumerate(tasks):
        target = next(c for c in task.candidates if c.agent == task.target)
        f_target = _features(target, jurors)
        for other in task.candidates:
            if other.agent == task.target:
                continue
            row = np.zeros(size)  # s_target - s_other + margin <= xi_t
            row[:n] = f_target - _features(other, jurors)
            row[xi + t] = -1.0
            rows.append(row)
            rhs.append(-MARGIN)
        row = np.zeros(size)  # xi_t - tau <= zeta_t
        row[xi + t], row[tau], row[zeta + t] = 1.0, -1.0, -1.0
        rows.append(row)
        rhs.append(0.0)
    for k in range(n):
        for sign in (1.0, -1.0):
            row = np.zeros(size)
            row[k] = sign
            row[u + k] = -1.0
            rows.append(row)
            rhs.append(sign * w0[k])
    normal = np.zeros(size)
    normal[0] = 1.0
    normal[2 : n - 1] = 1.0  # not memory: where it says nothing it would soak up the sum
    objective = np.zeros(size)
    objective[tau] = 1.0
    objective[zeta : zeta + count] = 1.0 / (alpha * count)
    objective[u:] = PULL
    bounds = [
        (0.0, 1.0),
        BOUNDS_ENTROPY,
        *[(0.0, 1.0)] * len(jurors),
        BOUNDS_MEMORY,
        *[(0.0, None)] * count,
        (None, None),
        *[(0.0, None)] * count,
        *[(0.0, None)] * n,
    ]
    result = linprog(
        objective,
        A_ub=np.array(rows),
        b_ub=np.array(rhs),
        A_eq=normal[None, :],
        b_eq=np.array([1.0]),
        bounds=bounds,
        method="highs",
    )
    if not result.success:
        raise SaleError(f"calibration failed: {result.message}")
    w = result.x[:n]
    jury = {j: float(w[2 + i]) for i, j in enumerate(jurors)}
    default = float(np.mean(list(jury.values()))) if jury else None
    weights = Weights(
        cost=float(w[0]),
        entropy=float(w[1]),
        jurors=jury,
        default_juror=default,
        memory=float(w[n - 1]),
    )
    loss = float(result.x[tau] + result.x[zeta : zeta + count].sum() / (alpha * count))
    return weights, loss


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
    weights, loss = fit(train, start)
    return Calibration(
        weights=weights,
        tasks=len(tasks),
        loss=loss,
        train_before=routing_accuracy(train, start),
        train_after=routing_accuracy(train, weights),
        heldout_before=routing_accuracy(test, start),
        heldout_after=routing_accuracy(test, weights),
        heldout_tasks=len(test),
    )


def save(
    memory: AuctionMemory,
    result: Calibration,
    *,
    trigger: Trigger = "calibrate",
    adopted: bool = True,
    reason: str = "",
) -> None:
    """Keep a calibration in the memory; an adopted one is what later auctions use."""
    memory.save_fitted_weights(
        result.weights,
        records=result.tasks,
        train_accuracy=result.train_after,
        heldout_accuracy=result.heldout_after,
        baseline_heldout_accuracy=result.heldout_before,
        heldout_tasks=result.heldout_tasks,
        trigger=trigger,
        adopted=adopted,
        reason=reason,
    )
