"""What a job reports besides the auction's and the agent's own events: the tests, the patch,
an escalation, the summary. Plain dataclasses, apart from the pipeline that makes them, so that
the front ends can draw them without importing git, Docker or the memory (the TUI's first
paint depends on it)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class JobStarted:
    """Said before the auction: the session, the job's place in it, and where its sandbox
    starts from (so the user always sees the base)."""

    session_id: str | None
    number: int
    """1 for a session's first job."""
    base: str
    instruction_files: tuple[str, ...] = ()


@dataclass(frozen=True)
class PlanReady:
    """The auction is over and the job waits for the user's word on the winner's plan
    (``JobPipeline.decide_plan``): approve, edit or reject; nothing ran yet."""

    agent: str
    plan: str


@dataclass(frozen=True)
class TestsRan:
    __test__ = False  # not a pytest test class, despite the name

    command: str
    passed: bool
    output: str
    changed_tests: tuple[str, ...] = ()
    """The job's protected test files the work changed anyway: never a success."""


@dataclass(frozen=True)
class PatchReady:
    patch: bytes
    """``git diff --binary`` of the sandbox against the snapshot; empty when nothing changed."""
    agent: str


@dataclass(frozen=True)
class Escalated:
    """The work of ``from_agent`` failed; the job goes to a pricier agent (the largest last)."""

    from_agent: str
    to_agent: str
    reason: str


@dataclass(frozen=True)
class JobFinished:
    auction_id: str
    winner: str | None
    executed_by: str | None
    """The agent whose work is the result: the winner, or the last one escalated to."""
    success: bool
    tests_passed: bool | None
    applied: str | None
    """``worktree``, the branch name, or None when nothing reached the repo."""
    patch_bytes: int
    auction_cost_usd: float
    execution_cost_usd: float
    auction_tokens: int
    execution_tokens: int
    seconds: dict[str, float]
    """Wall time per phase: auction, execution, tests."""
    changed_tests: tuple[str, ...] = ()
    """Protected test files the work changed (then ``success`` is False)."""
    session_id: str | None = None
    plan_status: str | None = None
    """``approved``, ``edited`` or ``rejected`` when the plan waited for the user."""
    auction_computed_tokens: int = 0
    """Of ``auction_tokens``: prompt tokens not read from a cache, plus generated tokens."""
    auction_cached_tokens: int = 0
    """Of ``auction_tokens``: prompt tokens read from a prompt cache."""
    execution_computed_tokens: int = 0
    execution_cached_tokens: int = 0


__all__ = ["Escalated", "JobFinished", "JobStarted", "PatchReady", "PlanReady", "TestsRan"]
