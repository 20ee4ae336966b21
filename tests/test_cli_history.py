"""`sale-tui history` and `sale-tui show` read the real memory file a run left behind."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sale_tui.auction import Job
from sale_tui.config import Settings
from sale_tui.memory import AuctionMemory
from sale_tui.prompting import PromptLibrary
from sale_tui.runner import AuctionRunner
from tests.auction_helpers import bidder
from tests.conftest import run_cli

pytestmark = pytest.mark.usefixtures("with_minilm")


@pytest.fixture
def memory(isolated_home: Path) -> AuctionMemory:
    memory = AuctionMemory(isolated_home / "data" / "memory.db")
    judge = {"big plan": 5.0}
    agents = [
        bidder("small", 0.1, plan="small plan", scores=judge),
        bidder("large", 2.0, plan="big plan", scores=judge),
    ]
    runner = AuctionRunner(Settings(), agents, memory, PromptLibrary())
    list(runner.run(Job("Fix the failing parser test", "coding", "")))
    list(runner.run(Job("Where is the retry logic?", "research", "")))
    return memory


def test_history_lists_auctions_newest_first(memory: AuctionMemory) -> None:
    result = run_cli("history", "--json")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert [r["job"] for r in rows] == ["Where is the retry logic?", "Fix the failing parser test"]
    assert all(r["winner"] == "large" and r["status"] == "won" for r in rows)
    table = run_cli("history", env={"COLUMNS": "100"})
    assert "Fix the failing" in table.stdout and "large" in table.stdout
    assert json.loads(run_cli("history", "--json", "--agent", "small").stdout) == []
    found = json.loads(run_cli("history", "--json", "--search", "parser").stdout)
    assert [r["job"] for r in found] == ["Fix the failing parser test"]
    assert json.loads(run_cli("history", "--json", "--since", "2999-01-01").stdout) == []


def test_show_explains_one_auction_by_id_prefix(memory: AuctionMemory) -> None:
    auction_id = memory.auctions()[0]["id"]
    result = run_cli("show", auction_id[:6], "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["id"] == auction_id and data["winner"] == "large"
    # the newest auction (research) had only a coding job in memory: refinement pairs keep to
    # the kind of job, so nobody refined
    assert sorted((b["bid"]["agent"], b["bid"]["round"]) for b in data["bids"]) == [
        ("large", "original"),
        ("small", "original"),
    ]
    text = run_cli("show", auction_id, env={"COLUMNS": "100"}).stdout
    assert "large ★" in text and "winning plan" in text and "big plan" in text
    # the three token figures: computed + cached = all prompt and output tokens
    assert data["prompt_tokens"] + data["generated_tokens"] == data["auction_tokens"] > 0
    assert data["auction_computed_tokens"] + data["cached_tokens"] == data["auction_tokens"]
    assert 0 < data["cached_tokens"] < data["prompt_tokens"]
    assert (
        f"({data['auction_computed_tokens']:,} computed, {data['cached_tokens']:,} cached)" in text
    )


def test_show_unknown_id_is_exit_2(memory: AuctionMemory) -> None:
    result = run_cli("show", "zzzz")
    assert result.returncode == 2 and "sale-tui history" in result.stderr
