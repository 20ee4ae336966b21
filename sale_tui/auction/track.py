"""What the memory knows about each agent on jobs like this one, and routing from it.

A ``TrackRecord`` is an agent's outcomes on the nearest past jobs of the same kind (the work
passed the user's checks or it did not; escalation attempts count like any other). It enters
the auction's value as ``w_m * rate`` (``scoring.value_term``), so the memory can move work up
to a pricier agent as well as down; and when the records leave no doubt which agent to use,
``route`` skips the bids and the jury altogether (issue 15, items 3-5).

The routing rule is the expected cost of trying a cheaper agent first. With escalation on, a
cheap agent ``a`` tries first when ``q_a * c_L > c_a``: its expected cost ``c_a + (1 - q_a) c_L``
is below the largest agent's ``c_L`` (``q`` the chance its work passes the checks, ``c`` the mean
$ of its executions on those jobs). The decision counts as sure only when it holds at both ends
of a Wilson interval around ``q``; otherwise the auction decides. Without escalation a cheaper
agent is used only when it is sure to pass as often as the largest.

Pure: numbers in, a decision out, no model calls and no SQLite (``memory.track`` reads them).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

PRIOR_RATE = 0.5
"""The success rate assumed for an agent the memory knows nothing about: the same for every
agent, so an empty memory changes no auction."""
PRIOR_STRENGTH = 1.0
"""How many (similarity-weighted) past jobs the prior counts as."""
CONFIDENCE_Z = 1.28
"""The Wilson interval's z: 80% two-sided. Routing without an auction needs the decision to
hold at both ends of it."""


@dataclass(frozen=True)
class TrackRecord:
    agent: str
    passed: int
    """Similar past jobs where this agent's work passed the user's checks."""
    tried: int
    """Similar past jobs where it worked and the outcome is known."""
    rate: float
    """Similarity-weighted success rate, smoothed towards ``PRIOR_RATE``."""
    cost_usd: float | None = None
    """Mean $ of its executions on those jobs (or on any job of the kind); None: unknown."""
    chosen: int = 0
    """Of those jobs, the ones whose auction chose it, or whose auction's choice failed and
    whose escalation to it passed (jobs routed from memory not counted)."""
    auctioned: int = 0
    """Of those jobs, the ones decided by an auction (the same for every agent)."""

    def describe(self) -> str:
        if not self.tried:
            return "no similar jobs yet"
        return f"{self.passed}/{self.tried} similar jobs passed"


def smoothed_rate(outcomes: Sequence[tuple[float, bool]]) -> float:
    """``outcomes``: (similarity, passed) per past job; similarities below 0 count as 0."""
    weight = sum(max(s, 0.0) for s, _ in outcomes)
    passed = sum(max(s, 0.0) for s, ok in outcomes if ok)
    return (passed + PRIOR_STRENGTH * PRIOR_RATE) / (weight + PRIOR_STRENGTH)


def wilson(passed: int, tried: int, z: float = CONFIDENCE_Z) -> tuple[float, float]:
    """The Wilson score interval of a success rate (sound at 0/n and n/n, unlike p +- z*se)."""
    if tried <= 0:
        return 0.0, 1.0
    p = passed / tried
    centre = (p + z * z / (2 * tried)) / (1 + z * z / tried)
    half = z * math.sqrt(p * (1 - p) / tried + z * z / (4 * tried * tried)) / (1 + z * z / tried)
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass(frozen=True)
class Route:
    """An agent chosen from the memory, without bids or a jury."""

    agent: str
    reason: str
    """Shown in every front end: ``routed from memory: 7 similar jobs, qwen-0.5b passed 6 …``."""


def explores(job_text: str, share: float) -> bool:
    """Whether this job runs a full auction although the memory is sure, so that the memory
    keeps learning about the agents it would skip. Decided by a hash of the job, so a rerun
    of the same job (and a benchmark) decides the same way."""
    if share <= 0:
        return False
    digest = hashlib.sha256(job_text.encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < share


def route(
    records: Mapping[str, TrackRecord],
    prices: Mapping[str, float],
    *,
    escalate: bool,
    min_jobs: int,
) -> Route | None:
    """The agent to use without an auction, or None when the memory is not sure."""
    by_price = sorted(prices, key=lambda name: (prices[name], name))
    decided = _by_expected_cost(records, by_price, escalate=escalate, min_jobs=min_jobs)
    return decided or _as_the_auctions_did(records, min_jobs)


def _as_the_auctions_did(records: Mapping[str, TrackRecord], min_jobs: int) -> Route | None:
    """When every one of at least ``min_jobs`` similar auctioned jobs went to the same agent
    (its auction chose it, or escalated to it when the choice failed), the next auction would
    most likely end there too: its cost can be saved. (A cheap agent the auctions never choose
    is never tried, so the expected-cost rule cannot decide alone.)"""
    for record in records.values():
        if record.auctioned >= min_jobs and record.chosen == record.auctioned:
            return Route(
                record.agent,
                f"routed from memory: the {record.auctioned} most similar auctioned jobs all "
                f"went to {record.agent} ({record.describe()})",
            )
    return None


def _by_expected_cost(
    records: Mapping[str, TrackRecord], by_price: Sequence[str], *, escalate: bool, min_jobs: int
) -> Route | None:
    largest = by_price[-1]
    top = records.get(largest)
    for agent in by_price[:-1]:
        record = records.get(agent)
        if record is None or record.tried < min_jobs:
            return None
        low, high = wilson(record.passed, record.tried)
        if escalate:
            if record.cost_usd is None or top is None or top.cost_usd is None:
                return None
            cheap, dear = record.cost_usd, top.cost_usd
            if low * dear > cheap:
                return Route(agent, _why(record, f"{_money(cheap)} a try against {largest}'s "
                                     f"{_money(dear)}; if it fails, {largest} tries"))  # fmt: skip
            if high * dear >= cheap:
                return None
        else:
            if top is None or top.tried < min_jobs:
                return None
            if low >= top.rate:
                return Route(agent, _why(record, f"as often as {largest} ({top.describe()})"))
            if high >= top.rate:
                return None
        # sure that this agent does not pay for itself: look at the next one up
    if top is None:
        return None
    skipped = ", ".join(
        f"{name} {records[name].describe()}" for name in by_price[:-1] if name in records
    )
    because = "a cheaper try would not pay for itself" if escalate else "none cheaper is as good"
    return Route(largest, f"routed from memory: {skipped}; {because}; {largest} {top.describe()}")


def _why(record: TrackRecord, because: str) -> str:
    return f"routed from memory: {record.agent} {record.describe()}, {because}"


def _money(usd: float) -> str:
    return f"${usd:.6f}" if usd < 0.01 else f"${usd:.4f}"
