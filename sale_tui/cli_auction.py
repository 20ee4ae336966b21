"""``sale-tui auction``: run the strategy auction for a job and show it live (no execution)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from sale_tui.cli_common import (
    AuctionMode,
    JsonFlag,
    announce_repo_config,
    check_auction_mode,
    load_cli_settings,
    out,
    require_job,
)
from sale_tui.errors import UsageError

if TYPE_CHECKING:
    from collections.abc import Generator

    from sale_tui.auction.events import AuctionEvent, ScoredBid
    from sale_tui.runner import AuctionRunner

KINDS = ("coding", "research")


def stream_auction(
    runner: AuctionRunner,
    events: Generator[Any, None, None],
    as_json: bool,
    *,
    stop_at_winner: bool = False,
) -> tuple[AuctionEvent | None, list[ScoredBid]]:
    """Print an auction's events live (lines or JSON); return the last event and scored bids.

    The generator is closed on Ctrl-C too, so the runner marks the auction interrupted before
    the process exits (130), instead of whenever the generator is collected.
    ``stop_at_winner``: return at the auction's last event and leave the generator open (``do``
    goes on with the same job's execution events).
    """
    from sale_tui.auction.events import AgentWorking, AuctionFailed, BidScored, WinnerChosen
    from sale_tui.cli_live import LiveWait
    from sale_tui.render import event_line, event_to_json

    final: AuctionEvent | None = None
    scored: list[ScoredBid] = []
    waiting = LiveWait(out)
    try:
        for event in events:
            waiting.stop()
            if as_json:
                print(event_to_json(event, auction_id=runner.auction_ids[-1]), flush=True)
            elif isinstance(event, AgentWorking) and waiting.live:
                waiting.show(event.agent, event.doing)  # a live line instead of a fixed one
            else:
                line = event_line(event)
                if line:
                    out.print(line)
            if isinstance(event, BidScored):
                scored.append(event.scored)
            if isinstance(event, WinnerChosen | AuctionFailed):
                final = event
                if stop_at_winner:
                    return final, scored
    except BaseException:
        events.close()
        raise
    finally:
        waiting.stop()
    return final, scored


def auction_command(
    job: Annotated[str, typer.Argument(help="The job: a coding change or a question.")],
    kind: Annotated[str, typer.Option(help="coding or research.")] = "coding",
    agents: Annotated[
        str | None, typer.Option(help="Comma-separated agent names (default: the whole roster).")
    ] = None,
    budget: Annotated[
        float | None, typer.Option(help="$ cap for this job (auction + estimated execution).")
    ] = None,
    refine: Annotated[
        bool, typer.Option(help="Let cheaper agents refine their bids from memory.")
    ] = True,
    repo: Annotated[Path, typer.Option(help="The git repository the job is about.")] = Path(),
    as_json: Annotated[bool, typer.Option("--json", help="Emit JSON lines.")] = False,
    auction: AuctionMode = None,
) -> None:
    """Run the strategy auction for a job and show who would do it and why (no execution)."""
    from sale_tui.auction import Job
    from sale_tui.auction.events import AuctionFailed, WinnerChosen
    from sale_tui.render import bids_table
    from sale_tui.repo import summarize
    from sale_tui.runner import build_runner

    require_job(job)
    check_auction_mode(auction)
    if kind not in KINDS:
        raise UsageError(f"unknown job kind '{kind}'", fix="use --kind coding or --kind research")
    names = [n.strip() for n in agents.split(",") if n.strip()] if agents else None
    summary = summarize(repo.resolve())
    announce_repo_config(repo.resolve())
    runner = build_runner(names, repo.resolve())
    require_job(job, runner.agents)
    final, scored = stream_auction(
        runner,
        runner.run(
            Job(job, kind, summary),
            budget_usd=budget,
            refine=refine,
            repo=str(repo.resolve()),
            mode=auction,
        ),
        as_json,
    )
    if not as_json and scored:
        winner = final.winner if isinstance(final, WinnerChosen) else None
        out.print(bids_table(scored, winner, [a.name for a in runner.agents]))
        out.print(f"[dim]auction {runner.auction_ids[-1]} saved in {runner.memory.path}[/]")
    if isinstance(final, AuctionFailed):
        sys.exit(1)


def calibrate_command(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Fit and report, save nothing.")
    ] = False,
    heldout: Annotated[
        float,
        typer.Option(
            min=0.05, max=0.9, help="Share of tasks held out to measure routing accuracy."
        ),
    ] = 0.25,
    seed: Annotated[int, typer.Option(help="Seed of the train/held-out split.")] = 0,
    as_json: JsonFlag = False,
) -> None:
    """Fit the auction weights to recorded outcomes (normalised CVaR LP) and report routing
    accuracy."""
    from dataclasses import asdict

    from sale_tui.calibrate import calibrate as run_calibration
    from sale_tui.calibrate import save
    from sale_tui.runner import open_memory, weights_from

    settings = load_cli_settings()
    memory = open_memory(settings)
    result = run_calibration(memory, weights_from(settings, memory), heldout=heldout, seed=seed)
    if not dry_run:
        save(memory, result)
    if as_json:
        print(json.dumps({**asdict(result), "saved": not dry_run}, default=str))
        return
    w = result.weights
    out.print(
        f"{result.tasks} tasks with known outcomes ({result.heldout_tasks} held out); "
        f"training loss {result.loss:.3f} (mean slack of the worst quarter)"
    )
    out.print(
        f"routing accuracy  train {result.train_before:.0%} → {result.train_after:.0%}  "
        f"held-out {result.heldout_before:.0%} → {result.heldout_after:.0%}"
    )
    jurors = ", ".join(f"{name}={value:.3f}" for name, value in (w.jurors or {}).items())
    out.print(
        f"weights: w_cost={w.cost:.3f} w_entropy={w.entropy:.3f} w_memory={w.memory:.3f} "
        f"jurors: {jurors}"
    )
    out.print(
        "saved: later auctions use these weights" if not dry_run else "dry run: nothing saved"
    )
