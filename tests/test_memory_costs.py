"""History filters and cost queries over a real memory file filled by scripted auctions."""

from __future__ import annotations

from pathlib import Path

import pytest

from sale_tui.auction import Job
from sale_tui.config import Settings
from sale_tui.memory import AuctionMemory
from sale_tui.prompting import PromptLibrary
from sale_tui.runner import AuctionRunner
from tests.auction_helpers import bidder

pytestmark = pytest.mark.usefixtures("with_minilm")


def run_jobs(memory: AuctionMemory, jobs: list[tuple[str, str]]) -> list[str]:
    """Each (text, who should win) as one auction; the winner's execution is recorded."""
    ids = []
    for text, favourite in jobs:
        judge = {f"{favourite} plan": 5.0}
        agents = [
            bidder("small", 0.1, plan="small plan", scores=judge),
            bidder("large", 2.0, plan="large plan", scores=judge),
        ]
        # the jury alone picks the winner: no memory term, no routing from memory
        settings = Settings.model_validate({"auction": {"w_memory": 0.0, "mode": "always"}})
        runner = AuctionRunner(settings, agents, memory, PromptLibrary())
        events = list(runner.run(Job(text, "coding", "")))
        auction_id = runner.auction_ids[-1]
        winner = events[-1].winner.agent  # type: ignore[attr-defined]
        status = "success" if winner == "large" else "failure"
        memory.record_execution(auction_id, winner, status, tokens=100, cost_usd=0.001)
        ids.append(auction_id)
    return ids


@pytest.fixture
def memory(tmp_path: Path) -> AuctionMemory:
    memory = AuctionMemory(tmp_path / "memory.db")
    run_jobs(
        memory,
        [("Fix the parser", "large"), ("Rename a helper", "small"), ("Fix the lexer", "small")],
    )
    return memory


def test_history_filters_by_words_outcome_winner_and_date(memory: AuctionMemory) -> None:
    assert [r["job"] for r in memory.auctions(text="fix")] == ["Fix the lexer", "Fix the parser"]
    assert [r["job"] for r in memory.auctions(text="fix lexer")] == ["Fix the lexer"]
    assert [r["job"] for r in memory.auctions(outcome="success")] == ["Fix the parser"]
    assert {r["job"] for r in memory.auctions(agent="small")} == {
        "Rename a helper",
        "Fix the lexer",
    }
    assert memory.auctions(since="2999-01-01") == []
    assert memory.auctions(text="%") == [] and memory.auctions(text="_") == []  # not wildcards
    assert len(memory.auctions(since="2000-01-01")) == 3
    assert memory.past_requests()[0] == "Fix the lexer"
    memory.new_job("Fix the parser", "coding")  # typed again: listed once, now newest
    assert memory.past_requests()[:2] == ["Fix the parser", "Fix the lexer"]


def test_costs_per_day_agent_and_overhead_add_up(memory: AuctionMemory) -> None:
    days = memory.cost_per_day()
    assert len(days) == 1 and days[0]["auctions"] == 3
    assert days[0]["execution_usd"] == pytest.approx(0.003)
    assert days[0]["execution_tokens"] == 300
    overhead = memory.overhead()
    assert overhead.auctions == 3 and overhead.execution_usd == pytest.approx(0.003)
    assert (
        overhead.auction_usd == pytest.approx(days[0]["auction_usd"]) and overhead.auction_usd > 0
    )
    assert 0 < overhead.auction_share < 1
    row = memory.auctions()[0]
    parts = sum(row[f"{phase}_cost_usd"] or 0 for phase in ("bid", "jury", "refine"))
    assert row["auction_usd"] == pytest.approx(parts) and parts > 0
    assert memory.auction(row["id"])["auction_tokens"] == row["auction_tokens"] > 0  # type: ignore[index]
    agents = {row["agent"]: row for row in memory.cost_per_agent()}
    assert agents["small"]["wins"] == 2 and agents["large"]["wins"] == 1
    assert agents["small"]["win_share"] == pytest.approx(2 / 3)
    assert agents["large"]["successes"] == 1 and agents["small"]["successes"] == 0
    assert agents["small"]["entered"] == 3
    # bids (refined ones included) + jury calls + the work = everything spent
    spent = sum(r["bid_usd"] + r["jury_usd"] + r["execution_usd"] for r in agents.values())
    assert spent == pytest.approx(overhead.auction_usd + overhead.execution_usd)


def test_small_agent_win_share_follows_the_stream(memory: AuctionMemory) -> None:
    points = memory.small_agent_wins(window=2)
    # large, small, small won: windows of two → 0, 1/2, 2/2
    assert points == [(1, 0.0), (2, 0.5), (3, 1.0)]
