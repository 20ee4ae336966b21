"""Track records and routing from memory: the pure rules (``auction.track``)."""

from __future__ import annotations

import pytest

from sale_tui.auction import AuctionSettings, Job, run_auction
from sale_tui.auction.events import BidScored, MemoryConsulted, WinnerChosen
from sale_tui.auction.routing import RoutingSettings
from sale_tui.auction.track import (
    PRIOR_RATE,
    TrackRecord,
    explores,
    route,
    smoothed_rate,
    wilson,
)
from sale_tui.prompting import PromptLibrary
from tests.auction_helpers import bidder

PRICES = {"small": 1.0, "large": 3.0}


def record(agent: str, passed: int, tried: int, cost: float | None) -> TrackRecord:
    return TrackRecord(agent, passed, tried, passed / tried if tried else PRIOR_RATE, cost)


def test_an_agent_with_no_history_gets_the_same_prior_as_every_other() -> None:
    assert smoothed_rate([]) == PRIOR_RATE
    assert smoothed_rate([(0.9, True)] * 4) > 0.8
    assert smoothed_rate([(0.9, False)] * 4) < 0.2
    # a near job weighs more than a far one
    assert smoothed_rate([(0.9, True), (0.2, False)]) > smoothed_rate([(0.2, True), (0.9, False)])


def test_the_wilson_interval_is_sound_at_the_edges() -> None:
    low, high = wilson(5, 5)
    assert 0.6 < low < 1.0 and high == 1.0
    low, high = wilson(0, 5)
    assert low == 0.0 and 0.0 < high < 0.4
    assert wilson(0, 0) == (0.0, 1.0)
    assert wilson(50, 100)[1] - wilson(50, 100)[0] < wilson(5, 10)[1] - wilson(5, 10)[0]


def test_a_cheap_agent_that_usually_passes_is_tried_first_when_escalation_can_catch_it() -> None:
    records = {"small": record("small", 7, 8, 1.0), "large": record("large", 8, 8, 3.0)}
    chosen = route(records, PRICES, escalate=True, min_jobs=4)
    assert chosen is not None and chosen.agent == "small"
    assert "small 7/8 similar jobs passed" in chosen.reason
    assert "large" in chosen.reason


def test_a_cheap_agent_that_costs_as_much_as_it_saves_is_skipped() -> None:
    # passes half the time, costs 80% of the large one: 0.8 + 0.5 * 1.0 > 1.0
    records = {"small": record("small", 4, 8, 0.8), "large": record("large", 8, 8, 1.0)}
    chosen = route(records, PRICES, escalate=True, min_jobs=4)
    assert chosen is not None and chosen.agent == "large"
    assert "small 4/8 similar jobs passed" in chosen.reason


def test_too_little_evidence_or_a_close_call_leaves_it_to_the_auction() -> None:
    few = {"small": record("small", 2, 2, 1.0), "large": record("large", 2, 2, 3.0)}
    assert route(few, PRICES, escalate=True, min_jobs=4) is None
    # q * c_L = 0.5 * 3 = 1.5 against c_a = 1.5: the interval straddles the break-even point
    close = {"small": record("small", 4, 8, 1.5), "large": record("large", 8, 8, 3.0)}
    assert route(close, PRICES, escalate=True, min_jobs=4) is None
    unpriced = {"small": record("small", 8, 8, 1.0), "large": record("large", 0, 0, None)}
    assert route(unpriced, PRICES, escalate=True, min_jobs=4) is None


def test_without_escalation_a_cheaper_agent_must_be_as_good_as_the_largest() -> None:
    good = {"small": record("small", 10, 10, 1.0), "large": record("large", 6, 10, 3.0)}
    chosen = route(good, PRICES, escalate=False, min_jobs=4)
    assert chosen is not None and chosen.agent == "small"
    worse = {"small": record("small", 1, 10, 1.0), "large": record("large", 9, 10, 3.0)}
    chosen = route(worse, PRICES, escalate=False, min_jobs=4)
    assert chosen is not None and chosen.agent == "large"


def test_three_agents_walk_up_until_one_pays_for_itself() -> None:
    prices = {"tiny": 0.5, "small": 1.0, "large": 3.0}
    records = {
        "tiny": record("tiny", 0, 8, 0.8),  # never passes: skipped
        "small": record("small", 8, 8, 1.0),
        "large": record("large", 8, 8, 3.0),
    }
    chosen = route(records, prices, escalate=True, min_jobs=4)
    assert chosen is not None and chosen.agent == "small"


