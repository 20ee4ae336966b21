"""What the jobs cost and who won them: the TUI's Costs screen (and ``--json`` users).

Auction cost is what the bids, the jury and the refinements cost; execution cost is what the
agents that did the work spent. Both are nominal for local models (see LOCAL_MODELS.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlite_utils

AUCTION_USD = (
    "coalesce(a.bid_cost_usd, 0) + coalesce(a.jury_cost_usd, 0) + coalesce(a.refine_cost_usd, 0)"
)
AUCTION_TOKENS = (
    "coalesce(a.bid_tokens, 0) + coalesce(a.jury_tokens, 0) + coalesce(a.refine_tokens, 0)"
)
# Of the auction's tokens (recorded since migration m004; NULL before): prompt tokens read from
# a prompt cache, and tokens the models computed (prompt tokens not cached, plus output).
AUCTION_CACHED = "a.cached_tokens"
AUCTION_COMPUTED = "a.prompt_tokens - a.cached_tokens + a.generated_tokens"
EXECUTION_USD = "(SELECT coalesce(sum(e.cost_usd), 0) FROM executions e WHERE e.auction_id = a.id)"
EXECUTION_TOKENS = "(SELECT coalesce(sum(e.tokens), 0) FROM executions e WHERE e.auction_id = a.id)"
# Of the executions' tokens, those read from a prompt cache (recorded since m008; 0 before).
EXECUTION_CACHED = (
    "(SELECT coalesce(sum(e.cached_tokens), 0) FROM executions e WHERE e.auction_id = a.id)"
)


@dataclass(frozen=True)
class Overhead:
    auctions: int
    auction_usd: float
    execution_usd: float
    auction_tokens: int
    execution_tokens: int
    auction_cached_tokens: int = 0
    """Of ``auction_tokens``, prompt tokens read from a prompt cache (auctions since m004)."""
    execution_cached_tokens: int = 0
    """Of ``execution_tokens``, prompt tokens read from a prompt cache (work since m008)."""

    @property
    def auction_share(self) -> float:
        """The auction's share of all $ spent (0 when nothing was spent)."""
        total = self.auction_usd + self.execution_usd
        return self.auction_usd / total if total else 0.0


class CostQueries:
    """Read-only cost queries over the memory; mixed into ``AuctionMemory``."""

    db: sqlite_utils.Database

    def cost_per_day(self, days: int = 30) -> list[dict[str, Any]]:
        """The last ``days`` days with any auction, oldest first: auctions, $ and tokens."""
        rows = self.db.query(
            f"SELECT substr(a.started_at, 1, 10) AS day, count(*) AS auctions, "
            f"sum({AUCTION_USD}) AS auction_usd, sum({EXECUTION_USD}) AS execution_usd, "
            f"sum({AUCTION_TOKENS}) AS auction_tokens, "
            f"sum({EXECUTION_TOKENS}) AS execution_tokens "
            "FROM auctions a GROUP BY day ORDER BY day DESC LIMIT ?",
            [days],
        )
        return list(reversed([dict(row) for row in rows]))

    def cost_per_agent(self) -> list[dict[str, Any]]:
        """Per agent: auctions entered, wins, share of decided auctions won, and its $ as a
        bidder, as a juror and as the one doing the work; most wins first."""
        decided = self.db.execute(
            "SELECT count(*) FROM auctions WHERE winner IS NOT NULL"
        ).fetchone()[0]
        rows = self.db.query(
            "SELECT agent, "
            " (SELECT count(DISTINCT auction_id) FROM bids b WHERE b.agent = n.agent) AS entered,"
            " (SELECT count(*) FROM auctions a WHERE a.winner = n.agent) AS wins,"
            " (SELECT coalesce(sum(cost_usd), 0) FROM bids b WHERE b.agent = n.agent) AS bid_usd,"
            " (SELECT coalesce(sum(cost_usd), 0) FROM jury_scores j WHERE j.juror = n.agent)"
            "   AS jury_usd,"
            " (SELECT coalesce(sum(cost_usd), 0) FROM executions e WHERE e.agent = n.agent)"
            "   AS execution_usd,"
            " (SELECT count(*) FROM executions e WHERE e.agent = n.agent AND e.status = 'success')"
            "   AS successes "
            "FROM (SELECT agent FROM bids UNION SELECT juror FROM jury_scores"
            " UNION SELECT agent FROM executions) AS n ORDER BY wins DESC, agent"
        )
        result = []
        for row in rows:
            item = dict(row)
            item["win_share"] = item["wins"] / decided if decided else 0.0
            result.append(item)
        return result

    def overhead(self) -> Overhead:
        row = self.db.execute(
            f"SELECT count(*), coalesce(sum({AUCTION_USD}), 0), "
            f"coalesce(sum({EXECUTION_USD}), 0), coalesce(sum({AUCTION_TOKENS}), 0), "
            f"coalesce(sum({EXECUTION_TOKENS}), 0), coalesce(sum({AUCTION_CACHED}), 0), "
            f"coalesce(sum({EXECUTION_CACHED}), 0) FROM auctions a"
        ).fetchone()
        return Overhead(row[0], row[1], row[2], *(int(n) for n in row[3:]))

    def small_agent_wins(self, window: int = 10) -> list[tuple[int, float]]:
        """How often an agent cheaper than the dearest bidder won, as the memory grew.

        One point per decided auction, oldest first: (auctions decided so far, share of the
        last ``window`` of them won by a cheaper agent). An auction where every bidder asked
        the same price counts as not small (there is no cheaper agent to prefer).
        """
        rows = self.db.execute(
            "SELECT a.id, (SELECT max(price) FROM bids b WHERE b.auction_id = a.id) AS top, "
            "(SELECT max(price) FROM bids b WHERE b.auction_id = a.id AND b.agent = a.winner) "
            "AS won FROM auctions a WHERE a.winner IS NOT NULL ORDER BY a.started_at, a.rowid"
        ).fetchall()
        small = [won is not None and top is not None and won < top for _, top, won in rows]
        points = []
        for count in range(1, len(small) + 1):
            recent = small[max(0, count - window) : count]
            points.append((count, sum(recent) / len(recent)))
        return points
