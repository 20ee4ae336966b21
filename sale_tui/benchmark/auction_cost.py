"""``sale-tui bench auction``: what choosing costs. Auctions on a fixed set of bench jobs
(HumanEval and HotpotQA, the seeded split ``bench run`` uses), for each roster and each
auction design side by side, in one run, the designs interleaved per job so that a drifting
machine lands on both: tokens (prompt tokens computed, prompt tokens read from the models'
prompt cache, generated), $, wall seconds and model calls per auction, and how well each
juror's scores predict whether the bidder then solves the task (per-juror AUC, against an
outcome table that ``bench run`` wrote, e.g. docs/bench/agentic-v4-outcomes.json).

Designs:
- ``v1``: the auction before issue 16, kept for the comparison. Its prompt templates
  (``auction_v1_prompts/``) put the job first and the rubric after the plan, each jury call
  one message, so no two calls share more than the chat header; the jury is asked about a bid
  even when it is the only one left; bids may take 256 tokens.
- ``lean``: the shipped templates (one shared leading block), the jury reading each plan as
  the reply to the bid prompt (``auction.jury``), no jury for a lone bid, and the configured
  bid cap (128).
- ``panel``: ``lean`` with the panel jury (``auction.panel``): one call per juror scores
  every plan.
- ``short``: ``lean`` with bids capped at 64 tokens (the prompt still says "under 64").

No refinement (nothing is in memory) and no execution: this measures the auction alone. Each
auction is cached in OUT/auction-cost.json as it ends, so a run that is stopped resumes.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Literal

from sale_tui.auction import AuctionAgent, AuctionSettings, Job, run_auction
from sale_tui.auction.events import (
    AuctionFailed,
    BidDropped,
    BidReceived,
    JuryScored,
    WinnerChosen,
)
from sale_tui.benchmark.sale import job_text
from sale_tui.benchmark.tasks import Task
from sale_tui.prompting import PromptLibrary

V1_PROMPTS = Path(__file__).with_name("auction_v1_prompts")


@dataclass(frozen=True)
class Design:
    name: str
    prompts: Path | None
    """A folder whose templates replace the shipped ones; None: the shipped ones."""
    jury_single_bid: bool
    plan_as_reply: bool
    max_bid_tokens: int | None
    """None: the configured cap."""
    jury: Literal["pairwise", "panel"] = "pairwise"


DESIGNS = {
    "v1": Design("v1", V1_PROMPTS, jury_single_bid=True, plan_as_reply=False, max_bid_tokens=256),
    "lean": Design("lean", None, jury_single_bid=False, plan_as_reply=True, max_bid_tokens=None),
    "panel": Design("panel", None, False, plan_as_reply=True, max_bid_tokens=None, jury="panel"),
    "short": Design("short", None, jury_single_bid=False, plan_as_reply=True, max_bid_tokens=64),
}


@dataclass(frozen=True)
class AuctionCost:
    task: str
    domain: str
    design: str
    agents: str
    """The roster, comma-separated."""
    winner: str | None
    bids: int
    calls: int
    prompt_tokens: int
    cached_tokens: int
    generated_tokens: int
    cost_usd: float
    seconds: float
    jury: tuple[tuple[str, str, float], ...]
    """(juror, bidder, score) for every score a juror gave."""
    dropped: tuple[tuple[str, str], ...] = ()
    """(agent, why) for every bid that dropped out."""

    @property
    def computed_tokens(self) -> int:
        return self.prompt_tokens - self.cached_tokens + self.generated_tokens


def _auction(
    task: Task, agents: Sequence[AuctionAgent], design: Design, settings: AuctionSettings
) -> AuctionCost:
    if design.max_bid_tokens is not None:
        settings = replace(settings, max_bid_tokens=design.max_bid_tokens)
    settings = replace(
        settings,
        jury_single_bid=design.jury_single_bid,
        plan_as_reply=design.plan_as_reply,
        jury=design.jury,
        refine=False,
    )
    prompts = PromptLibrary(design.prompts) if design.prompts else PromptLibrary()
    started = time.perf_counter()
    events = list(
        run_auction(Job(job_text(task), task.domain, ""), agents, prompts, None, settings)
    )
    seconds = time.perf_counter() - started
    final = events[-1]
    if not isinstance(final, WinnerChosen | AuctionFailed):
        raise RuntimeError(f"the auction for {task.id} ended without a verdict")
    jury = tuple(
        (e.juror, e.bidder, e.score)
        for e in events
        if isinstance(e, JuryScored) and e.score is not None
    )
    return AuctionCost(
        task=task.id,
        domain=task.domain,
        design=design.name,
        agents=",".join(a.name for a in agents),
        winner=final.winner.agent if isinstance(final, WinnerChosen) else None,
        bids=sum(1 for e in events if isinstance(e, BidReceived)),
        calls=_calls(events, design),
        prompt_tokens=final.usage.prompt_tokens,
        cached_tokens=final.usage.cached_tokens,
        generated_tokens=final.usage.completion_tokens,
        cost_usd=sum(final.cost_by_phase.values()),
        seconds=round(seconds, 2),
        jury=jury,
        dropped=tuple((e.agent, e.reason) for e in events if isinstance(e, BidDropped)),
    )


def _calls(events: Sequence[Any], design: Design) -> int:
    """Model calls: one per bid written (kept or dropped), and one per jury score asked (the
    pairwise jury) or per juror (the panel)."""
    bids = sum(1 for e in events if isinstance(e, BidReceived | BidDropped))
    scores = [e for e in events if isinstance(e, JuryScored)]
    return bids + (len({e.juror for e in scores}) if design.jury == "panel" else len(scores))


def measure(
    tasks: Sequence[Task],
    rosters: Sequence[Sequence[AuctionAgent]],
    designs: Sequence[Design],
    settings: AuctionSettings,
    out: Path,
    progress: Callable[[str], None] = lambda label: None,
) -> list[AuctionCost]:
    """Every (task, roster, design) auction, the designs run one after another per task."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / "auction-cost.json"
    cache: dict[str, dict[str, Any]] = json.loads(path.read_text()) if path.exists() else {}
    results = []
    for task in tasks:
        for agents in rosters:
            for design in designs:
                key = f"{design.name}|{','.join(a.name for a in agents)}|{task.id}"
                if key not in cache:
                    cache[key] = asdict(_auction(task, agents, design, settings))
                    partial = path.with_suffix(".tmp")
                    partial.write_text(json.dumps(cache, indent=1))
                    partial.replace(path)
                row = dict(cache[key])
                row["jury"] = tuple(tuple(item) for item in row["jury"])
                row["dropped"] = tuple(tuple(item) for item in row.get("dropped", ()))
                results.append(AuctionCost(**row))
                progress(key)
    return results


