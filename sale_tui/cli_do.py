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
from sale_tui.render import changed_tests_warning, job_event_line, safe

if TYPE_CHECKING:
    from sale_tui.pipeline import JobPipeline

APPLY_MODES = ("ask", "branch", "worktree", "no")


def _emit(as_json: bool, name: str, line: str | None, **data: Any) -> None:
    if as_json:
        print(json.dumps({"event": name, **data}, default=str), flush=True)
    elif line:
        out.print(line)


def _choose_apply(apply: str, yes: bool) -> str:
    if apply != "ask":
        return apply
    if yes:
        return "worktree"
    if not sys.stdin.isatty():
        err.print("not applied: no terminal to ask; use --apply worktree|branch or --yes")
        return "no"
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
) -> None:
    """Run a job: the auction picks an agent, which works in a sandbox; review and apply."""
    from sale_tui.agents import AgentStopped, StepRan
    from sale_tui.cli_auction import stream_auction
    from sale_tui.cli_sandbox import choose_snapshot_mode
    from sale_tui.jobs import infer_kind
    from sale_tui.pipeline import Escalated, JobPipeline, JobRequest, PatchReady, TestsRan
    from sale_tui.repo import open_repo
    from sale_tui.runner import build_runner
    from sale_tui.sandboxes import status

    require_job(job)
    check_auction_mode(auction)
    if apply not in APPLY_MODES:
        raise UsageError(f"unknown --apply '{apply}'", fix="use ask, branch, worktree or no")
    kind = kind or infer_kind(job)
    if kind not in ("coding", "research"):
        raise UsageError(f"unknown job kind '{kind}'", fix="use --kind coding or research")
    root = Path(open_repo(repo.resolve()).working_dir)
    sandbox = status()
    if not sandbox.get("daemon") or not sandbox.get("built"):
        from sale_tui.errors import SandboxError

        raise SandboxError(
            "the sandbox is not ready (Docker down or image not built)",
            fix="sale-tui sandbox status",
        )
    request = JobRequest.for_repo(
        job,
        kind,  # type: ignore[arg-type]
        root,
        with_uncommitted=choose_snapshot_mode(root, with_uncommitted),
        budget_usd=budget,
        max_steps=max_steps,
        escalate=escalate,
        auction_mode=auction,
    )
    names = [n.strip() for n in agents.split(",") if n.strip()] if agents else None
    announce_repo_config(root)
    runner = build_runner(names, root)
    require_job(job, runner.agents)
    pipeline = JobPipeline(runner, request)
    events = pipeline.run()
    # The auction part prints as `sale-tui auction` does; stream_auction stops at its end.
    stream_auction(runner, events, as_json, stop_at_winner=True)
    if pipeline.winner_event is None:
        sys.exit(1)
    with closing(events):
        for event in events:
            if isinstance(event, StepRan | AgentStopped | TestsRan | Escalated):
                line = job_event_line(event)
                _emit(as_json, type(event).__name__, line, **dataclasses.asdict(event))
            elif isinstance(event, PatchReady):
                _review(pipeline, apply, yes, as_json, allow_protected)
    _finish(pipeline, as_json)


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
    mode = _choose_apply(apply, yes)
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
    done = pipeline.finished()
    tests = {True: "passed", False: "failed", None: "n/a"}[done.tests_passed]
    _emit(
        as_json,
        "JobFinished",
        f"[bold]{'done' if done.success else 'failed'}[/] · winner {done.winner}"
        + (f" (work by {done.executed_by})" if done.executed_by != done.winner else "")
        + f" · tests "
        f"{tests} · auction ${done.auction_cost_usd:.7f} ({done.auction_tokens} tokens) + "
        f"execution ${done.execution_cost_usd:.7f} ({done.execution_tokens} tokens) · "
        + " + ".join(f"{s:.0f} s {phase}" for phase, s in done.seconds.items())
        + (f" · applied to {done.applied}" if done.applied else "")
        + (f"\n{changed_tests_warning(done.changed_tests)}" if done.changed_tests else ""),
        **dataclasses.asdict(done),
    )
    if not done.success:
        sys.exit(1)
