"""Each agent's track record on the past jobs most like a new one; mixed into ``AuctionMemory``.

An outcome is what the user saw: the execution's status (its work passed the checks or not;
an agent error counts as a failure) overridden by the user's verdict (rejected or undone work
failed, accepted work passed). Interrupted runs say nothing. Only jobs of the same kind above
a similarity floor count, the nearest ``k`` that have any outcome, each weighted by its
similarity (``auction.track``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sale_tui.auction.track import TrackRecord, smoothed_rate
from sale_tui.memory.searchable import Searchable

PASSED = {"success", "accepted"}
FAILED = {"failure", "error", "rejected", "undone"}
SEARCH_WIDTH = 8
"""How many nearest jobs to look at per job wanted (most neighbours may be of the other
kind, or have no outcome yet)."""
RECENT_COSTS = 50
"""The cost of an agent with no execution on the similar jobs: the mean of its last this many
executions of the kind."""


class TrackRecords(Searchable):
    def track_records(
        self, job: str, kind: str, agents: Sequence[str], *, k: int = 8, floor: float = 0.0
    ) -> dict[str, TrackRecord]:
        """Every agent's record on the ``k`` most similar past jobs of ``kind`` with a known
        outcome (similarity at least ``floor``)."""
        return self.track_records_near(self.embedder.embed([job])[0], kind, agents, k, floor)

    def track_records_near(
        self, query: Any, kind: str, agents: Sequence[str], k: int = 8, floor: float = 0.0
    ) -> dict[str, TrackRecord]:
        """``track_records`` for an already embedded job (a unit vector)."""
        outcomes: dict[str, list[tuple[float, bool]]] = {a: [] for a in agents}
        costs: dict[str, list[float]] = {a: [] for a in agents}
        jobs_used = auctioned = 0
        chosen: dict[str, int] = dict.fromkeys(agents, 0)
        for job_id, similarity in self.index.search(query, max(k, 1) * SEARCH_WIDTH):
            if jobs_used >= k or similarity < floor:
                break
            known = self._outcomes_of(job_id, kind)
            if not known:
                continue
            jobs_used += 1
            winner = _settled(self._auction_choice(job_id), known)
            if winner is not None:
                auctioned += 1
                if winner in chosen:
                    chosen[winner] += 1
            for agent, (passed, cost) in known.items():
                if agent in outcomes:
                    outcomes[agent].append((similarity, passed))
                    if cost > 0:
                        costs[agent].append(cost)
        # weights relative to the nearest job used: what counts is which jobs are nearer, not
        # how near MiniLM puts two questions on different topics (research: ~0.1)
        nearest = max((s for seen in outcomes.values() for s, _ in seen), default=1.0)
        scale = 1.0 / nearest if nearest > 0 else 1.0
        return {
            agent: TrackRecord(
                agent,
                passed=sum(ok for _, ok in outcomes[agent]),
                tried=len(outcomes[agent]),
                rate=smoothed_rate([(s * scale, ok) for s, ok in outcomes[agent]]),
                cost_usd=(
                    sum(costs[agent]) / len(costs[agent])
                    if costs[agent]
                    else self._recent_cost(agent, kind)
                ),
                chosen=chosen[agent],
                auctioned=auctioned,
            )
            for agent in agents
        }

    def _outcomes_of(self, job_id: str, kind: str) -> dict[str, tuple[bool, float]]:
        """Agent -> (its work passed, its $) on one past job of ``kind``: the latest
        execution of each agent that has an outcome."""
        rows: list[Any] = self.db.execute(
            "SELECT e.agent, e.status, e.verdict, e.cost_usd FROM executions e "
            "JOIN auctions a ON a.id = e.auction_id JOIN jobs j ON j.id = a.job_id "
            "WHERE j.id = ? AND j.kind = ? ORDER BY e.id",
            [job_id, kind],
        ).fetchall()
        known: dict[str, tuple[bool, float]] = {}
        for agent, status, verdict, cost in rows:
            said = verdict or status
            if said in PASSED or said in FAILED:
                known[agent] = (said in PASSED, float(cost or 0.0))
        return known

    def _auction_choice(self, job_id: str) -> str | None:
        """The agent the job's auction chose; None when the memory routed it (or no auction
        finished)."""
        row = self.db.execute(
            "SELECT winner FROM auctions WHERE job_id = ? AND status = 'won' "
            "AND coalesce(routed, 'auction') != 'memory' ORDER BY started_at DESC LIMIT 1",
            [job_id],
        ).fetchone()
        return row[0] if row else None

    def _recent_cost(self, agent: str, kind: str) -> float | None:
        row = self.db.execute(
            "SELECT avg(cost_usd) FROM (SELECT e.cost_usd FROM executions e "
            "JOIN auctions a ON a.id = e.auction_id JOIN jobs j ON j.id = a.job_id "
            "WHERE e.agent = ? AND j.kind = ? AND e.cost_usd > 0 ORDER BY e.id DESC LIMIT ?)",
            [agent, kind, RECENT_COSTS],
        ).fetchone()
        return float(row[0]) if row and row[0] is not None else None


def _settled(choice: str | None, known: dict[str, tuple[bool, float]]) -> str | None:
    """The agent an auctioned job went to: the auction's choice, or the agent that then did
    the work when that choice failed and escalation passed. (An auction whose cheap choice
    failed is evidence for the agent that did the job, not for its choice: counted as the
    choice, one such job kept the memory unsure on every research job after it.)"""
    if choice is None or known.get(choice, (True, 0.0))[0]:
        return choice
    return next((agent for agent, (passed, _) in known.items() if passed), choice)
