"""calibrate on a real memory file: a world where the right routing is known."""

from __future__ import annotations

import itertools
import random
from pathlib import Path

import pytest

from sale_tui.auction import Weights
from sale_tui.auction.events import (
    Bid,
    BidReceived,
    BidScored,
    ProvisionalWinner,
    ScoredBid,
    WinnerChosen,
)
from sale_tui.auction.track import TrackRecord
from sale_tui.calibrate import calibrate, fit, load_tasks, routing_accuracy
from sale_tui.errors import SaleError
from sale_tui.memory import AuctionMemory
from tests.conftest import run_cli

pytestmark = pytest.mark.usefixtures("with_minilm")

START = Weights(cost=2.0, entropy=0.0, default_juror=0.01)  # cost dominates: always "small"


def scored(agent: str, price: float, jury_score: float) -> ScoredBid:
    bid = Bid(agent, "original", f"{agent} plan", 100, price, 0.3, "exact", 0.0)
    jury = {"small": jury_score, "large": jury_score}
    return ScoredBid(bid, jury, dict.fromkeys(jury, "logprobs"), 0.0, 0.0)


def fill_world(memory: AuctionMemory, count: int, seed: int = 1) -> None:
    """'small' succeeds exactly when the jury rates its plan 3 or more; 'large' always does."""
    rng = random.Random(seed)
    for i in range(count):
        small_score = rng.choice([1.0, 1.5, 2.0, 2.5, 3.5, 4.0, 4.5, 5.0])
        job = memory.new_job(f"job number {i}", "coding")
        auction = memory.start_auction(job, ["small", "large"], START, 256)
        bids = [scored("small", 0.1, small_score), scored("large", 2.0, 4.0)]
        for item in bids:
            memory.record(auction, BidReceived(item.bid))
            memory.record(auction, BidScored(item))
        memory.record(auction, ProvisionalWinner(bids[0]))
        memory.record(auction, WinnerChosen(bids[0], bids[0], "test", tuple(bids)))
        memory.record_execution(auction, "small", "success" if small_score >= 3 else "failure")
        if i % 2 == 0:  # like `sale-tui bench`, which runs every agent
            memory.record_execution(auction, "large", "success")


def test_tasks_take_the_cheapest_success_or_escalate(tmp_path: Path) -> None:
    memory = AuctionMemory(tmp_path / "m.db")
    fill_world(memory, 12)
    tasks = load_tasks(memory)
    assert len(tasks) == 12
    for task in tasks:
        small = next(c for c in task.candidates if c.agent == "small")
        assert task.target == ("small" if small.jury["small"] >= 3 else "large")


def test_calibration_learns_the_routing_rule(tmp_path: Path) -> None:
    memory = AuctionMemory(tmp_path / "m.db")
    fill_world(memory, 40)
    result = calibrate(memory, START, heldout=0.25, seed=0)
    assert result.tasks == 40 and result.heldout_tasks == 10
    assert result.heldout_after > result.heldout_before
    assert result.heldout_after >= 0.9
    assert result.train_after >= 0.9
    w = result.weights
    assert 0.0 <= w.cost <= 2.0 and -1.0 <= w.entropy <= 1.0
    assert all(0.0 <= v <= 1.0 for v in (w.jurors or {}).values())
    tasks = load_tasks(memory)
    assert routing_accuracy(tasks, w) >= 0.9 > routing_accuracy(tasks, START)


JOB_NUMBERS = itertools.count()


def record_auction(
    memory: AuctionMemory,
    scores: dict[str, dict[str, float]],
    prices: dict[str, float],
    outcomes: dict[str, bool],
) -> None:
    """One auction the cheapest agent won, its bids scored by ``scores[bidder][juror]``, and
    the execution outcome of every agent in ``outcomes``."""
    job = memory.new_job(f"job {next(JOB_NUMBERS)}", "coding")
    auction = memory.start_auction(job, list(prices), START, 256)
    bids = []
    for agent, price in prices.items():
        bid = Bid(agent, "original", f"{agent} plan", 100, price, 0.3, "exact", 0.0)
        jury = scores[agent]
        bids.append(ScoredBid(bid, jury, dict.fromkeys(jury, "logprobs"), 0.0, 0.0))
    for item in bids:
        memory.record(auction, BidReceived(item.bid))
        memory.record(auction, BidScored(item))
    cheapest = min(bids, key=lambda b: b.bid.price)
    memory.record(auction, ProvisionalWinner(cheapest))
    memory.record(auction, WinnerChosen(cheapest, cheapest, "test", tuple(bids)))
    for agent, ok in outcomes.items():
        memory.record_execution(auction, agent, "success" if ok else "failure")


def fill_noisy_world(memory: AuctionMemory, count: int, seed: int) -> None:
    """Outcomes are never separable: the small agent succeeds with a probability (its fit for
    the job) that the jury sees only through noise; the large one succeeds 9 times in 10; the
    two jurors' scales differ by a bias larger than their spread across bids."""
    rng = random.Random(seed)
    for _ in range(count):
        fit_for_job = rng.random()
        small = min(5.0, max(0.0, 5 * fit_for_job + rng.gauss(0, 0.8)))
        large = min(5.0, max(0.0, 3.5 + rng.gauss(0, 0.8)))
        scores = {
            "small": {"small": small, "large": min(5.0, small + 1.2)},
            "large": {"small": large, "large": min(5.0, large + 1.2)},
        }
        outcomes = {"small": rng.random() < fit_for_job, "large": rng.random() < 0.9}
        record_auction(memory, scores, {"small": 0.1, "large": 2.0}, outcomes)


