"""Track records from a real SQLite memory (real MiniLM embedder), and a runner that routes
from them: scripted models at the seam only."""

from __future__ import annotations

from pathlib import Path

import pytest

from sale_tui.auction import Job, Weights
from sale_tui.auction.events import BidReceived, MemoryConsulted, WinnerChosen
from sale_tui.config import Settings
from sale_tui.memory import AuctionMemory
from sale_tui.prompting import PromptLibrary
from sale_tui.runner import AuctionRunner
from tests.auction_helpers import bidder

pytestmark = pytest.mark.usefixtures("with_minilm")

AGENTS = ["small", "large"]


def past_job(memory: AuctionMemory, text: str, kind: str, outcomes: dict[str, tuple]) -> str:
    """A finished past job: ``outcomes`` agent -> (status, $[, verdict])."""
    job_id = memory.new_job(text, kind)
    auction_id = memory.start_auction(job_id, AGENTS, Weights(), 128)
    for agent, (status, cost, *verdict) in outcomes.items():
        memory.record_execution(auction_id, agent, status, cost_usd=cost)
        if verdict:
            memory.record_verdict(auction_id, verdict[0])
    return auction_id


def test_records_count_similar_jobs_of_the_same_kind_with_what_the_user_saw(
    tmp_path: Path,
) -> None:
    memory = AuctionMemory(tmp_path / "m.db")
    past_job(memory, "Fix the off-by-one bug in the date parser", "coding",
             {"small": ("failure", 0.002), "large": ("success", 0.006)})  # fmt: skip
    past_job(memory, "Fix the bug in the date parser's month handling", "coding",
             {"small": ("success", 0.001)})  # fmt: skip
    # the user rejected this one: a failure, whatever the tests said
    past_job(memory, "Fix the date parser so leap years work", "coding",
             {"small": ("success", 0.001, "rejected")})  # fmt: skip
    # a research job and an interrupted run say nothing about coding
    past_job(memory, "Which date parser bug was fixed last?", "research",
             {"small": ("success", 0.001)})  # fmt: skip
    past_job(memory, "Fix the date parser's time zones", "coding",
             {"large": ("interrupted", 0.0)})  # fmt: skip
    past_job(
        memory, "Bake a sourdough loaf with rye flour", "coding", {"large": ("failure", 0.5)}
    )  # fmt: skip  (below the similarity floor)

    records = memory.track_records("Fix a bug in the date parser", "coding", AGENTS, floor=0.3)
    small, large = records["small"], records["large"]
    assert (small.passed, small.tried) == (1, 3)
    assert (large.passed, large.tried) == (1, 1)
    assert large.rate > 0.5 > small.rate
    assert small.cost_usd == pytest.approx((0.002 + 0.001 + 0.001) / 3)
    assert large.cost_usd == pytest.approx(0.006)
    assert memory.track_records("Fix a bug", "coding", ["nobody"])["nobody"].tried == 0


def runner_for(memory: AuctionMemory) -> AuctionRunner:
    agents = [bidder("small", 0.1), bidder("large", 2.0)]
    settings = Settings.model_validate({"auction": {"explore": 0.0}})
    return AuctionRunner(settings, agents, memory, PromptLibrary())


def test_a_runner_routes_from_memory_once_it_is_sure_and_records_why(tmp_path: Path) -> None:
    memory = AuctionMemory(tmp_path / "m.db")
    runner = runner_for(memory)
    first = list(runner.run(Job("Fix the failing test in the CSV reader", "coding")))
    assert any(isinstance(e, BidReceived) for e in first)  # nothing known: a full auction
    assert not any(isinstance(e, MemoryConsulted) for e in first)
    for text in ("quoted fields", "empty lines", "a BOM", "tabs", "headers"):
        past_job(memory, f"Fix the failing test in the CSV reader for {text}", "coding",
                 {"small": ("success", 0.001), "large": ("success", 0.004)})  # fmt: skip
    events = list(runner.run(Job("Fix the failing test in the CSV reader", "coding")))
    assert not any(isinstance(e, BidReceived) for e in events)
    calls = [len(a.model.requests) for a in runner.agents]  # type: ignore[attr-defined]
    final = events[-1]
    assert isinstance(final, WinnerChosen) and final.winner.agent == "small"
    assert final.reason.startswith("routed from memory: small 5/5 similar jobs passed")
    row = memory.auction(runner.auction_ids[-1])
    assert row is not None and row["routed"] == "memory" and row["winner"] == "small"
    assert row["routed_reason"] == final.reason
    # asked for an auction, it holds one, the records in its value and on its stored bids
    events = list(
        runner.run(Job("Fix the failing test in the CSV reader", "coding"), mode="always")
    )
    assert [len(a.model.requests) for a in runner.agents] > calls  # type: ignore[attr-defined]
    stored = memory.scored_bids(runner.auction_ids[-1])
    assert {(b.agent, b.track.passed, b.track.tried) for b in stored if b.track} == {
        ("small", 5, 5),
        ("large", 5, 5),
    }
    # the first job's auction is an auction's choice once its outcome is known; the routed
    # job is not one (nor are the past jobs, whose auctions never finished)
    first_winner = first[-1].winner.agent
    memory.record_execution(runner.auction_ids[0], first_winner, "success", cost_usd=0.001)
    memory.record_execution(runner.auction_ids[1], "small", "success", cost_usd=0.001)
    records = memory.track_records("Fix the failing test in the CSV reader", "coding", AGENTS)
    assert records[first_winner].chosen == 1 and records["small"].auctioned == 1


def test_an_auction_whose_choice_failed_counts_for_the_agent_escalation_went_to(
    tmp_path: Path,
) -> None:
    """agentic-v5, research: one auction chose the 0.5B, which failed, and the 1.5B passed.
    Counted as the auction's choice, it kept "every similar auction chose the 1.5B" from
    holding, and 15 more research jobs were auctioned, each choosing the 1.5B."""
    memory = AuctionMemory(tmp_path / "m.db")
    runner = runner_for(memory)
    texts = [f"Which year did the {n} bridge open?" for n in ("Tower", "Golden Gate", "Brooklyn")]
    for text in texts:
        list(runner.run(Job(text, "research"), mode="always"))
    first, second, third = runner.auction_ids
    chose = {memory.auction(a)["winner"] for a in runner.auction_ids}  # type: ignore[index]
    assert chose == {"small"}  # the cheap bidder wins every auction here
    memory.record_execution(first, "small", "failure", cost_usd=0.001)
    memory.record_execution(first, "large", "success", cost_usd=0.004)  # escalated, passed
    memory.record_execution(second, "small", "failure", cost_usd=0.001)  # failed, nobody passed
    memory.record_execution(third, "small", "success", cost_usd=0.001)
    records = memory.track_records("Which year did the Sydney bridge open?", "research", AGENTS)
    assert records["small"].auctioned == 3
    assert (records["small"].chosen, records["large"].chosen) == (2, 1)