def outcome_lookup(path: Path) -> Callable[[str, str], bool | None]:
    """``passed(task, agent)`` from a ``bench run`` outcome table, one-call or ``--agentic``
    (whose task ids carry an ``agentic:`` prefix); None: not in it."""
    table = json.loads(path.read_text())

    def passed(task: str, agent: str) -> bool | None:
        row = table.get(f"{task}|{agent}") or table.get(f"agentic:{task}|{agent}")
        return None if row is None else bool(row["passed"])

    return passed


def juror_auc(
    results: Sequence[AuctionCost], passed: Callable[[str, str], bool | None]
) -> dict[str, float | None]:
    """Per juror: the AUC of its scores for telling bidders that solved the task (per the
    outcome table: ``passed(task, agent)``) from those that did not; None when one class is
    missing. 0.5 is chance."""
    from sale_tui.benchmark.routers import auc

    points: dict[str, list[tuple[float, bool]]] = {}
    for result in results:
        for juror, bidder, score in result.jury:
            label = passed(result.task, bidder)
            if label is not None:
                points.setdefault(juror, []).append((score, label))
    aucs: dict[str, float | None] = {}
    for juror, pairs in sorted(points.items()):
        labels = [label for _, label in pairs]
        if len(set(labels)) < 2:
            aucs[juror] = None
            continue
        aucs[juror] = round(auc(labels, [score for score, _ in pairs]), 3)
    return aucs


def summary(
    results: Sequence[AuctionCost], passed: Callable[[str, str], bool | None] | None = None
) -> list[dict[str, Any]]:
    """One row per (roster, design, domain and all): medians and means per auction."""
    rows = []
    groups: dict[tuple[str, str, str], list[AuctionCost]] = {}
    for result in results:
        for domain in ("all", result.domain):
            groups.setdefault((result.agents, result.design, domain), []).append(result)
    for (agents, design, domain), items in groups.items():

        def median(values: Sequence[float]) -> float:
            return float(statistics.median(values))

        rows.append(
            {
                "agents": agents,
                "design": design,
                "domain": domain,
                "auctions": len(items),
                "computed_tokens": median([r.computed_tokens for r in items]),
                "cached_tokens": median([r.cached_tokens for r in items]),
                "generated_tokens": median([r.generated_tokens for r in items]),
                "prompt_tokens": median([r.prompt_tokens for r in items]),
                "mean_computed_tokens": round(
                    statistics.fmean(r.computed_tokens for r in items), 1
                ),
                "cost_usd": median([r.cost_usd for r in items]),
                "seconds": median([r.seconds for r in items]),
                "calls": median([r.calls for r in items]),
                "juror_auc": juror_auc(items, passed) if passed else {},
            }
        )
    return rows
