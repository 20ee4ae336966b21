"""Plan pairs for refinement: a similar past job's losing plan against its winning one;
mixed into ``AuctionMemory``."""

from __future__ import annotations

from typing import Any

from sale_tui.auction.events import PlanPair
from sale_tui.memory.searchable import Searchable

NEGATIVE = {"failure", "error", "rejected", "undone"}
"""Outcomes that make a past winning plan a bad example rather than a good one."""
PAIR_FLOOR = 0.1
"""The least cosine similarity of a past job whose plans a refining agent is shown."""
PAIR_JOB_CHARS = 400
"""A past job's text in a refine prompt is cut to this (8 HumanEval prompts overflowed a
4,096-token context, and the refinement then failed silently)."""


class PlanPairs(Searchable):
    def outcome(self, auction_id: str) -> str | None:
        raise NotImplementedError  # AuctionMemory's

    def plan_pairs(self, job: str, agent: str, k: int, kind: str | None = None) -> list[PlanPair]:
        """(losing plan, winning plan) pairs from the ``k`` most similar past jobs (of
        ``kind`` when given, at least ``PAIR_FLOOR`` similar).

        One pair per past job: the agent's own plan when it took part (its losing plan
        against the winner, or its winning plan against the closest loser), otherwise the
        closest loser against the winner. A winner whose work failed is not a winning plan:
        the pair is then the failed winner's plan against the plan of the agent whose work
        passed after escalation, or no pair. Pairs involving the agent come first.
        """
        return self.plan_pairs_near(self.embedder.embed([job])[0], agent, k, kind)

    def plan_pairs_near(
        self, query: Any, agent: str, k: int, kind: str | None = None, floor: float = PAIR_FLOOR
    ) -> list[PlanPair]:
        """``plan_pairs`` for an already embedded job (a unit vector); ``floor``: the least
        similarity (``bench memory``'s random vectors take every job)."""
        own: list[PlanPair] = []
        others: list[PlanPair] = []
        for job_id, similarity in self.index.search(query, max(k * 4, 32)):
            if similarity < floor:
                break
            pair = self._pair_for_job(job_id, agent, similarity, kind)
            if pair is None:
                continue
            mine = agent in (pair.losing_agent, pair.winning_agent)
            (own if mine else others).append(pair)
            if len(own) >= k:
                break
        return (own + others)[:k]

    def _pair_for_job(
        self, job_id: str, agent: str, similarity: float, kind: str | None
    ) -> PlanPair | None:
        auction = self.db.execute(
            "SELECT a.id, a.winner, j.text, j.kind FROM auctions a JOIN jobs j ON j.id = a.job_id "
            "WHERE a.job_id = ? AND a.status = 'won' ORDER BY a.started_at DESC LIMIT 1",
            [job_id],
        ).fetchone()
        if auction is None or (kind is not None and auction[3] != kind):
            return None
        auction_id, winner, text, _ = auction
        rows = self.db.execute(
            "SELECT agent, text, status, score FROM bids WHERE auction_id = ? "
            "AND text IS NOT NULL AND status IN ('won', 'scored', 'excluded') "
            "ORDER BY score",
            [auction_id],
        ).fetchall()
        outcome = self.outcome(auction_id)
        own = self.db.execute(
            "SELECT coalesce(verdict, status) FROM executions WHERE auction_id = ? AND agent = ? "
            "ORDER BY id DESC LIMIT 1",
            [auction_id, winner],
        ).fetchone()
        winning = next((r for r in rows if r[2] == "won"), None)
        losers = [r for r in rows if r[2] != "won" and r[0] != winner]
        if winning is None or not losers:
            return None
        losing = next((r for r in losers if r[0] == agent), losers[0])
        if (own[0] if own else outcome) in NEGATIVE:
            rescued = self._passed_after(auction_id, winner)
            rescuer = next((r for r in losers if r[0] == rescued), None)
            if rescuer is None:
                return None  # nobody's plan is known to have worked: nothing to learn from
            winning, losing, outcome = rescuer, winning, f"{winner} failed, {rescued} passed"
        if len(text) > PAIR_JOB_CHARS:  # the refine prompt must fit a 4,096-token context
            text = text[:PAIR_JOB_CHARS].rstrip() + " … (cut)"
        return PlanPair(
            job=text,
            losing_agent=losing[0],
            losing_plan=losing[1],
            winning_agent=winning[0],
            winning_plan=winning[1],
            outcome=outcome,
            similarity=similarity,
        )

    def _passed_after(self, auction_id: str, winner: str) -> str | None:
        """The agent whose work passed after the winner's failed (escalation), or None."""
        row = self.db.execute(
            "SELECT agent FROM executions WHERE auction_id = ? AND agent != ? "
            "AND status = 'success' AND coalesce(verdict, '') NOT IN ('rejected', 'undone') "
            "ORDER BY id DESC LIMIT 1",
            [auction_id, winner],
        ).fetchone()
        return row[0] if row else None
