"""``sale-tui do``: auction, execution in the sandbox, tests, diff, apply, summary.

Exit codes: 0 success, 1 job failed, 2 usage/config error, 3 sandbox/provider unavailable,
130 interrupted. ``--json`` prints every event (auction and execution) as JSON lines.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from sale_tui.cli_common import err, out
from sale_tui.errors import UsageError

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
    answer = typer.prompt("Apply the changes? [w]orking tree, [b]ranch, [n]o", default="n")
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
    as_json: Annotated[bool, typer.Option("--json", help="Emit JSON lines.")] = False,
) -> None:
    """Run a job: the auction picks an agent, which works in a sandbox; review and apply."""
    from sale_tui.agents import AgentLimits, AgentStopped, AgentTask, StepRan, run_agent
    from sale_tui.auction import Job
    from sale_tui.auction.events import WinnerChosen
    from sale_tui.cli_auction import build_runner, stream_auction
    from sale_tui.cli_sandbox import choose_snapshot_mode
    from sale_tui.jobs import detect_test_command, infer_kind
    from sale_tui.repo import apply_patch, open_repo, snapshot, summarize
    from sale_tui.sandboxes import SandboxLimits, Workspace, status
    from sale_tui.sandboxes.environment import SandboxEnvironment

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
    snap = snapshot(root, with_uncommitted=choose_snapshot_mode(root, with_uncommitted))
    names = [n.strip() for n in agents.split(",") if n.strip()] if agents else None
    runner = build_runner(names)
    settings = runner.settings
    test_command = detect_test_command(root) if kind == "coding" else None
    summary = summarize(root)
    clock = time.monotonic()
    seconds: dict[str, float] = {}  # wall time per phase, for the summary

    def lap(phase: str) -> None:
        nonlocal clock
        seconds[phase] = round(time.monotonic() - clock, 2)
        clock = time.monotonic()

    final, _ = stream_auction(
        runner,
        runner.run(Job(job, kind, summary), budget_usd=budget, repo=str(root)),
        as_json,
    )
    lap("auction")
    if not isinstance(final, WinnerChosen):
        sys.exit(1)
    auction_id = runner.auction_ids[-1]
    winner = next(a for a in runner.agents if a.name == final.winner.agent)
    # the roster entry behind the winning agent (LiteLLMModel keeps it): model id, tool calls
    roster_entry = getattr(winner.model, "agent", None)
    left = None if budget is None else max(budget - final.auction_cost_usd, 0.0)
    limits = AgentLimits(max_steps=max_steps, budget_usd=left)
    task = AgentTask(job, final.winner.bid.text, kind, test_command, summary)
    box_limits = SandboxLimits.from_config(settings.sandbox)
    stopped: AgentStopped | None = None
    tests_passed: bool | None = None
    try:
        with Workspace(snap, auction_id, settings.sandbox.image, box_limits) as ws:
            for step in run_agent(
                task,
                winner.model,
                SandboxEnvironment(ws),
                runner.prompts,
                limits,
                native_tools=bool(getattr(roster_entry, "native_tools", False)),
            ):
                if isinstance(step, StepRan):
                    tool = step.action.tool if step.action else "?"
                    _emit(
                        as_json,
                        "StepRan",
                        f"  step {step.step} [cyan]{tool}[/] "
                        f"{(step.action.arg if step.action else '')[:60]} → "
                        f"{step.observation.splitlines()[0][:70] if step.observation else ''}",
                        **dataclasses.asdict(step),
                    )
                else:
                    stopped = step
                    _emit(
                        as_json,
                        "AgentStopped",
                        f"[bold]agent stopped[/]: {step.reason} after {step.steps} steps",
                        **dataclasses.asdict(step),
                    )
            lap("execution")
            if test_command:
                result = ws.run(test_command)
                tests_passed = result.ok
                _emit(
                    as_json,
                    "TestsRan",
                    f"tests {'[green]passed' if result.ok else '[red]failed'}[/] ({test_command})",
                    command=test_command,
                    passed=result.ok,
                    output=result.output[-2000:],
                )
            patch = ws.patch()
            lap("tests")
    except KeyboardInterrupt:
        runner.memory.record_execution(auction_id, winner.name, "interrupted")
        raise
    assert stopped is not None
    success = tests_passed if tests_passed is not None else stopped.reason == "finished"
    if kind == "research":  # an answer counts when every citation exists in the repo
        success = stopped.reason == "finished" and bool(stopped.citations)
        success = success and not stopped.bad_citations
    runner.memory.record_execution(
        auction_id,
        winner.name,
        "success" if success else "failure",
        tests_passed=tests_passed,
        tokens=stopped.tokens,
        cost_usd=stopped.cost_usd,
        detail=f"{stopped.reason}: {stopped.detail}" if stopped.detail else stopped.reason,
    )
    applied_where = None
    if kind == "research":
        count = len(stopped.citations)
        checked = f"{count} citation{'' if count == 1 else 's'} checked" + (
            f", [red]{len(stopped.bad_citations)} wrong: {'; '.join(stopped.bad_citations)}[/]"
            if stopped.bad_citations
            else ""
        )
        _emit(
            as_json,
            "Answer",
            f"\n[bold]answer[/] ({checked})\n{stopped.summary}",
            answer=stopped.summary,
            citations=stopped.citations,
            bad_citations=stopped.bad_citations,
        )
    elif patch.strip():
        if not as_json:
            out.print(patch.decode(errors="replace"), markup=False, highlight=False)
        mode = _choose_apply(apply, yes)
        if mode in ("worktree", "branch"):
            cost = final.auction_cost_usd + stopped.cost_usd
            model_id = str(getattr(roster_entry, "model", winner.name))
            applied = apply_patch(
                root,
                patch,
                snap,
                mode=mode,  # type: ignore[arg-type]
                branch=f"sale/{auction_id}",
                title=job,
                trailers={
                    "Sale-Auction": auction_id,
                    "Sale-Agent": winner.name,
                    "Sale-Model": model_id,
                    "Sale-Cost-USD": f"{cost:.8f}",
                },
            )
            runner.memory.record_application(auction_id, str(root), applied, patch)
            runner.memory.record_verdict(auction_id, "accepted")
            applied_where = applied.branch or "worktree"
    _emit(
        as_json,
        "JobFinished",
        f"[bold]{'done' if success else 'failed'}[/] · winner {winner.name} · tests "
        f"{'passed' if tests_passed else 'failed' if tests_passed is False else 'n/a'} · "
        f"auction ${final.auction_cost_usd:.7f} ({final.auction_tokens} tokens) + execution "
        f"${stopped.cost_usd:.7f} ({stopped.tokens} tokens) · "
        + " + ".join(f"{s:.0f} s {phase}" for phase, s in seconds.items())
        + (f" · applied to {applied_where}" if applied_where else ""),
        auction_id=auction_id,
        success=success,
        tests_passed=tests_passed,
        applied=applied_where,
        patch_bytes=len(patch),
        auction_cost_usd=final.auction_cost_usd,
        execution_cost_usd=stopped.cost_usd,
        auction_tokens=final.auction_tokens,
        execution_tokens=stopped.tokens,
        seconds=seconds,
    )
    if not success:
        sys.exit(1)
