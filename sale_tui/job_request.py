"""A job as the front ends ask for it: the text, the snapshot of where the session's work
stands, and everything the prompts and the verdict need about the repo."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from sale_tui.instructions import BUDGET_CHARS, project_instructions
from sale_tui.jobs import MAX_CONTEXT_CHARS, detect_test_command, protected_tests
from sale_tui.memory.sessions import SessionJob
from sale_tui.repo import Snapshot, is_dirty, snapshot, summarize
from sale_tui.sessions import Base, job_context, session_base, session_context


@dataclass(frozen=True)
class JobRequest:
    text: str
    kind: Literal["coding", "research"]
    root: Path
    snapshot: Snapshot
    repo_summary: str
    test_command: str | None = None
    budget_usd: float | None = None
    max_steps: int = 20
    escalate: int = 0
    """When the work fails, hand the job to up to this many further bids, in score order."""
    read_only: tuple[str, ...] = ()
    """The job's tests: read-only to the agent, and a patch that changes them never succeeds."""
    auction_mode: str | None = None
    """``auto``, ``always`` or ``never`` (``do --auction``); None: ``auction.mode``."""
    session_id: str | None = None
    context: str = ""
    """What every prompt carries besides the repo summary: the project instructions and the
    session so far (``sessions.job_context``)."""
    base: str = ""
    """Where the snapshot was taken, as the user is told (``sessions.Base.label``)."""
    instruction_files: tuple[str, ...] = ()
    approve_plan: bool = False
    """Stop after the auction with ``PlanReady`` until the front end decides (``decide_plan``)."""
    base_in_worktree: bool = False
    """The base holds a session's uncommitted work: a branch from HEAD would drop it, so the
    work can only go to the working tree."""

    @classmethod
    def for_repo(
        cls,
        text: str,
        kind: Literal["coding", "research"],
        root: Path,
        *,
        with_uncommitted: bool | None,
        budget_usd: float | None = None,
        max_steps: int = 20,
        escalate: int = 0,
        auction_mode: str | None = None,
        session_id: str | None = None,
        session_jobs: Sequence[SessionJob] = (),
        approve_plan: bool = False,
        context_chars: int = MAX_CONTEXT_CHARS,
        base: Base | None = None,
    ) -> JobRequest:
        """The job as both front ends build it: the snapshot of where the session's work
        stands (``sessions.session_base``; ``with_uncommitted`` applies when that is HEAD, and
        None leaves it to the base: the session's uncommitted work goes in, else HEAD only),
        the repo summary, the project instructions and the session so far, and, for coding,
        the test command and the test files that are read-only. ``context_chars``: what the
        instructions and the session may take together (``jobs.context_budget``); ``base``:
        ``session_base(root, session_jobs)`` when the caller has it already."""
        base = base or session_base(root, session_jobs)
        if base.ref != "HEAD":
            code = snapshot(root, ref=base.ref)
        else:
            # None: as the base says (the session's own uncommitted work goes in), else HEAD
            include = base.with_uncommitted if with_uncommitted is None else with_uncommitted
            code = snapshot(root, with_uncommitted=bool(include))
        label = base.label
        if base.with_uncommitted is None and is_dirty(root):
            label += (
                " with your uncommitted changes"
                if code.with_uncommitted
                else " (your uncommitted changes are left out)"
            )
        instructions = project_instructions(root, min(BUDGET_CHARS, int(context_chars * 0.4)))
        session_chars = max(context_chars - len(instructions.text), 600)
        coding = kind == "coding"
        return cls(
            text,
            kind,
            root,
            code,
            summarize(root, base.ref),  # the tree the sandbox holds
            detect_test_command(root) if coding else None,
            budget_usd,
            max_steps,
            escalate,
            protected_tests(code.paths(), text) if coding else (),
            auction_mode,
            session_id,
            job_context(instructions.text, session_context(session_jobs, session_chars)),
            label,
            instructions.files,
            approve_plan,
            base.with_uncommitted is True and code.with_uncommitted,
        )
