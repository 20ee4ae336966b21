"""The job pipeline both front ends use: scripted models at the model seam; the auction memory,
the Docker sandbox and the git repo are real."""

from __future__ import annotations

from pathlib import Path

import docker
import pytest

from sale_tui.agents import AgentStopped, StepRan
from sale_tui.auction.events import Bid, ScoredBid, WinnerChosen
from sale_tui.config import Settings
from sale_tui.memory import AuctionMemory
from sale_tui.pipeline import (
    Escalated,
    JobPipeline,
    JobRequest,
    PatchReady,
    TestsRan,
    escalation_order,
)
from sale_tui.prompting import PromptLibrary
from sale_tui.repo import snapshot
from sale_tui.runner import AuctionRunner
from tests.auction_helpers import bidder
from tests.sandbox_helpers import FIX, git, make_repo, tree_state

pytestmark = [pytest.mark.sandbox, pytest.mark.usefixtures("with_minilm")]

TESTS = "python3 -c 'import calc; assert calc.add(2, 3) == 5'"


def pipeline_for(
    tmp_path: Path, actions: tuple[str, ...] = FIX, kind: str = "coding", text: str = "Fix add()"
) -> JobPipeline:
    repo = make_repo(tmp_path / "repo")
    memory = AuctionMemory(tmp_path / "memory.db")
    agents = [bidder("worker", 0.1, plan="view edit test", actions=actions)]
    runner = AuctionRunner(Settings(), agents, memory, PromptLibrary())
    request = JobRequest(
        text,
        kind,
        repo,
        snapshot(repo),
        "calc.py",
        TESTS if kind == "coding" else None,  # type: ignore[arg-type]
    )
    return JobPipeline(runner, request)


def test_a_job_runs_auction_steps_tests_and_patch_then_applies_to_a_branch(
    tmp_path: Path,
) -> None:
    pipeline = pipeline_for(tmp_path)
    before = tree_state(pipeline.request.root)
    events = list(pipeline.run())
    kinds = [type(e) for e in events]
    winner_at = kinds.index(WinnerChosen)
    assert kinds[winner_at + 1 :] == [StepRan, StepRan, StepRan, AgentStopped, TestsRan, PatchReady]
    assert pipeline.attempts == ["worker"]
    assert pipeline.success and pipeline.tests_passed is True
    assert b"+    return a + b" in pipeline.patch
    assert tree_state(pipeline.request.root) == before  # nothing reaches the repo before apply
    where = pipeline.apply("branch")
    assert where == f"sale/{pipeline.auction_id}"
    message = git(pipeline.request.root, "log", "-1", "--format=%B", where)
    assert f"Sale-Auction: {pipeline.auction_id}" in message and "Sale-Agent: worker" in message
    done = pipeline.finished()
    assert done.success and done.applied == where and done.winner == "worker"
    assert set(done.seconds) == {"auction", "execution", "tests"}
    row = pipeline.runner.memory.db.execute(
        "SELECT status, tests_passed, verdict FROM executions WHERE auction_id = ?",
        [pipeline.auction_id],
    ).fetchone()
    assert row == ("success", 1, "accepted")


def test_a_rejected_job_is_recorded_as_negative_feedback(tmp_path: Path) -> None:
    pipeline = pipeline_for(tmp_path, actions=("ACTION: finish nothing",))
    list(pipeline.run())
    assert not pipeline.success and pipeline.patch == b""  # tests still fail
    pipeline.reject()
    row = pipeline.runner.memory.db.execute(
        "SELECT status, verdict FROM executions WHERE auction_id = ?", [pipeline.auction_id]
    ).fetchone()
    assert row == ("failure", "rejected")


def test_stopping_mid_execution_removes_the_container_and_records_it(tmp_path: Path) -> None:
    pipeline = pipeline_for(tmp_path, actions=("ACTION: view calc.py", "ACTION: run sleep 1"))
    events = pipeline.run()
    for event in events:
        if isinstance(event, StepRan):
            break  # the TUI's stop button: close the generator mid-run
    events.close()
    client = docker.from_env()
    label = f"sale-tui.sandbox.job={pipeline.auction_id}"
    assert client.containers.list(all=True, filters={"label": label}) == []
    status = pipeline.runner.memory.db.execute(
        "SELECT status FROM executions WHERE auction_id = ?", [pipeline.auction_id]
    ).fetchone()
    assert status == ("interrupted",)


def test_research_success_needs_citations_that_exist(tmp_path: Path) -> None:
    cited = pipeline_for(
        tmp_path / "a", ("ACTION: finish add() subtracts (calc.py:2)",), "research", "What?"
    )
    list(cited.run())
    assert cited.success and cited.stopped and cited.stopped.citations == ("calc.py:2",)
    uncited = pipeline_for(tmp_path / "b", ("ACTION: finish it subtracts",), "research", "What?")
    list(uncited.run())
    assert uncited.stopped and uncited.stopped.reason == "finished" and not uncited.success


