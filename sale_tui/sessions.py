"""A session's next job: where it starts from, and what it is told of the jobs before it.

A session is a thread of jobs on one repo (rows in ``memory/sessions.py``). Accepted work
accumulates: a job applied to a branch is the next job's base (its snapshot is that branch's
commit, and its own work becomes a branch on top of it), until that commit is in HEAD's
history (the user merged it or checked it out), when HEAD is the base again; a job applied to
the working tree leaves its work there, so the next snapshot includes uncommitted changes.
Rejected, failed and undone work is not in the base; the next job is told so.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sale_tui import patches
from sale_tui.errors import UsageError
from sale_tui.memory.sessions import SessionJob, SessionRecords
from sale_tui.repo import branch_tip, in_head_history, in_worktree, where_head_is

CONTEXT_CHARS = 3000
"""The session part of the prompts (about 750 tokens); older jobs shrink to a line first."""
DIFF_CHARS = 1200
REQUEST_CHARS = 300
ANSWER_CHARS = 600


@dataclass(frozen=True)
class Base:
    """What a job's sandbox starts from."""

    ref: str
    """``HEAD``, or the commit of the session's last branch."""
    with_uncommitted: bool | None
    """True: the session's work is uncommitted in the working tree, so the snapshot must hold
    it; None: the user decides (no earlier work there)."""
    label: str
    """Said on screen and in ``do``'s output: ``master at 1a2b3c4d``, ``branch sale/… (job 1's
    work) …``."""


def session_base(root: Path, jobs: Sequence[SessionJob]) -> Base:
    """The base for the session's next job: the last applied, not undone work, where it is."""
    here = where_head_is(root)
    applied = [(n, job) for n, job in enumerate(jobs, 1) if job.applied_mode]
    if not applied:
        return Base("HEAD", None, here)
    number, last = applied[-1]
    if last.applied_mode == "worktree":
        if in_worktree(root, last.patch):
            label = f"your working tree ({here}, with job {number}'s uncommitted changes)"
            return Base("HEAD", True, label)
        # thrown away (or edited past recognition): the user decides about the tree as it is
        return Base("HEAD", None, f"{here} (job {number}'s changes are no longer in the tree)")
    branch = last.applied_branch or ""
    # the branch as it is now: deleted means the work was discarded (its commit may linger
    # until git collects it); moved on means the user's commits on it belong to the base
    tip = branch_tip(root, branch) if branch else None
    if tip is None:
        return Base("HEAD", None, f"{here} (job {number}'s branch {branch or '?'} is gone)")
    if in_head_history(root, tip):
        return Base("HEAD", None, f"{here} (it holds job {number}'s work)")
    return Base(tip, False, f"branch {branch} at {tip[:8]} (job {number}'s work)")


def _cut(text: str, limit: int) -> str:
    text = " ".join(text.split()) if limit <= REQUEST_CHARS else text.strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def outcome_line(job: SessionJob) -> str:
    """One line: who did it, how it ended, where the work went."""
    if job.auction_status in (None, "running", "interrupted") and job.status is None:
        return "interrupted before any work"
    if job.auction_status == "failed":
        return "no agent won the auction; nothing was done"
    if job.plan_status == "rejected":
        return "the user rejected the plan; nothing was done"
    agent = job.agent or job.winner
    tests = {True: "tests passed", False: "tests failed", None: ""}[job.tests_passed]
    if job.status == "success":
        parts = [f"done by {agent}", tests]
    elif job.status == "failure":
        why = tests if job.tests_passed is False else ""
        if not why and job.kind == "coding" and not job.patch.strip():
            why = "it changed nothing"
        parts = [f"failed ({agent})", why]
    else:
        parts = [f"{job.status or 'not run'} ({agent})"]
    if job.applied_mode == "branch":
        parts.append(f"accepted: on branch {job.applied_branch}")
    elif job.applied_mode == "worktree":
        parts.append("accepted: applied to the working tree")
    elif job.verdict in ("rejected", "undone"):
        parts.append(f"{job.verdict} by the user: not in the repo")
    elif job.kind == "coding" and job.patch.strip():
        parts.append("not applied: not in the repo")
    return ", ".join(part for part in parts if part)


def _changes(patch: bytes) -> str:
    """The diff, or the files it touches with their line counts when it is long."""
    text = patch.decode(errors="replace").strip()
    if len(text) <= DIFF_CHARS:
        return text
    lines = []
    for file in patches.split(patch):
        added = sum(hunk.count(b"\n+") for hunk in file.hunks)
        removed = sum(hunk.count(b"\n-") for hunk in file.hunks)
        lines.append(f"  {file.path}: +{added} -{removed}")
    return "(the diff is long; the files it changed)\n" + "\n".join(lines)


def _entry(number: int, job: SessionJob, detailed: bool) -> str:
    line = f'{number}. "{_cut(job.text, REQUEST_CHARS)}" ({job.kind}): {outcome_line(job)}.'
    if not detailed:
        return line
    body = []
    if job.kind == "research" and job.summary.strip():
        body.append("Answer: " + _cut(job.summary, ANSWER_CHARS))
    elif job.summary.strip() and job.applied_mode:
        # only of accepted work: a failed agent's last words ("README.md") were copied
        # by the next job's agents as what to work on
        body.append("The agent's summary: " + _cut(job.summary, ANSWER_CHARS))
    if job.applied_mode and job.patch.strip():
        body.append("Its change:\n" + _changes(job.patch))
    return "\n".join([line, *body])


def session_context(jobs: Sequence[SessionJob], budget: int = CONTEXT_CHARS) -> str:
    """What the session's next job is told: each earlier request, how it ended, its answer
    or its change. Within ``budget`` characters: the oldest jobs shrink to one line first,
    then the oldest lines go."""
    if not jobs:
        return ""
    head = (
        "Earlier jobs in this session (the job below follows them; accepted work is already in "
        "the repository you see):"
    )
    detailed = [True] * len(jobs)

    def text() -> str:
        entries = [_entry(n, job, detailed[n - 1]) for n, job in enumerate(jobs, 1)]
        return "\n".join([head, *entries])

    for index in range(len(jobs)):
        if len(text()) <= budget:
            break
        detailed[index] = False
    whole = text()
    if len(whole) <= budget:
        return whole
    lines = whole.splitlines()[1:]
    while lines and len("\n".join([head, "…", *lines])) > budget:
        lines.pop(0)
    return "\n".join([head, "…", *lines])


def job_context(instructions: str, session: str) -> str:
    """The context block the prompts carry besides the repo summary."""
    return "\n\n".join(part for part in (instructions, session) if part)


def pick_session(
    memory: SessionRecords, root: Path, *, resume: str | None, continue_last: bool, title: str
) -> tuple[str, list[SessionJob], bool]:
    """The session a job joins: ``resume`` (an id or prefix), the repo's latest
    (``continue_last``), else a new one titled with the request. Returns (id, its jobs so far,
    whether it is new)."""
    repo = str(root)
    found = None
    if resume:
        found = memory.session(resume)
        if found is None:
            raise UsageError(
                f"no session '{resume}' in the memory",
                fix="`sale-tui history --sessions` lists them",
            )
        if found["repo"] != repo:
            raise UsageError(
                f"session {found['id']} is on {found['repo']}, not {repo}",
                fix=f"run it there: --repo {found['repo']}",
            )
    elif continue_last:
        found = memory.latest_session(repo)
    if found is None:
        return memory.new_session(repo, title), [], True
    return found["id"], memory.session_jobs(found["id"]), False
