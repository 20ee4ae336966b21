"""Reading the audit log: past auctions, one auction, its scored bids (for history/show)."""

from __future__ import annotations

import json
from typing import Any

import sqlite_utils

from sale_tui.auction.events import Bid, ScoredBid
from sale_tui.auction.track import TrackRecord
from sale_tui.memory.costs import AUCTION_COMPUTED, AUCTION_TOKENS, AUCTION_USD

# What the auction itself cost (bids + jury + refinements), on every auction row; the tokens
# computed are NULL for auctions recorded before the split was kept.
TOTALS = (
    f"{AUCTION_USD} AS auction_usd, {AUCTION_TOKENS} AS auction_tokens, "
    f"{AUCTION_COMPUTED} AS auction_computed_tokens"
)

# What the work cost (every execution of the job, escalations too). Its tokens' split is known
# only when every execution has one (recorded since m008), else NULL.
_SPLIT_KNOWN = "count(e.prompt_tokens) = count(*)"
WORK_TOTALS = (
    "(SELECT coalesce(sum(e.cost_usd), 0) FROM executions e WHERE e.auction_id = a.id) "
    "AS work_usd, (SELECT coalesce(sum(e.tokens), 0) FROM executions e "
    "WHERE e.auction_id = a.id) AS work_tokens, "
    f"(SELECT CASE WHEN {_SPLIT_KNOWN} THEN coalesce(sum(e.prompt_tokens - e.cached_tokens "
    "+ e.generated_tokens), 0) END FROM executions e WHERE e.auction_id = a.id) "
    "AS work_computed_tokens, "
    f"(SELECT CASE WHEN {_SPLIT_KNOWN} THEN coalesce(sum(e.cached_tokens), 0) END "
    "FROM executions e WHERE e.auction_id = a.id) AS work_cached_tokens"
)


class HistoryQueries:
    """Read-only queries over the memory; mixed into ``AuctionMemory``."""

    db: sqlite_utils.Database

    def auctions(
        self,
        limit: int = 20,
        *,
        agent: str | None = None,
        status: str | None = None,
        outcome: str | None = None,
        text: str | None = None,
        since: str | None = None,
        session: str | None = None,
    ) -> list[dict[str, Any]]:
        """Past auctions, newest first, with their job, session and last outcome (the user's
        verdict when there is one: ``rejected``, ``undone``, else the execution's status).

        Filters (all optional): the winner, the auction's status, the last execution's outcome,
        words in the job text, an ISO date or time the auction started at or after, and the
        session.
        """
        outcome_sql = (
            "(SELECT coalesce(nullif(e.verdict, 'accepted'), e.status) FROM executions e "
            "WHERE e.auction_id = a.id ORDER BY e.id DESC LIMIT 1)"
        )
        where, params = [], []
        if agent:
            where.append("a.winner = ?")
            params.append(agent)
        if status:
            where.append("a.status = ?")
            params.append(status)
        if outcome:
            where.append(f"{outcome_sql} = ?")
            params.append(outcome)
        for word in (text or "").split():  # % and _ are searched for, not wildcards
            where.append("j.text LIKE ? ESCAPE '\\'")
            escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            params.append(f"%{escaped}%")
        if since:
            where.append("a.started_at >= ?")
            params.append(since)
        if session:
            where.append("j.session_id = ?")
            params.append(session)
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        return [
            dict(row)
            for row in self.db.query(
                f"SELECT a.*, {TOTALS}, j.text AS job, j.kind AS kind, j.repo AS repo, "
                f"j.session_id AS session_id, {outcome_sql} AS outcome, "
                f"{WORK_TOTALS} "
                f"FROM auctions a JOIN jobs j ON j.id = a.job_id {clause} "
                "ORDER BY a.started_at DESC LIMIT ?",
                [*params, limit],
            )
        ]

    def past_requests(self, limit: int = 100) -> list[str]:
        """Job texts typed before, newest first, each once (the job box's up/down history)."""
        return [
            row["text"]
            for row in self.db.query(
                "SELECT text, max(created_at) AS last FROM jobs GROUP BY text "
                "ORDER BY last DESC LIMIT ?",
                [limit],
            )
        ]

    def replayable_jobs(self) -> list[dict[str, Any]]:
        """Coding jobs that were executed in a repo at a known commit, each (text, repo,
        commit) once, oldest first: what ``bench run --tasks memory`` replays. The commit is
        the job's own, or for jobs recorded before it was kept, the HEAD an applied patch
        went onto."""
        return [
            dict(row)
            for row in self.db.query(
                "SELECT min(j.id) AS id, j.text, j.repo, "
                "coalesce(nullif(j.commit_sha, ''), p.head_before) AS sha, min(j.created_at) "
                "FROM jobs j JOIN auctions a ON a.job_id = j.id "
                "JOIN executions e ON e.auction_id = a.id "
                "LEFT JOIN applications p ON p.auction_id = a.id "
                "WHERE j.kind = 'coding' AND j.repo != '' AND e.status IN ('success', 'failure') "
                "GROUP BY j.text, j.repo, sha HAVING sha IS NOT NULL AND sha != '' "
                "ORDER BY min(j.created_at)"
            )
        ]

    def executions(self, auction_id: str) -> list[dict[str, Any]]:
        """Every execution of an auction's job, in order (the winner, then escalations)."""
        return [
            dict(row)
            for row in self.db.query(
                "SELECT * FROM executions WHERE auction_id = ? ORDER BY id", [auction_id]
            )
        ]

    def auction(self, auction_id: str) -> dict[str, Any] | None:
        """One auction by id or unique id prefix."""
        rows = list(
            self.db.query(
                f"SELECT a.*, {TOTALS}, j.text AS job, j.kind AS kind, j.repo AS repo, "
                "j.session_id AS session_id, j.context AS context, j.commit_sha AS commit_sha "
                "FROM auctions a JOIN jobs j ON j.id = a.job_id WHERE a.id LIKE ? LIMIT 2",
                [auction_id + "%"],
            )
        )
        return dict(rows[0]) if len(rows) == 1 else None

    def scored_bids(self, auction_id: str) -> list[ScoredBid]:
        """The auction's scored bids, rebuilt as the events carried them."""
        result = []
        for row in self.db.query(
            "SELECT * FROM bids WHERE auction_id = ? AND score IS NOT NULL ORDER BY id",
            [auction_id],
        ):
            bid = Bid(
                row["agent"],
                row["round"],
                row["text"] or "",
                row["tokens"] or 0,
                row["price"] or 0.0,
                row["entropy"],
                row["entropy_kind"],
                row["cost_usd"] or 0.0,
            )
            result.append(
                ScoredBid(
                    bid,
                    json.loads(row["jury"] or "{}"),
                    json.loads(row["jury_notes"] or "{}"),
                    row["cost_term"],
                    row["value_term"],
                    self._track_of(row),
                )
            )
        return result

    @staticmethod
    def _track_of(row: dict[str, Any]) -> TrackRecord | None:
        """The bid's track record as the value term used it (None before migration m005)."""
        if row.get("memory_tried") is None:
            return None
        return TrackRecord(
            row["agent"], row["memory_passed"] or 0, row["memory_tried"], row["memory_rate"] or 0.0
        )
