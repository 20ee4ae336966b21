"""What an auction says while it runs: frozen dataclasses, rendered by the CLI and the TUI.

The engine yields these in order; a front end only draws them and the memory writer only
stores them, so neither holds auction logic.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from sale_tui.auction.scoring import Weights
from sale_tui.auction.track import TrackRecord
from sale_tui.protocols import Usage

Round = Literal["original", "refined"]
Phase = Literal["bid", "jury", "refine"]


@dataclass(frozen=True)
class Bid:
    agent: str
    round: Round
    text: str
    tokens: int
    """Completion tokens of the plan: |s| in the cost term."""
    price: float
    """pi(a) in $ per million tokens."""
    entropy: float | None
    """Mean per-token entropy normalised to [0, 1]; None when no log-probabilities came back."""
    entropy_kind: str | None
    """``exact`` (full vocabulary), ``top_k`` (approximation) or None (not measured)."""
    cost_usd: float
    """What writing this bid cost (prompt + completion)."""


@dataclass(frozen=True)
class ScoredBid:
    bid: Bid
    jury: Mapping[str, float | None]
    """Juror name -> 0-5 score (None: that juror failed; the reason is in ``jury_notes``)."""
    jury_notes: Mapping[str, str]
    """Juror name -> ``logprobs``, ``text`` or why the score is missing."""
    cost: float
    value: float
    track: TrackRecord | None = None
    """The bidder's record on similar past jobs; its rate is a term of ``value``."""

    @property
    def score(self) -> float:
        return self.cost - self.value

    @property
    def agent(self) -> str:
        return self.bid.agent


@dataclass(frozen=True)
class PlanPair:
    """A past job's losing plan and winning plan, the material of a contrastive refinement."""

    job: str
    losing_agent: str
    losing_plan: str
    winning_agent: str
    winning_plan: str
    outcome: str | None = None
    similarity: float = 0.0


@dataclass(frozen=True)
class AuctionStarted:
    job: str
    kind: str
    agents: tuple[str, ...]
    weights: Weights
    max_bid_tokens: int


@dataclass(frozen=True)
class BidReceived:
    bid: Bid


@dataclass(frozen=True)
class BidDropped:
    agent: str
    round: Round
    reason: str


@dataclass(frozen=True)
class JuryScored:
    bidder: str
    juror: str
    round: Round
    score: float | None
    note: str
    cost_usd: float
    tokens: int


@dataclass(frozen=True)
class BidScored:
    scored: ScoredBid


@dataclass(frozen=True)
class BudgetExcluded:
    agent: str
    round: Round
    estimate_usd: float
    limit_usd: float
    reason: str


@dataclass(frozen=True)
class ProvisionalWinner:
    scored: ScoredBid


@dataclass(frozen=True)
class MemoryRetrieved:
    agent: str
    pairs: tuple[PlanPair, ...]


@dataclass(frozen=True)
class MemoryConsulted:
    """What the memory knows about each agent on jobs like this one, and what it decided:
    ``routed`` (no bids, no jury: ``decision`` names the agent and why), ``auction`` (not
    sure, or asked for an auction) or ``exploring`` (sure, but this job explores)."""

    records: tuple[TrackRecord, ...]
    outcome: Literal["routed", "auction", "exploring"]
    decision: str


@dataclass(frozen=True)
class AgentWorking:
    """A model call is starting (progress only; local models take seconds per call)."""

    agent: str
    doing: str
    """e.g. ``writing its bid``, ``scoring 2 plans``."""


@dataclass(frozen=True)
class RefinementSkipped:
    agent: str
    reason: str


@dataclass(frozen=True)
class Refined:
    bid: Bid


@dataclass(frozen=True)
class WinnerChosen:
    winner: ScoredBid
    provisional: ScoredBid
    reason: str
    bids: tuple[ScoredBid, ...]
    tokens_by_phase: Mapping[str, int] = field(default_factory=dict)
    cost_by_phase: Mapping[str, float] = field(default_factory=dict)
    usage: Usage = field(default_factory=Usage)
    """The auction's tokens in all: prompt (of which cached) and generated."""

    @property
    def auction_tokens(self) -> int:
        return sum(self.tokens_by_phase.values())

    @property
    def auction_cost_usd(self) -> float:
        return sum(self.cost_by_phase.values())


@dataclass(frozen=True)
class AuctionFailed:
    reason: str
    tokens_by_phase: Mapping[str, int] = field(default_factory=dict)
    cost_by_phase: Mapping[str, float] = field(default_factory=dict)
    usage: Usage = field(default_factory=Usage)


AuctionEvent = (
    AuctionStarted
    | BidReceived
    | BidDropped
    | JuryScored
    | BidScored
    | BudgetExcluded
    | ProvisionalWinner
    | MemoryRetrieved
    | MemoryConsulted
    | RefinementSkipped
    | AgentWorking
    | Refined
    | WinnerChosen
    | AuctionFailed
)