def test_work_that_changes_the_jobs_tests_is_never_a_success(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    (repo / "tests").mkdir()
    (repo / "tests" / "test_calc.py").write_text(
        "from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n"
    )
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "tests")
    cheat = (
        "ACTION: write tests/test_calc.py\n```\ndef test_add():\n    pass\n```",
        "ACTION: run sed -i 's/== 5/== -1/' tests/test_calc.py",  # the shell gets past write
        "ACTION: finish the tests pass",
    )
    agents = [bidder("worker", 0.1, actions=cheat)]
    runner = AuctionRunner(Settings(), agents, AuctionMemory(tmp_path / "m.db"), PromptLibrary())
    request = JobRequest.for_repo("Fix add()", "coding", repo, with_uncommitted=False)
    assert request.read_only == ("tests/test_calc.py",)
    pipeline = JobPipeline(runner, request)
    events = list(pipeline.run())
    steps = [e for e in events if isinstance(e, StepRan)]
    assert "is one of the job's tests" in steps[0].observation
    verdict = next(e for e in events if isinstance(e, TestsRan))
    assert verdict.passed and verdict.changed_tests == ("tests/test_calc.py",)
    assert pipeline.tests_passed and not pipeline.success  # passing by changing the tests
    assert pipeline.finished().changed_tests == ("tests/test_calc.py",)
    status, detail = pipeline.runner.memory.db.execute(
        "SELECT status, detail FROM executions WHERE auction_id = ?", [pipeline.auction_id]
    ).fetchone()
    assert status == "failure" and "changed the job's tests: tests/test_calc.py" in detail
    # a job about the tests may change them; one measured by them may not
    asked = JobRequest.for_repo("Fix the test for add()", "coding", repo, with_uncommitted=False)
    assert asked.read_only == ()
    for measured in ("Fix add() so the tests pass", "Fix the failing test", "Make tests pass"):
        request = JobRequest.for_repo(measured, "coding", repo, with_uncommitted=False)
        assert request.read_only == ("tests/test_calc.py",), measured


def test_a_new_conftest_that_skips_the_tests_is_never_a_success(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    (repo / "test_calc.py").write_text(
        "from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n"
    )
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "tests")
    skip = "ACTION: write conftest.py\n```\ncollect_ignore = ['test_calc.py']\n```"
    agents = [bidder("worker", 0.1, actions=(skip, "ACTION: finish done"))]
    runner = AuctionRunner(Settings(), agents, AuctionMemory(tmp_path / "m.db"), PromptLibrary())
    request = JobRequest.for_repo("Fix add()", "coding", repo, with_uncommitted=False)
    pipeline = JobPipeline(runner, request)
    list(pipeline.run())
    assert pipeline.changed_tests == ("conftest.py",) and not pipeline.success


def test_work_that_changes_nothing_is_no_success_even_when_the_tests_pass(
    tmp_path: Path,
) -> None:
    """Seen in a real session: job 2 already held job 1's fix, so the tests passed; the agent
    got stuck rewriting README.md unchanged, and the job was called done. A change was asked
    for and none was made: a failure, and a pricier agent tries."""
    repo = make_repo(tmp_path / "repo")
    judge = {"idle plan": 4.0, "work plan": 4.0}
    agents = [
        bidder("idle", 0.1, plan="idle plan", scores=judge, actions=("ACTION: finish done",)),
        bidder("worker", 2.0, plan="work plan", scores=judge, actions=FIX),
    ]
    runner = AuctionRunner(Settings(), agents, AuctionMemory(tmp_path / "m.db"), PromptLibrary())
    passing = "python3 -c 'import calc'"  # passes before any change
    request = JobRequest("Fix add()", "coding", repo, snapshot(repo), "", passing, escalate=1)
    pipeline = JobPipeline(runner, request)
    events = list(pipeline.run())
    escalated = [(e.from_agent, e.reason) for e in events if isinstance(e, Escalated)]
    assert escalated == [("idle", "it changed nothing")]
    assert pipeline.attempts == ["idle", "worker"] and pipeline.success


