"""One job end to end, as a generator of events that both front ends render.

auction (``runner``) → the winner's steps in a sandbox on the repo snapshot → its patch → the
repo's tests, in a fresh sandbox holding only the snapshot and that patch (when the work fails
and ``escalate`` allows, a pricier agent tries, the largest last, in a fresh sandbox); the outcome
goes into the memory as soon as it is known. Applying the patch is a separate call (``apply``),
because the front ends decide how: ``do`` asks or follows ``--apply``, the TUI reviews hunk by
hunk. Closing the generator early (Ctrl-C, the TUI's stop) removes the container and records
the execution as interrupted; the user's repo is never touched before ``apply``.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Collection, Generator
from contextlib import closing
from dataclasses import dataclass, field
from typing import Literal, TypeAlias

from sale_tui.agents import AgentEvent, AgentLimits, AgentStopped, run_agent, task_for_agent
from sale_tui.auction import Job
from sale_tui.auction.events import AuctionEvent, ScoredBid, WinnerChosen
from sale_tui.auction.scoring import escalation_agents, rank_key
from sale_tui.errors import RepoError, SandboxError
from sale_tui.job_events import Escalated, JobFinished, PatchReady, PlanReady, TestsRan
from sale_tui.job_request import JobRequest
from sale_tui.jobs import is_about_tests, tests_written
from sale_tui.protocols import Usage
from sale_tui.repo import apply_patch, patch_paths
from sale_tui.runner import AuctionRunner
from sale_tui.sandboxes import SandboxLimits, Workspace, prune
from sale_tui.sandboxes.environment import SandboxEnvironment

JobEvent: TypeAlias = AuctionEvent | AgentEvent | PlanReady | TestsRan | PatchReady | Escalated


def escalation_order(final: WinnerChosen, tries: int) -> list[ScoredBid]:
    """The winner, then up to ``tries`` pricier agents, the largest last
    (``scoring.escalation_agents``), each with its best bid (an agent that refined has two)."""
    best: dict[str, ScoredBid] = {}
    for scored in sorted(final.bids, key=lambda b: rank_key(b.score, b.bid.price, b.agent)):
        best.setdefault(scored.agent, scored)
    prices = {agent: scored.bid.price for agent, scored in best.items()}
    prices[final.winner.agent] = final.winner.bid.price
    escalating = escalation_agents(final.winner.agent, prices, tries)
    return [final.winner, *(best[agent] for agent in escalating)]


@dataclass
class JobPipeline:
    """Runs one job for a runner; holds what ``apply`` and ``finished`` need afterwards."""

    runner: AuctionRunner
    request: JobRequest
    winner_event: WinnerChosen | None = None
    stopped: AgentStopped | None = None
    tests_passed: bool | None = None
    patch: bytes = b""
    changed_tests: tuple[str, ...] = ()
    """Read-only test files the patch changes anyway (through a shell command)."""
    applied: str | None = None
    attempts: list[str] = field(default_factory=list)
    """The agents that executed, in order."""
    plan_status: str | None = None
    """The user's word on the plan (``decide_plan``): approved, edited or rejected."""
    approved_plan: str | None = None
    """The plan every attempt follows once the user approved (or edited) it."""
    execution_cost_usd: float = 0.0
    execution_tokens: int = 0
    execution_usage: Usage = field(default_factory=Usage)
    """``execution_tokens`` split: prompt tokens computed or read from a cache, generated."""
    seconds: dict[str, float] = field(default_factory=dict)
    _clock: float = field(default_factory=time.monotonic)

    @property
    def auction_id(self) -> str:
        return self.runner.auction_ids[-1] if self.runner.auction_ids else ""

    @property
    def success(self) -> bool:
        """Coding: the work changed something and the tests pass (with no tests, the agent
        finished); research: every citation holds."""
        stopped = self.stopped
        if stopped is None:
            return False
        if self.changed_tests:
            return False  # passing by changing the tests is not doing the job
        if self.request.kind == "coding" and not self.patch.strip():
            # a change was asked for: tests that already passed (a session's earlier work, a
            # feature the tests do not cover yet) are no sign that this job was done
            return False
        if self.request.kind == "research":
            return (
                stopped.reason == "finished"
                and bool(stopped.citations)
                and not (stopped.bad_citations)
            )
        if self.tests_passed is not None:
            return self.tests_passed
        return stopped.reason == "finished"

    def _lap(self, phase: str) -> None:
        now = time.monotonic()
        self.seconds[phase] = round(self.seconds.get(phase, 0.0) + now - self._clock, 2)
        self._clock = now

    @property
    def executed_by(self) -> str | None:
        """The agent whose work is on the table: the winner, or the last one escalated to."""
        return self.attempts[-1] if self.attempts else None

    def run(self) -> Generator[JobEvent, None, None]:
        request = self.request
        # What a run killed outright left behind: its rows say so, its containers go.
        self.runner.memory.reconcile()
        with contextlib.suppress(SandboxError):  # no Docker: the sandbox says so when needed
            prune(this_host_only=True)
        job = Job(request.text, request.kind, request.repo_summary, request.context)
        auction = self.runner.run(
            job,
            budget_usd=request.budget_usd,
            repo=str(request.root),
            commit=request.snapshot.head,
            escalate=request.escalate > 0,
            mode=request.auction_mode,
            session_id=request.session_id,
        )
        with closing(auction):  # closing this generator closes the auction too
            for event in auction:
                if isinstance(event, WinnerChosen):
                    self.winner_event = event  # before the yield: front ends read it at once
                yield event
        self._lap("auction")
        final = self.winner_event
        if final is None:
            return
        if request.approve_plan:
            yield PlanReady(final.winner.agent, final.winner.bid.text)  # decide_plan, meanwhile
            if self.plan_status in (None, "rejected"):
                self.plan_status = "rejected"  # no word from the front end: nothing runs
                self.runner.memory.record_plan(self.auction_id, "rejected")
                return
        # The winner first; when its work fails, a pricier agent (escalation), the largest last.
        for attempt, scored in enumerate(escalation_order(final, request.escalate)):
            if attempt:
                if self._budget_left() == 0.0:
                    break
                yield Escalated(self.attempts[-1], scored.agent, self._failure())
            yield from self._execute(scored)
            if self.success:
                break
        yield PatchReady(self.patch, self.attempts[-1])

    def decide_plan(self, plan: str | None) -> None:
        """The user's word on the winning plan, while the job waits at ``PlanReady``: None
        rejects it (nothing runs); the plan's text approves it; another text is the edited
        plan, which every attempt then follows (the memory keeps both)."""
        final = self.winner_event
        assert final is not None
        original = final.winner.bid.text
        if plan is None or not plan.strip():
            self.plan_status, self.approved_plan = "rejected", None
        elif plan.strip() == original.strip():
            self.plan_status, self.approved_plan = "approved", original
        else:
            self.plan_status, self.approved_plan = "edited", plan.strip()
        edited = self.approved_plan if self.plan_status == "edited" else None
        self.runner.memory.record_plan(self.auction_id, self.plan_status, edited)

    def _verify(self, box: SandboxLimits) -> TestsRan:
        """The job's tests on a fresh container that holds the snapshot plus the patch and
        nothing else, so that success means "this patch passes the tests": what the agent
        left outside the diff (a ``usercustomize.py`` in its home, a process, an ignored
        file) cannot forge the verdict, and the user applies exactly what was tested."""
        request = self.request
        command = request.test_command or ""
        image = self.runner.settings.sandbox.image
        with Workspace(request.snapshot, f"{self.auction_id}-verify", image, box) as fresh:
            if self.patch.strip():
                applied = fresh.apply(self.patch)
                if not applied.ok:
                    why = applied.output.strip()[-1500:]
                    return TestsRan(command, False, f"the work's patch does not apply: {why}")
            result = fresh.run(command)
        return TestsRan(command, result.ok, result.output[-2000:], self.changed_tests)

    def _changed_tests(self) -> tuple[str, ...]:
        """The job's tests the patch changes, and test-collection config it adds or changes
        (a new conftest.py can skip every test): none when the job is about tests."""
        request = self.request
        if request.kind != "coding" or is_about_tests(request.text) or not self.patch.strip():
            return ()
        try:
            written = patch_paths(request.root, self.patch)
        except RepoError:
            return ()  # a broken patch fails its verification anyway
        return tests_written(written, request.read_only)

    def _budget_left(self) -> float | None:
        if self.request.budget_usd is None:
            return None
        spent = (self.winner_event.auction_cost_usd if self.winner_event else 0.0) + (
            self.execution_cost_usd
        )
        return max(self.request.budget_usd - spent, 0.0)

    def _failure(self) -> str:
        stopped = self.stopped
        if self.changed_tests:
            return "it changed the job's tests: " + ", ".join(self.changed_tests)
        if self.tests_passed is False:
            return "the tests failed"
        if self.request.kind == "coding" and not self.patch.strip():
            return "it changed nothing"
        if stopped is not None and stopped.reason != "finished":
            return f"it stopped: {stopped.reason}"
        return "its answer did not cite lines that exist"

    def _execute(self, scored: ScoredBid) -> Generator[JobEvent, None, None]:
        request, runner = self.request, self.runner
        agent = next(a for a in runner.agents if a.name == scored.agent)
        self.attempts.append(agent.name)
        self.stopped, self.tests_passed, self.patch, self.changed_tests = None, None, b"", ()
        # the roster entry behind the agent (LiteLLMModel keeps it): whether it uses tool calls
        roster_entry = getattr(agent.model, "agent", None)
        task = task_for_agent(
            roster_entry,
            request.text,
            scored.bid.text if self.approved_plan is None else self.approved_plan,
            request.kind,
            request.test_command,
            request.repo_summary,
            request.read_only,
            request.context,
        )
        settings = runner.settings
        box = SandboxLimits.from_config(settings.sandbox)
        runner.memory.start_execution(self.auction_id, agent.name)
        try:
            with Workspace(request.snapshot, self.auction_id, settings.sandbox.image, box) as ws:
                steps = run_agent(
                    task,
                    agent.model,
                    SandboxEnvironment(ws),
                    runner.prompts,
                    AgentLimits(max_steps=request.max_steps, budget_usd=self._budget_left()),
                    native_tools=bool(getattr(roster_entry, "native_tools", False)),
                )
                for step in steps:
                    if isinstance(step, AgentStopped):
                        self.stopped = step
                        self.execution_cost_usd += step.cost_usd
                        self.execution_tokens += step.tokens
                        self.execution_usage += step.usage
                    yield step
                self._lap("execution")
                self.patch = ws.patch()
                self.changed_tests = self._changed_tests()
            if request.test_command:
                verdict = self._verify(box)
                self.tests_passed = verdict.passed
                yield verdict
            self._lap("tests")
        except (KeyboardInterrupt, GeneratorExit):
            runner.memory.record_execution(self.auction_id, agent.name, "interrupted")
            raise
        except Exception as error:  # a sandbox or provider failure: the record says so
            runner.memory.record_execution(
                self.auction_id, agent.name, "error", detail=f"{type(error).__name__}: {error}"
            )
            raise
        stopped = self.stopped
        assert stopped is not None  # run_agent always ends with AgentStopped
        runner.memory.record_execution(
            self.auction_id,
            agent.name,
            "success" if self.success else "failure",
            tests_passed=self.tests_passed,
            tokens=stopped.tokens,
            cost_usd=stopped.cost_usd,
            usage=stopped.usage,
            summary=stopped.summary,
            patch=self.patch,
            detail=(f"{stopped.reason}: {stopped.detail}" if stopped.detail else stopped.reason)
            + (
                f"; changed the job's tests: {', '.join(self.changed_tests)}"
                if self.changed_tests
                else ""
            ),
        )

    def apply(
        self,
        mode: Literal["worktree", "branch"],
        patch: bytes | None = None,
        allow_protected: Collection[str] = (),
    ) -> str:
        """Bring the patch (or the chosen part of it) to the repo; returns where it went.
        Protected files (host_files.py) go only where named in ``allow_protected``."""
        final = self.winner_event
        assert final is not None and self.executed_by is not None
        if mode == "branch" and self.request.base_in_worktree:
            raise RepoError(
                "this job built on the session's uncommitted work in your working tree: a "
                "branch from HEAD would not hold it, so nothing was applied",
                fix="apply it to the working tree, or commit that work and run the job again",
            )
        patch = self.patch if patch is None else patch
        agent = next(a for a in self.runner.agents if a.name == self.executed_by)
        model_id = str(getattr(getattr(agent.model, "agent", None), "model", agent.name))
        cost = final.auction_cost_usd + self.execution_cost_usd
        applied = apply_patch(
            self.request.root,
            patch,
            self.request.snapshot,
            mode=mode,
            branch=f"sale/{self.auction_id}",
            title=self.request.text,
            trailers={
                "Sale-Auction": self.auction_id,
                "Sale-Agent": agent.name,
                "Sale-Model": model_id,
                "Sale-Cost-USD": f"{cost:.8f}",
            },
            allow_protected=allow_protected,
        )
        self.runner.memory.record_application(
            self.auction_id, str(self.request.root), applied, patch
        )
        self.runner.memory.record_verdict(self.auction_id, "accepted")
        self.applied = applied.branch or "worktree"
        return self.applied

    def reject(self) -> None:
        """The user looked at the work and did not want it: negative feedback for routing."""
        self.runner.memory.record_verdict(self.auction_id, "rejected")

    def finished(self) -> JobFinished:
        final = self.winner_event
        return JobFinished(
            auction_id=self.auction_id,
            winner=final.winner.agent if final else None,
            executed_by=self.executed_by,
            success=self.success,
            tests_passed=self.tests_passed,
            applied=self.applied,
            patch_bytes=len(self.patch),
            auction_cost_usd=final.auction_cost_usd if final else 0.0,
            execution_cost_usd=self.execution_cost_usd,
            auction_tokens=final.auction_tokens if final else 0,
            execution_tokens=self.execution_tokens,
            auction_computed_tokens=final.usage.computed_tokens if final else 0,
            auction_cached_tokens=final.usage.cached_tokens if final else 0,
            execution_computed_tokens=self.execution_usage.computed_tokens,
            execution_cached_tokens=self.execution_usage.cached_tokens,
            seconds=dict(self.seconds),
            changed_tests=self.changed_tests,
            session_id=self.request.session_id,
            plan_status=self.plan_status,
        )
