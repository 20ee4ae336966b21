"""What a job reports besides the auction's and the agent's own events: the tests, the patch,
an escalation, the summary. Plain dataclasses, apart from the pipeline that makes them, so that
the front ends can draw them without importing git, Docker or the memory (the TUI's first
paint depends on it)."""

from __future__ import annotations

from dataclasses import dataclass


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


__all__ = ["Escalated", "JobFinished", "PatchReady", "TestsRan"]
