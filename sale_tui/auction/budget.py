"""The budget check: a bid whose auction spend plus estimated execution cannot fit is out."""

from __future__ import annotations

from sale_tui.auction.events import BudgetExcluded, ScoredBid


def over_budget(
    scored: ScoredBid,
    spent_usd: float,
    job_budget_usd: float | None,
    session_left_usd: float | None,
    execution_tokens_per_bid_token: float,
) -> BudgetExcluded | None:
    """Why ``scored`` cannot fit (``spent_usd``: the auction's spend so far), or None. The
    execution is estimated at ``execution_tokens_per_bid_token`` tokens per plan token."""
    execution = scored.bid.price * scored.bid.tokens * execution_tokens_per_bid_token / 1e6
    estimate = spent_usd + execution
    for limit, what in ((job_budget_usd, "job budget"), (session_left_usd, "session budget left")):
        if limit is not None and estimate > limit:
            return BudgetExcluded(
                scored.agent,
                scored.bid.round,
                estimate,
                limit,
                f"estimated ${estimate:.6f} exceeds the {what} ${limit:.6f}",
            )
    return None