ALWAYS_CHEAPEST = Weights(cost=1.0, entropy=0.0, default_juror=0.0)
ALWAYS_LARGEST = Weights(cost=-1.0, entropy=0.0, default_juror=0.0)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_on_a_noisy_world_the_fit_beats_always_cheapest_and_always_largest(
    tmp_path: Path, seed: int
) -> None:
    memory = AuctionMemory(tmp_path / "m.db")
    fill_noisy_world(memory, 160, seed)
    tasks = load_tasks(memory)
    random.Random(seed).shuffle(tasks)
    train, test = tasks[:100], tasks[100:]
    weights, _ = fit(train, START)
    assert weights.cost + sum((weights.jurors or {}).values()) == pytest.approx(1.0)
    fitted = routing_accuracy(test, weights)
    assert fitted > routing_accuracy(test, ALWAYS_CHEAPEST)
    assert fitted > routing_accuracy(test, ALWAYS_LARGEST)


def test_one_contradictory_task_does_not_undo_the_fit(tmp_path: Path) -> None:
    memory = AuctionMemory(tmp_path / "m.db")
    fill_world(memory, 40)
    # the small plan rated 5 by both jurors, yet only the large agent succeeded
    scores = {"small": {"small": 5.0, "large": 5.0}, "large": {"small": 4.0, "large": 4.0}}
    record_auction(memory, scores, {"small": 0.1, "large": 2.0}, {"small": False, "large": True})
    tasks = load_tasks(memory)
    weights, _ = fit(tasks, START)
    assert routing_accuracy(tasks, weights) >= 40 / 41
    assert sum((weights.jurors or {}).values()) > 0  # the jury still counts


def test_when_every_bidder_failed_the_cheapest_is_the_target(tmp_path: Path) -> None:
    memory = AuctionMemory(tmp_path / "m.db")
    scores = {"small": {"small": 2.0}, "large": {"small": 4.0}}
    prices = {"small": 0.1, "large": 2.0}
    record_auction(memory, scores, prices, {"small": False, "large": False})
    record_auction(memory, scores, prices, {"small": False})  # large untried: escalate
    assert [t.target for t in load_tasks(memory)] == ["small", "large"]


def test_too_few_outcomes_is_a_clear_error(tmp_path: Path) -> None:
    memory = AuctionMemory(tmp_path / "m.db")
    fill_world(memory, 2)
    with pytest.raises(SaleError, match="at least 4"):
        calibrate(memory, START)


def test_cli_saves_weights_that_later_auctions_use(isolated_home: Path) -> None:
    memory = AuctionMemory(isolated_home / "data" / "memory.db")
    fill_world(memory, 24)
    dry = run_cli("calibrate", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "held-out" in dry.stdout and memory.latest_fitted_weights() is None
    saved = run_cli("calibrate")
    assert saved.returncode == 0, saved.stderr
    fitted = memory.latest_fitted_weights()
    assert fitted is not None and fitted.jurors


def test_when_only_the_memory_knows_the_fit_weighs_the_memory(tmp_path: Path) -> None:
    """The jury is noise; the small agent's record on similar past jobs (stored with its bid)
    says how likely it is to pass: the fit must learn to weigh the record."""
    memory = AuctionMemory(tmp_path / "m.db")
    rng = random.Random(7)
    for _ in range(120):
        rate = rng.random()
        job = memory.new_job(f"job {next(JOB_NUMBERS)}", "coding")
        auction = memory.start_auction(job, ["small", "large"], START, 256)
        bids = []
        for agent, price, track in (
            ("small", 0.1, TrackRecord("small", round(8 * rate), 8, rate)),
            ("large", 2.0, TrackRecord("large", 7, 8, 0.85)),
        ):
            bid = Bid(agent, "original", f"{agent} plan", 100, price, 0.3, "exact", 0.0)
            jury = {"small": rng.uniform(2, 4), "large": rng.uniform(2, 4)}
            bids.append(ScoredBid(bid, jury, dict.fromkeys(jury, "logprobs"), 0.0, 0.0, track))
        for item in bids:
            memory.record(auction, BidReceived(item.bid))
            memory.record(auction, BidScored(item))
        memory.record(auction, WinnerChosen(bids[0], bids[0], "test", tuple(bids)))
        memory.record_execution(auction, "small", "success" if rng.random() < rate else "failure")
        memory.record_execution(auction, "large", "success")
    tasks = load_tasks(memory)
    train, test = tasks[:80], tasks[80:]
    no_memory = Weights(cost=START.cost, entropy=0.0, default_juror=0.01, memory=0.0)
    weights, _ = fit(train, no_memory)
    assert weights.memory > 0.1
    fitted = routing_accuracy(test, weights)
    assert fitted > routing_accuracy(test, ALWAYS_CHEAPEST)
    assert fitted > routing_accuracy(test, ALWAYS_LARGEST)
    assert fitted > routing_accuracy(test, no_memory)
