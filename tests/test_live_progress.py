"""While a model thinks, every front end says who is doing what, for how long, and for a local
model how many tokens it has written so far (issue 16, item 5). The counts come from the real
progress registry (the engine worker's reports are tested with a real model in
test_engine_worker); here they are set as the engine client sets them."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.console import Console
from textual.widgets import Static

from sale_tui.auction.events import AgentWorking
from sale_tui.cli_live import LiveWait, Thinking
from sale_tui.models import progress
from sale_tui.tui.app import SaleApp
from sale_tui.tui.auction_pane import AuctionPane
from tests.auction_helpers import bidder
from tests.sandbox_helpers import make_repo
from tests.tui_helpers import services_for, text_of, wait_until


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def writing() -> Iterator[None]:
    """The 1.5B's bid call is running on its local model and has written 40 tokens."""
    progress.call_started("qwen-1.5b", "qwen2.5-coder-1.5b")
    progress.generated("qwen2.5-coder-1.5b", 40)
    yield
    progress.call_ended("qwen-1.5b")
    progress.engine_done("qwen2.5-coder-1.5b")


def test_the_live_line_counts_seconds_and_a_local_models_tokens(writing: None) -> None:
    line = Thinking("qwen-1.5b", "writing its bid")
    line.since -= 12.2
    assert str(line.__rich__()) == "qwen-1.5b is writing its bid… 12 s · 40 tokens"
    # a hosted agent (or one with no call running) has no count: seconds only
    assert str(Thinking("gpt-4o-mini", "scoring 2 plans").__rich__()).endswith("plans… 0 s")
    progress.engine_done("qwen2.5-coder-1.5b")  # the call ended
    assert progress.tokens_so_far("qwen-1.5b") is None


def test_a_live_line_only_on_a_terminal(writing: None) -> None:
    piped = io.StringIO()
    waiting = LiveWait(Console(file=piped))
    waiting.show("qwen-1.5b", "writing its bid")
    assert waiting.status is None  # a pipe gets the plain lines only
    waiting.stop()
    assert piped.getvalue() == ""
    screen = io.StringIO()
    waiting = LiveWait(Console(file=screen, force_terminal=True, width=80))
    waiting.show("qwen-1.5b", "writing its bid")
    time.sleep(0.3)  # the spinner redraws on its own
    waiting.stop()
    assert "qwen-1.5b is writing its bid… 0 s · 40 tokens" in screen.getvalue()
    assert waiting.status is None


@pytest.mark.anyio
@pytest.mark.usefixtures("with_minilm")
async def test_the_auction_tab_says_who_is_thinking_and_how_far(
    tmp_path: Path, writing: None
) -> None:
    agents = [bidder("qwen-1.5b", 2.0)]
    app = SaleApp(services_for(make_repo(tmp_path / "repo"), tmp_path / "memory.db", agents))
    async with app.run_test(size=(100, 30)) as pilot:
        pane = app.query_one(AuctionPane)
        status = app.query_one("#auction-status", Static)
        pane.show(AgentWorking("qwen-1.5b", "writing its bid"))
        assert "qwen-1.5b is writing its bid… 0 s · 40 tokens" in text_of(status)
        progress.generated("qwen2.5-coder-1.5b", 56)
        await wait_until(pilot, lambda: "56 tokens" in text_of(status), timeout=5)
        pane.waiting("queued")  # the next job: the live part ends
        progress.generated("qwen2.5-coder-1.5b", 64)
        await pilot.pause(0.7)
        assert text_of(status) == "queued"