@pytest.mark.parametrize("share", [0.0, 0.1, 0.5])
def test_exploration_is_a_stable_share_of_jobs(share: float) -> None:
    jobs = [f"job number {i}" for i in range(2000)]
    picked = [explores(job, share) for job in jobs]
    assert picked == [explores(job, share) for job in jobs]  # the same job decides the same way
    assert abs(sum(picked) / len(jobs) - share) < 0.03


# -- through the auction engine, scripted models at the seam ----------------------------
JOB = Job("Fix the failing test in parse.py", "coding", "parse.py")


def engine_run(records, **routing):  # type: ignore[no-untyped-def]
    agents = [bidder("small", 1.0), bidder("large", 3.0)]
    settings = AuctionSettings(routing=RoutingSettings(**routing))
    events = list(run_auction(JOB, agents, PromptLibrary(), None, settings, records))
    calls = sum(len(a.model.requests) for a in agents)  # type: ignore[attr-defined]
    return events, calls


SURE = {"small": record("small", 7, 8, 1.0), "large": record("large", 8, 8, 3.0)}


def test_a_sure_memory_routes_without_a_single_model_call() -> None:
    events, calls = engine_run(SURE, explore_share=0.0)
    assert calls == 0
    consulted = next(e for e in events if isinstance(e, MemoryConsulted))
    assert consulted.outcome == "routed" and "small 7/8 similar jobs passed" in consulted.decision
    final = events[-1]
    assert isinstance(final, WinnerChosen) and final.winner.agent == "small"
    assert final.auction_tokens == 0 and final.reason == consulted.decision
    # every agent is there as a plan-less bid, so escalation still knows who is pricier
    assert {b.agent: b.bid.price for b in final.bids} == {"small": 1.0, "large": 3.0}


def test_exploring_and_always_run_the_auction_with_the_records_in_the_value() -> None:
    for routing in ({"explore_share": 1.0}, {"mode": "always"}):
        events, calls = engine_run(SURE, **routing)
        consulted = next(e for e in events if isinstance(e, MemoryConsulted))
        assert consulted.outcome in ("exploring", "auction")
        assert calls > 0 and not any(isinstance(e, WinnerChosen) and not e.bids for e in events)
        scored = {e.scored.agent: e.scored for e in events if isinstance(e, BidScored)}
        assert scored["small"].track == SURE["small"]
        # the same bid without the memory term is worth w_m * rate less
        plain, _ = engine_run({}, mode="always")
        plain_value = next(
            e.scored.value for e in plain if isinstance(e, BidScored) and e.scored.agent == "small"
        )
        assert scored["small"].value == pytest.approx(plain_value + SURE["small"].rate)


def test_an_unsure_memory_leaves_it_to_the_auction_and_never_always_routes() -> None:
    unsure = {"small": record("small", 1, 1, 1.0), "large": record("large", 1, 1, 3.0)}
    events, calls = engine_run(unsure)
    assert calls > 0
    assert next(e for e in events if isinstance(e, MemoryConsulted)).outcome == "auction"
    events, calls = engine_run({}, mode="never")
    final = events[-1]
    assert calls == 0 and isinstance(final, WinnerChosen) and final.winner.agent == "small"
    assert "cheapest agent first" in final.reason
    events, calls = engine_run({}, mode="never", escalate=False)
    assert events[-1].winner.agent == "large"  # type: ignore[union-attr]


def test_when_every_similar_auctioned_job_went_to_one_agent_the_next_job_goes_to_it() -> None:
    # the cheap agent is never chosen, so never tried: the expected-cost rule cannot decide
    records = {
        "small": TrackRecord("small", 0, 0, PRIOR_RATE, None, chosen=0, auctioned=5),
        "large": TrackRecord("large", 4, 5, 0.75, 3.0, chosen=5, auctioned=5),
    }
    chosen = route(records, PRICES, escalate=True, min_jobs=4)
    assert chosen is not None and chosen.agent == "large"
    assert "the 5 most similar auctioned jobs all went to large" in chosen.reason
    split = {
        "small": TrackRecord("small", 1, 1, 0.75, 1.0, chosen=1, auctioned=5),
        "large": TrackRecord("large", 4, 4, 0.9, 3.0, chosen=4, auctioned=5),
    }
    assert route(split, PRICES, escalate=True, min_jobs=4) is None  # one auction disagreed
