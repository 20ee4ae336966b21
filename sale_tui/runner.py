"""Wires the pure auction core to the real adapters and stores every event as it happens.

Both front ends use this: the CLI prints the events it yields, the TUI posts them as
messages. Nothing here decides anything about the auction itself.
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sale_tui.auction import AuctionAgent, AuctionSettings, Job, Weights, run_auction
from sale_tui.auction.events import AuctionEvent, WinnerChosen
from sale_tui.auction.routing import RoutingSettings
from sale_tui.config import Settings
from sale_tui.errors import UsageError
from sale_tui.memory import AuctionMemory
from sale_tui.prompting import PromptLibrary
from sale_tui.protocols import Model
from sale_tui.roster import Agent


def weights_from(settings: Settings, memory: AuctionMemory | None = None) -> Weights:
    """Configured weights, or the last fitted ones when calibrate has run (and allowed)."""
    config = settings.auction
    if memory is not None and config.use_fitted_weights:
        fitted = memory.latest_fitted_weights()
        if fitted is not None:
            return fitted
    return Weights(
        cost=config.w_cost,
        entropy=config.w_entropy,
        jurors=dict(config.jury_weights) or None,
        default_juror=config.default_juror_weight,
        memory=config.w_memory,
    )


def auction_agents(roster: Sequence[Agent], models: Sequence[Model]) -> list[AuctionAgent]:
    agents = []
    for agent, model in zip(roster, models, strict=True):
        if agent.price is None:
            raise UsageError(
                f"agent '{agent.name}' has no price",
                fix=f"set price_in and price_out for '{agent.name}' in the config",
            )
        agents.append(AuctionAgent(agent.name, agent.price, model, parallel=agent.local is None))
    return agents


@dataclass
class AuctionRunner:
    """Runs auctions for one session, keeping the session's spend for its budget."""

    settings: Settings
    agents: Sequence[AuctionAgent]
    memory: AuctionMemory
    prompts: PromptLibrary
    spent_usd: float = 0.0
    auction_ids: list[str] = field(default_factory=list)

    def run(
        self,
        job: Job,
        *,
        budget_usd: float | None = None,
        refine: bool | None = None,
        repo: str = "",
        commit: str = "",
        escalate: bool = True,
        mode: str | None = None,
        session_id: str | None = None,
    ) -> Generator[AuctionEvent, None, None]:
        """``escalate``: whether failed work goes on to a pricier agent (routing from memory
        may then try a cheap one first); ``mode``: ``auction.mode`` unless given;
        ``session_id``: the session the job belongs to."""
        config = self.settings.auction
        weights = weights_from(self.settings, self.memory)
        session_left = (
            None
            if config.session_budget_usd is None
            else config.session_budget_usd - self.spent_usd
        )
        auction_settings = AuctionSettings(
            weights=weights,
            max_bid_tokens=config.max_bid_tokens,
            memory_k=config.memory_k,
            jury=config.jury,
            refine=config.refine if refine is None else refine,
            job_budget_usd=budget_usd if budget_usd is not None else config.job_budget_usd,
            session_budget_left_usd=session_left,
            execution_tokens_per_bid_token=config.execution_tokens_per_bid_token,
            routing=RoutingSettings(
                mode or config.mode, config.explore, config.route_min_jobs, escalate
            ),
        )
        names = [a.name for a in self.agents]
        vector = self.memory.embedder.embed([job.text])[0]  # once, for the records and the job
        # read before this job is stored, so it is not its own neighbour
        records = self.memory.track_records_near(
            vector, job.kind, names, config.track_k, config.track_floor
        )
        if not any(r.tried for r in records.values()):
            records = {}  # nothing known: no memory term, and the auction says nothing of it
        job_id = self.memory.new_job(
            job.text, job.kind, repo, commit, vector, session_id=session_id, context=job.context
        )
        auction_id = self.memory.start_auction(
            job_id, [a.name for a in self.agents], weights, config.max_bid_tokens
        )
        self.auction_ids.append(auction_id)
        finished = False
        try:
            events = run_auction(
                job, self.agents, self.prompts, self.memory, auction_settings, records
            )
            for event in events:
                self.memory.record(auction_id, event)
                if isinstance(event, WinnerChosen):
                    self.spent_usd += event.auction_cost_usd
                finished = finished or type(event).__name__ in ("WinnerChosen", "AuctionFailed")
                yield event
        finally:
            if not finished:  # Ctrl-C, a closed generator, or an unexpected error
                self.memory.mark_interrupted(auction_id)


def open_memory(settings: Settings) -> AuctionMemory:
    from sale_tui.memory import AuctionMemory

    path = Path(settings.memory.path).expanduser() if settings.memory.path else None
    return AuctionMemory(path)


def build_runner(agent_names: list[str] | None, repo: Path | None = None) -> AuctionRunner:
    """Settings (with ``repo``'s config where the user trusts it), roster, models, memory and
    prompts wired into an ``AuctionRunner``."""
    from sale_tui.config import load_settings
    from sale_tui.models.client import LiteLLMModel
    from sale_tui.prompting import PromptLibrary
    from sale_tui.roster import build_roster, select_agents

    settings = load_settings(cwd=repo)
    roster = select_agents(build_roster(settings), agent_names, bidders=True)
    models = [LiteLLMModel.for_agent(agent, settings) for agent in roster]
    for model in models:
        model.check_ready()  # fail before the auction starts, with the fix
    return AuctionRunner(
        settings, auction_agents(roster, models), open_memory(settings), PromptLibrary()
    )
