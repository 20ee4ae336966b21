"""Snapshot tests of the key screens at 80×24 (textual is pinned exactly, so the SVGs are
stable). The events are the ones a real job posts, built here with fixed numbers so that the
pictures do not change from run to run. Update after a deliberate change with
``pytest tests/test_tui_snapshots.py --snapshot-update`` and look at the report."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from textual.pilot import Pilot

from sale_tui.agents import AgentStopped, StepRan
from sale_tui.agents.actions import Action
from sale_tui.auction import Weights
from sale_tui.auction.events import (
    AuctionStarted,
    Bid,
    BidReceived,
    BidScored,
    JuryScored,
    ProvisionalWinner,
    Refined,
    ScoredBid,
    WinnerChosen,
)
from sale_tui.memory import AuctionMemory
from sale_tui.pipeline import JobPipeline, JobRequest, PatchReady, TestsRan
from sale_tui.tui import execution_pane
from sale_tui.tui.app import SaleApp
from sale_tui.tui.messages import JobEnded, JobEventPosted
from sale_tui.tui.services import AgentStatus, RepoStatus, SandboxStatus, Services
from tests.tui_helpers import ready

pytestmark = pytest.mark.usefixtures("with_minilm")

SIZE = (80, 24)
ROOT = Path("/home/dev/calc")
JOB = "Fix the bug in add() so that test_calc.py passes"
ROSTER = [
    AgentStatus("qwen-0.5b", "local/qwen-0.5b", 0.00558, True, "local weights ready"),
    AgentStatus("qwen-1.5b", "local/qwen-1.5b", 0.0174, True, "local weights ready"),
    AgentStatus(
        "gpt-4o-mini",
        "openai/gpt-4o-mini",
        0.375,
        False,
        "OPENAI_API_KEY is not set",
        "export OPENAI_API_KEY=…",
    ),
]
PATCH = (
    b"diff --git a/calc.py b/calc.py\nindex 12ee743..4693ad3 100644\n--- a/calc.py\n"
    b"+++ b/calc.py\n@@ -1,2 +1,2 @@\n def add(a, b):\n-    return a - b\n+    return a + b\n"
)


def services(memory_path: Path) -> Services:
    return Services(
        repo=ROOT,
        make_runner=lambda names: pytest.fail("no job runs in a snapshot"),
        roster=lambda: ROSTER,
        sandbox=lambda: SandboxStatus(True, "Docker 20.10.24 · sale-tui-sandbox:1"),
        open_memory=lambda: AuctionMemory(memory_path),
        repo_status=lambda path: RepoStatus(
            ROOT, f"{ROOT} · main · clean", False, "python3 -m pytest -q"
        ),
    )


def bid(agent: str, price: float, tokens: int, round_: str = "original") -> Bid:
    plan = f"{agent}'s plan: view calc.py, fix add(), run the tests."
    return Bid(agent, round_, plan, tokens, price, 0.07, "exact", price * tokens / 1e6)


def scored(b: Bid, small: float, large: float, cost: float, value: float) -> ScoredBid:
    return ScoredBid(b, {"qwen-0.5b": small, "qwen-1.5b": large}, {}, cost, value)


def auction_events() -> list[Any]:
    small, large = bid("qwen-0.5b", 0.00558, 234), bid("qwen-1.5b", 0.0174, 151)
    refined = bid("qwen-0.5b", 0.00558, 120, "refined")
    s_small = scored(small, 3.0, 4.1, 0.147, 0.725)
    s_large = scored(large, 3.0, 4.3, 0.295, 0.750)
    s_refined = scored(refined, 3.4, 4.4, 0.076, 0.780)
    events: list[Any] = [
        AuctionStarted(JOB, "coding", ("qwen-0.5b", "qwen-1.5b"), Weights(), 256),
        BidReceived(small),
        BidReceived(large),
    ]
    for b, sb in ((small, s_small), (large, s_large)):
        for juror, score in sb.jury.items():
            events.append(JuryScored(b.agent, juror, b.round, score, "logprobs", 0.0, 10))
        events.append(BidScored(sb))
    events += [ProvisionalWinner(s_small), Refined(refined)]
    for juror, score in s_refined.jury.items():
        events.append(JuryScored("qwen-0.5b", juror, "refined", score, "logprobs", 0.0, 10))
    events += [
        BidScored(s_refined),
        WinnerChosen(
            s_refined,
            s_small,
            "the refined bid kept the best score",
            (s_small, s_large, s_refined),
            {"bids": 385, "jury": 1838, "refine": 120},
            {"bids": 0.0000088, "jury": 0.0000163, "refine": 0.0000007},
        ),
    ]
    return events


def execution_events() -> list[Any]:
    edit = Action("edit", "calc.py", "    return a - b", "    return a + b")
    view = "   1| def add(a, b):\n   2|     return a - b"
    finish = Action("finish", "add() returns a + b; the tests pass.")
    return [
        StepRan(1, Action("view", "calc.py"), "", view, 412, 0.0000072, 1.8),
        StepRan(2, edit, "", "Edited calc.py: replaced 1 line(s).", 590, 0.0000103, 2.4),
        StepRan(3, Action("test"), "", "Tests PASSED:\n1 passed in 0.01s", 634, 0.000011, 1.3),
        StepRan(4, finish, "", "Finished.", 702, 0.0000122, 1.2),
        AgentStopped("finished", "add() returns a + b; the tests pass.", 4, 2338, 0.0000407, 6.7),
        TestsRan("python3 -m pytest -q", True, "1 passed in 0.01s"),
        PatchReady(PATCH, "qwen-0.5b"),
    ]


def finished_pipeline(events: list[Any]) -> JobPipeline:
    """A pipeline in the state a job leaves it (only what Review reads)."""
    request = JobRequest(JOB, "coding", ROOT, None, "", "python3 -m pytest -q")  # type: ignore[arg-type]
    runner = SimpleNamespace(auction_ids=["3fa9c1d2e4b5"], agents=[])
    pipeline = JobPipeline(runner, request)  # type: ignore[arg-type]
    pipeline.winner_event = next(e for e in events if isinstance(e, WinnerChosen))
    pipeline.stopped = next(e for e in events if isinstance(e, AgentStopped))
    pipeline.tests_passed, pipeline.patch = True, PATCH
    pipeline.attempts = ["qwen-0.5b"]
    pipeline.execution_cost_usd, pipeline.execution_tokens = 0.0000407, 2338
    return pipeline


async def steady(pilot: Pilot[None]) -> None:
    """Start-up done, and no blinking cursor: a picture must not depend on the moment."""
    await ready(pilot)
    for widget in pilot.app.query("TextArea, Input"):
        widget.cursor_blink = False  # type: ignore[attr-defined]
    await pilot.pause()


async def post(pilot: Pilot[None], events: list[Any], *, end: bool = False) -> None:
    await steady(pilot)
    app = pilot.app
    await pilot.press("f3")  # where a submitted job starts
    for event in events:
        app.post_message(JobEventPosted(event))
    if end:
        app.post_message(JobEnded(finished_pipeline(events)))
    await pilot.pause()
    app.clear_notifications()
    await pilot.pause()


@pytest.fixture
def memory_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    # the execution clock stands still, so "elapsed" reads the same however loaded the machine
    monkeypatch.setattr(execution_pane, "time", SimpleNamespace(monotonic=lambda: 100.0))
    return tmp_path / "memory.db"


def test_job_screen(snap_compare: Any, memory_path: Path) -> None:
    app = SaleApp(services(memory_path))
    assert snap_compare(app, terminal_size=SIZE, run_before=steady)


def test_job_screen_light_theme(snap_compare: Any, memory_path: Path) -> None:
    app = SaleApp(services(memory_path))

    async def light(pilot: Pilot[None]) -> None:
        await steady(pilot)
        await pilot.press("ctrl+t")

    assert snap_compare(app, terminal_size=SIZE, run_before=light)


def test_live_auction(snap_compare: Any, memory_path: Path) -> None:
    app = SaleApp(services(memory_path))

    async def auction(pilot: Pilot[None]) -> None:
        await post(pilot, auction_events())

    assert snap_compare(app, terminal_size=SIZE, run_before=auction)


def test_execution(snap_compare: Any, memory_path: Path) -> None:
    app = SaleApp(services(memory_path))

    async def execution(pilot: Pilot[None]) -> None:
        await post(pilot, auction_events() + execution_events()[:5])
        await pilot.press("f4")

    assert snap_compare(app, terminal_size=SIZE, run_before=execution)


def test_review(snap_compare: Any, memory_path: Path) -> None:
    app = SaleApp(services(memory_path))

    async def review(pilot: Pilot[None]) -> None:
        await post(pilot, auction_events() + execution_events(), end=True)

    assert snap_compare(app, terminal_size=SIZE, run_before=review)


def test_costs(snap_compare: Any, memory_path: Path) -> None:
    from tests.test_memory_costs import run_jobs

    memory = AuctionMemory(memory_path)
    jobs = [("Fix the parser", "large"), ("Rename a helper", "small"), ("Fix the lexer", "small")]
    for day, auction_id in zip(
        ("2026-11-20", "2026-11-21", "2026-11-23"), run_jobs(memory, jobs), strict=True
    ):
        memory.db.execute(
            "UPDATE auctions SET started_at = ? WHERE id = ?", [f"{day}T10:00:00", auction_id]
        )
    app = SaleApp(services(memory_path))

    async def costs(pilot: Pilot[None]) -> None:
        await steady(pilot)
        await pilot.press("f7")
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=costs)


def test_help(snap_compare: Any, memory_path: Path) -> None:
    app = SaleApp(services(memory_path))
    assert snap_compare(app, terminal_size=SIZE, press=["f1"], run_before=steady)