def test_failed_work_escalates_to_the_next_bid_and_both_outcomes_are_kept(
    tmp_path: Path,
) -> None:
    repo = make_repo(tmp_path / "repo")
    memory = AuctionMemory(tmp_path / "memory.db")
    judge = {"cheap plan": 4.0, "careful plan": 4.0}
    agents = [
        bidder("cheap", 0.1, plan="cheap plan", scores=judge, actions=("ACTION: finish done",)),
        bidder("careful", 2.0, plan="careful plan", scores=judge, actions=FIX),
    ]
    runner = AuctionRunner(Settings(), agents, memory, PromptLibrary())
    request = JobRequest("Fix add()", "coding", repo, snapshot(repo), "", TESTS, escalate=1)
    pipeline = JobPipeline(runner, request)
    events = list(pipeline.run())
    escalated = [e for e in events if isinstance(e, Escalated)]
    assert [(e.from_agent, e.to_agent, e.reason) for e in escalated] == [
        ("cheap", "careful", "the tests failed")
    ]
    assert [e.passed for e in events if isinstance(e, TestsRan)] == [False, True]
    assert [e.agent for e in events if isinstance(e, PatchReady)] == ["careful"]  # once, at the end
    done = pipeline.finished()
    assert done.winner == "cheap" and done.executed_by == "careful" and done.success
    assert done.execution_tokens == sum(e.tokens for e in events if isinstance(e, AgentStopped))
    rows = memory.db.execute(
        "SELECT agent, status FROM executions WHERE auction_id = ? ORDER BY id",
        [pipeline.auction_id],
    ).fetchall()
    assert rows == [("cheap", "failure"), ("careful", "success")]  # calibrate learns from both
    # each execution's tokens split as its run counted them (scripted: a repeated prefix is
    # cached), and the job's split is the sum of both runs'
    stops = [e for e in events if isinstance(e, AgentStopped)]
    split = memory.db.execute(
        "SELECT tokens, prompt_tokens, cached_tokens, generated_tokens FROM executions "
        "WHERE auction_id = ? ORDER BY id",
        [pipeline.auction_id],
    ).fetchall()
    assert split == [
        (s.tokens, s.usage.prompt_tokens, s.usage.cached_tokens, s.usage.completion_tokens)
        for s in stops
    ]
    assert sum(s.usage.cached_tokens for s in stops) > 0  # the second step re-reads the first
    assert done.execution_cached_tokens == sum(s.usage.cached_tokens for s in stops)
    assert done.execution_computed_tokens + done.execution_cached_tokens == done.execution_tokens
    # the memory now knows that on this job cheap failed and careful passed: its track
    # records move the next auction up to careful (issue 15: memory moves work up as well)
    third = JobPipeline(runner, JobRequest("Fix add()", "coding", repo, snapshot(repo), "", TESTS))
    list(third.run())
    assert third.winner_event is not None and third.winner_event.winner.agent == "careful"
    tracks = {b.agent: b.track for b in third.winner_event.bids if b.track}
    assert (tracks["cheap"].passed, tracks["cheap"].tried) == (0, 1)
    assert (tracks["careful"].passed, tracks["careful"].tried) == (1, 1)
    # without escalation (and a fresh memory) the job ends with the winner's failure
    fresh = AuctionRunner(Settings(), agents, AuctionMemory(tmp_path / "m2.db"), PromptLibrary())
    second = JobPipeline(fresh, JobRequest("Fix add()", "coding", repo, snapshot(repo), "", TESTS))
    list(second.run())
    assert second.attempts == ["cheap"] and not second.success


def test_escalation_goes_to_pricier_agents_the_largest_last_each_asked_once() -> None:
    def scored(agent: str, round_: str, price: float, value: float) -> ScoredBid:
        bid = Bid(agent, round_, "plan", 10, price, 0.1, "exact", 0.0)  # type: ignore[arg-type]
        return ScoredBid(bid, {}, {}, 0.5, value)

    winner = scored("small", "refined", 0.1, 0.9)
    bids = (
        scored("small", "original", 0.1, 0.2),
        scored("mid", "original", 1.0, 0.6),
        scored("mid", "refined", 1.0, 0.7),  # mid's better bid; mid must come once
        scored("large", "original", 3.0, 0.1),  # scored worst, yet the last resort
        scored("tiny", "original", 0.05, 0.8),  # cheaper than the winner: never escalated to
        winner,
    )
    final = WinnerChosen(winner, winner, "kept", bids)
    order = [(b.agent, b.bid.round) for b in escalation_order(final, 2)]
    assert order == [("small", "refined"), ("mid", "refined"), ("large", "original")]
    # one try: straight to the largest, not to the middle agent
    assert [b.agent for b in escalation_order(final, 1)] == ["small", "large"]
    assert [b.agent for b in escalation_order(final, 0)] == ["small"]
    top = WinnerChosen(bids[3], bids[3], "kept", bids)
    assert [b.agent for b in escalation_order(top, 2)] == ["large"]  # nobody pricier


def test_a_sandbox_failure_during_the_work_is_recorded_then_raised(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sale_tui.errors import SandboxError
    from sale_tui.sandboxes import Workspace

    def lost(self: Workspace) -> bytes:
        raise SandboxError("lost the output of a sandbox command", fix="run the job again")

    monkeypatch.setattr(Workspace, "patch", lost)
    pipeline = pipeline_for(tmp_path)
    with pytest.raises(SandboxError):
        list(pipeline.run())
    row = pipeline.runner.memory.executions(pipeline.auction_id)[-1]
    assert row["status"] == "error" and "lost the output" in row["detail"]
