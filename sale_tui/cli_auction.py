"""``sale-tui auction``: run the strategy auction for a job and show it live (no execution)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from sale_tui.errors import UsageError

if TYPE_CHECKING:
    from sale_tui.runner import AuctionRunner

out = Console(highlight=False)

KINDS = ("coding", "research")


def build_runner(agent_names: list[str] | None) -> AuctionRunner:
    """Settings, roster, models, memory and prompts wired into an ``AuctionRunner``."""
    from sale_tui.config import load_settings
    from sale_tui.memory import AuctionMemory
    from sale_tui.models.client import LiteLLMModel
    from sale_tui.prompting import PromptLibrary
    from sale_tui.roster import build_roster, select_agents
    from sale_tui.runner import AuctionRunner, auction_agents

    settings = load_settings()
    roster = select_agents(build_roster(settings), agent_names)
    models = [LiteLLMModel.for_agent(agent, settings) for agent in roster]
    for model in models:
        model.check_ready()  # fail before the auction starts, with the fix
    path = Path(settings.memory.path).expanduser() if settings.memory.path else None
    return AuctionRunner(
        settings, auction_agents(roster, models), AuctionMemory(path), PromptLibrary()
    )


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
) -> None:
    """Run the strategy auction for a job and show who would do it and why (no execution)."""
    from sale_tui.auction import Job
    from sale_tui.auction.events import AuctionFailed, BidScored, WinnerChosen
    from sale_tui.render import bids_table, event_line, event_to_json
    from sale_tui.repo import summarize

    if kind not in KINDS:
        raise UsageError(f"unknown job kind '{kind}'", fix="use --kind coding or --kind research")
    names = [n.strip() for n in agents.split(",") if n.strip()] if agents else None
    summary = summarize(repo.resolve())
    runner = build_runner(names)
    scored = []
    final = None
    for event in runner.run(
        Job(job, kind, summary), budget_usd=budget, refine=refine, repo=str(repo.resolve())
    ):
        if as_json:
            print(event_to_json(event, auction_id=runner.auction_ids[-1]), flush=True)
        else:
            line = event_line(event)
            if line:
                out.print(line)
        if isinstance(event, BidScored):
            scored.append(event.scored)
        if isinstance(event, WinnerChosen | AuctionFailed):
            final = event
    if not as_json and scored:
        winner = final.winner if isinstance(final, WinnerChosen) else None
        out.print(bids_table(scored, winner, [a.name for a in runner.agents]))
        out.print(f"[dim]auction {runner.auction_ids[-1]} saved in {runner.memory.path}[/]")
    if isinstance(final, AuctionFailed):
        sys.exit(1)
