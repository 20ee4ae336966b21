"""``sale-tui do``: auction, execution in the sandbox, tests, diff, apply, summary.

Exit codes: 0 success, 1 job failed, 2 usage/config error, 3 sandbox/provider unavailable,
130 interrupted. ``--json`` prints every event (auction and execution) as JSON lines.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from contextlib import closing
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import click
import typer

from sale_tui.cli_common import (
    AuctionMode,
    announce_repo_config,
    ask,
    check_auction_mode,
    err,
    out,
    require_job,
)
from sale_tui.cli_sandbox import AllowProtected, consent_to_protected, print_patch
from sale_tui.errors import UsageError
from sale_tui.render import (
    changed_tests_warning,
    job_event_line,
    job_started_line,
    safe,
    tokens_split,
)

if TYPE_CHECKING:
    from sale_tui.job_events import PlanReady
    from sale_tui.pipeline import JobPipeline

APPLY_MODES = ("ask", "branch", "worktree", "no")


def _emit(as_json: bool, name: str, line: str | None, **data: Any) -> None:
    if as_json:
        print(json.dumps({"event": name, **data}, default=str), flush=True)
    elif line:
        out.print(line)


def _choose_apply(apply: str, yes: bool, on_branch: bool) -> str:
    """``on_branch``: the job built on a session's branch, so its work can only go to a
    branch on top of it (the working tree holds another commit)."""
    if apply != "ask":
        return apply
    if yes:
        return "branch" if on_branch else "worktree"
    if not sys.stdin.isatty():
        err.print("not applied: no terminal to ask; use --apply worktree|branch or --yes")
        return "no"
    if on_branch:
        answer = str(
            ask("Apply the changes to a branch on top of the session's? [y/n]", default="n")
        )
        return "branch" if answer.strip().lower()[:1] == "y" else "no"
    answer = str(ask("Apply the changes? [w]orking tree, [b]ranch, [n]o", default="n"))
    return {"w": "worktree", "b": "branch"}.get(answer.strip().lower()[:1], "no")


def do_command(
    job: Annotated[str, typer.Argument(help="What to do: a change or a question.")],
    kind: Annotated[
        str | None, typer.Option(help="coding or research (default: inferred).")
    ] = None,
    agents: Annotated[str | None, typer.Option(help="Comma-separated agent names.")] = None,
    budget: Annotated[float | None, typer.Option(help="$ cap for this job.")] = None,
    apply: Annotated[str, typer.Option(help="ask, branch, worktree or no.")] = "ask",
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask (scripts).")] = False,
    repo: Annotated[Path, typer.Option(help="The git repository.")] = Path(),
    with_uncommitted: Annotated[
        bool | None,
        typer.Option(
            "--with-uncommitted/--head-only", help="Include uncommitted changes (asked if dirty)."
        ),
    ] = None,
    max_steps: Annotated[int, typer.Option(min=1, help="Step limit of the winner.")] = 20,
    escalate: Annotated[
        int,
        typer.Option(
            min=0, help="If the work fails, let up to N pricier agents try (the largest last)."
        ),
    ] = 1,
    as_json: Annotated[bool, typer.Option("--json", help="Emit JSON lines.")] = False,
    allow_protected: AllowProtected = None,
    auction: AuctionMode = None,
    continue_session: Annotated[
        bool,
        typer.Option(
            "--continue",
            "-c",
            help="A follow-up in this repo's latest session: it sees the "
            "earlier jobs and starts from their accepted work.",
        ),
    ] = False,
    session: Annotated[
        str | None, typer.Option(help="A follow-up in this session (id or prefix).")
    ] = None,
    approve_plan: Annotated[
        bool | None,
        typer.Option(
            "--approve-plan/--no-approve-plan",
            help="Show the winning plan and wait: approve, edit or reject (auction.approve_plan).",
        ),
    ] = None,
) -> None:
    """Run a job: the auction picks an agent, which works in a sandbox; review and apply.
    Each `do` starts a session; --continue or --session adds a follow-up to one."""
    from sale_tui.agents import AgentStopped, StepRan
    from sale_tui.cli_auction import stream_auction
    from sale_tui.cli_live import LiveWait
    from sale_tui.cli_sandbox import choose_snapshot_mode
    from sale_tui.job_events import JobStarted, PlanReady
    from sale_tui.jobs import context_budget, infer_kind
    from sale_tui.pipeline import Escalated, JobPipeline, JobRequest, PatchReady, TestsRan
    from sale_tui.repo import open_repo
    from sale_tui.runner import build_runner
    from sale_tui.sandboxes import status
    from sale_tui.sessions import pick_session, session_base

    require_job(job)
    check_auction_mode(auction)
    if apply not in APPLY_MODES:
        raise UsageError(f"unknown --apply '{apply}'", fix="use ask, branch, worktree or no")
    kind = kind or infer_kind(job)
    if kind not in ("coding", "research"):
        raise UsageError(f"unknown job kind '{kind}'", fix="use --kind coding or research")
    root = Path(open_repo(repo.resolve()).working_dir)
    if approve_plan and (as_json or not sys.stdin.isatty()):
        raise UsageError(
            "--approve-plan asks on the terminal", fix="run it in a terminal, without --json"
        )
    interactive = not as_json and sys.stdin.isatty()
    sandbox = status()
    if not sandbox.get("daemon") or not sandbox.get("built"):
        from sale_tui.errors import SandboxError

        raise SandboxError(
            "the sandbox is not ready (Docker down or image not built)",
            fix="sale-tui sandbox status",
        )
    names = [n.strip() for n in agents.split(",") if n.strip()] if agents else None
    announce_repo_config(root)
    runner = build_runner(names, root)
    require_job(job, runner.agents)
    session_id, earlier, _ = pick_session(
        runner.memory, root, resume=session, continue_last=continue_session, title=job
    )
    base = session_base(root, earlier)
    if with_uncommitted is None and base.with_uncommitted is None:
        # asked only when neither the flag nor the session's own uncommitted work decides
        with_uncommitted = choose_snapshot_mode(root, None)
    request = JobRequest.for_repo(
        job,
        kind,  # type: ignore[arg-type]
        root,
        with_uncommitted=with_uncommitted,
        budget_usd=budget,
        max_steps=max_steps,
        escalate=escalate,
        auction_mode=auction,
        session_id=session_id,
        session_jobs=earlier,
        context_chars=context_budget(runner.agents),
        base=base,
        # auction.approve_plan from the config asks only where there is someone to ask
        approve_plan=(runner.settings.auction.approve_plan and interactive)
        if approve_plan is None
        else approve_plan,
    )
    started = JobStarted(session_id, len(earlier) + 1, request.base, request.instruction_files)
    _emit(as_json, "JobStarted", job_started_line(started), **dataclasses.asdict(started))
    pipeline = JobPipeline(runner, request)
    events = pipeline.run()
    # The auction part prints as `sale-tui auction` does; stream_auction stops at its end.
    stream_auction(runner, events, as_json, stop_at_winner=True)
    if pipeline.winner_event is None:
        sys.exit(1)
    waiting = LiveWait(out)  # on a terminal: a live line while each step runs
    agent, step = pipeline.winner_event.winner.agent, 1
    with closing(events):
        try:
            if not as_json:
                waiting.show(agent, f"on step {step}")
            for event in events:
                waiting.stop()  # no live line while printing or asking
                if isinstance(event, PlanReady):
                    pipeline.decide_plan(_ask_about_plan(event))
                elif isinstance(event, StepRan | AgentStopped | TestsRan | Escalated):
                    line = job_event_line(event)
                    _emit(as_json, type(event).__name__, line, **dataclasses.asdict(event))
                elif isinstance(event, PatchReady):
                    _review(pipeline, apply, yes, as_json, allow_protected)
                if isinstance(event, Escalated):
                    agent, step = event.to_agent, 1
                elif isinstance(event, StepRan):
                    step = event.step + 1
                if not as_json and isinstance(event, PlanReady | StepRan | Escalated):
                    waiting.show(agent, f"on step {step}")
                elif not as_json and isinstance(event, AgentStopped):
                    waiting.show(agent, "waiting for the tests")
        finally:
            waiting.stop()
    _finish(pipeline, as_json)


def _ask_about_plan(event: PlanReady) -> str | None:
    """The winning plan on the terminal: approve it (its text), edit it in $EDITOR (the new
    text) or reject it (None)."""
    out.print(f"\n[bold]plan by {safe(event.agent)}[/] (waits for your word)\n{safe(event.plan)}")
    plan = event.plan
    while True:
        answer = str(ask("Run this plan? [a]pprove, [e]dit, [r]eject", default="a"))
        choice = answer.strip().lower()[:1]
        if choice != "e":
            return plan if choice in ("a", "y", "") else None
        edited = click.edit(plan)  # $EDITOR; None when closed without saving: ask again
        if edited is not None:
            plan = edited
            out.print(f"[bold]your plan[/]\n{safe(plan)}")


def _review(
    pipeline: JobPipeline, apply: str, yes: bool, as_json: bool, allow_protected: list[str] | None
) -> None:
    """Research: show the answer. Coding: show the diff and apply it as asked."""
    stopped = pipeline.stopped
    assert stopped is not None  # PatchReady comes only after an agent ran
    if pipeline.request.kind == "research":
        count = len(stopped.citations)
        checked = f"{count} citation{'' if count == 1 else 's'} checked" + (
            f", [red]{len(stopped.bad_citations)} wrong: "
            f"{safe('; '.join(stopped.bad_citations))}[/]"
            if stopped.bad_citations
            else ""
        )
        _emit(
            as_json,
            "Answer",
            f"\n[bold]answer[/] ({checked})\n{safe(stopped.summary)}",
            answer=stopped.summary,
            citations=stopped.citations,
            bad_citations=stopped.bad_citations,
        )
        return
    if not pipeline.patch.strip():
        return
    if not as_json:
        print_patch(pipeline.patch)
    mode = _choose_apply(apply, yes, not pipeline.request.snapshot.of_head)
    if mode in ("worktree", "branch"):
        asking = apply == "ask" and not yes and sys.stdin.isatty()
        patch, allowed = consent_to_protected(
            pipeline.request.root, pipeline.patch, allow_protected, ask=asking
        )
        if patch.strip():
            pipeline.apply("branch" if mode == "branch" else "worktree", patch, allowed)
        else:
            err.print("nothing left to apply")
    elif apply == "ask" and not yes and sys.stdin.isatty():
        pipeline.reject()  # the user saw the diff and said no


def _finish(pipeline: JobPipeline, as_json: bool) -> None:
    from sale_tui.refit import refit_if_due

    done = pipeline.finished()
    tests = {True: "passed", False: "failed", None: "n/a"}[done.tests_passed]
    _emit(
        as_json,
        "JobFinished",
        f"[bold]{'done' if done.success else 'failed'}[/] · winner {done.winner}"
        + (f" (work by {done.executed_by})" if done.executed_by != done.winner else "")
        + f" · tests "
        f"{tests} · auction ${done.auction_cost_usd:.7f}, tokens "
        + tokens_split(
            done.auction_tokens, done.auction_computed_tokens, done.auction_cached_tokens
        )
        + f" + execution ${done.execution_cost_usd:.7f}, tokens "
        + tokens_split(
            done.execution_tokens, done.execution_computed_tokens, done.execution_cached_tokens
        )
        + " · "
        + " + ".join(f"{s:.0f} s {phase}" for phase, s in done.seconds.items())
        + (f" · applied to {done.applied}" if done.applied else "")
        + (" · plan rejected: nothing ran" if done.plan_status == "rejected" else "")
        + (f" · session {done.session_id} (`do --continue` follows up)" if done.session_id else "")
        + (f"\n{changed_tests_warning(done.changed_tests)}" if done.changed_tests else ""),
        **dataclasses.asdict(done),
    )
    refit = refit_if_due(pipeline.runner.memory, pipeline.runner.settings)
    if refit is not None:
        _emit(
            as_json, "WeightsRefitted", f"[dim]{safe(refit.line())}[/]", **dataclasses.asdict(refit)
        )
    if not done.success:
        sys.exit(1)
