"""Before the bids: does the memory already know who should do this job? (``auction.track``)

``consult`` yields one ``MemoryConsulted`` event and returns the route, or None when the
auction must decide; ``verdict`` turns a route into the ``WinnerChosen`` the front ends and the
pipeline already understand.
"""

from __future__ import annotations

from collections.abc import Generator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sale_tui.auction import track
from sale_tui.auction.events import Bid, MemoryConsulted, ScoredBid, WinnerChosen
from sale_tui.auction.scoring import Weights
from sale_tui.protocols import Usage

if TYPE_CHECKING:
    from sale_tui.auction.engine import AuctionAgent

MODES = ("auto", "always", "never")


@dataclass(frozen=True)
class RoutingSettings:
    mode: str = "auto"
    """``auto``: skip the auction when the track records leave no doubt (``track.route``);
    ``always``: always auction; ``never``: route from the records, the cheapest first when
    they do not decide (with escalation; else the largest)."""
    explore_share: float = 0.1
    """In ``auto``, the share of jobs that are auctioned although the memory is sure."""
    min_jobs: int = 4
    """Similar past jobs with a known outcome an agent needs before the memory routes to it."""
    escalate: bool = True
    """Whether a failed execution goes on to a pricier agent (``do --escalate``): routing may
    then try a cheap agent first on expected cost."""


def consult(
    job_text: str,
    agents: Sequence[AuctionAgent],
    records: Mapping[str, track.TrackRecord],
    settings: RoutingSettings,
) -> Generator[MemoryConsulted, None, track.Route | None]:
    """The route when the records decide (``settings.mode``, see ``RoutingSettings``), or
    None when the auction must."""
    mode, escalate, explore_share = settings.mode, settings.escalate, settings.explore_share
    shown = tuple(records[a.name] for a in agents if a.name in records)
    if mode == "always":
        yield MemoryConsulted(shown, "auction", "an auction was asked for (auction: always)")
        return None
    prices = {a.name: a.price for a in agents}
    never = mode == "never"
    chosen = track.route(
        records, prices, escalate=escalate, min_jobs=1 if never else settings.min_jobs
    )
    if never:
        if chosen is None:
            ordered = sorted(agents, key=lambda a: (a.price, a.name))
            first = ordered[0] if escalate else ordered[-1]
            which = "the cheapest agent first" if escalate else "the largest agent"
            chosen = track.Route(
                first.name, f"no auction (auction: never), the memory does not decide: {which}"
            )
        yield MemoryConsulted(shown, "routed", chosen.reason)
        return chosen
    if chosen is None:
        yield MemoryConsulted(shown, "auction", "the memory is not sure: the auction decides")
        return None
    if track.explores(job_text, explore_share):
        yield MemoryConsulted(
            shown,
            "exploring",
            f"{chosen.reason}; this job is auctioned anyway, to keep learning "
            f"(auction.explore = {explore_share:g})",
        )
        return None
    yield MemoryConsulted(shown, "routed", chosen.reason)
    return chosen


def verdict(
    chosen: track.Route,
    agents: Sequence[AuctionAgent],
    records: Mapping[str, track.TrackRecord],
    weights: Weights,
) -> WinnerChosen:
    """Every agent as a plan-less bid valued on its record alone (so that escalation still
    knows who is pricier), the chosen one the winner; nothing was spent on choosing."""
    bids = []
    for agent in agents:
        record = records.get(agent.name)
        value = weights.memory * record.rate if record else 0.0
        bid = Bid(agent.name, "original", "", 0, agent.price, None, None, 0.0)
        bids.append(ScoredBid(bid, {}, {}, 0.0, value, record))
    winner = next(b for b in bids if b.agent == chosen.agent)
    return WinnerChosen(winner, winner, chosen.reason, tuple(bids), {}, {}, Usage())
