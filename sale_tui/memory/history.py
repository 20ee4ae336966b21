"""Reading the audit log: past auctions, one auction, its scored bids (for history/show)."""

from __future__ import annotations

import json
from typing import Any

import sqlite_utils

from sale_tui.auction.events import Bid, ScoredBid


class HistoryQueries:
    """Read-only queries over the memory; mixed into ``AuctionMemory``."""

    db: sqlite_utils.Database

    def auctions(
        self, limit: int = 20, *, agent: str | None = None, status: str | None = None
    ) -> list[dict[str, Any]]:
        """Past auctions, newest first, with their job and last outcome (filters optional)."""
        where, params = [], []
        if agent:
            where.append("a.winner = ?")
            params.append(agent)
        if status:
            where.append("a.status = ?")
            params.append(status)
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        return [
            dict(row)
            for row in self.db.query(
                "SELECT a.*, j.text AS job, j.kind AS kind, j.repo AS repo, "
                "(SELECT e.status FROM executions e WHERE e.auction_id = a.id "
                " ORDER BY e.id DESC LIMIT 1) AS outcome "
                f"FROM auctions a JOIN jobs j ON j.id = a.job_id {clause} "
                "ORDER BY a.started_at DESC LIMIT ?",
                [*params, limit],
            )
        ]

    def auction(self, auction_id: str) -> dict[str, Any] | None:
        """One auction by id or unique id prefix."""
        rows = list(
            self.db.query(
                "SELECT a.*, j.text AS job, j.kind AS kind, j.repo AS repo FROM auctions a "
                "JOIN jobs j ON j.id = a.job_id WHERE a.id LIKE ? LIMIT 2",
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
                )
            )
        return result
