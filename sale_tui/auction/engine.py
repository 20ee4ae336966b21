"""The SALE auction as a generator of events (ARCHITECTURE.md §1, steps 1-5).

``run_auction`` asks every agent for a short plan, has every agent score every plan as a
juror, picks the provisional winner by ``argmin(C - V)``, lets the agents cheaper than it
refine their plans from the shared memory's (losing, winning) plan pairs, and returns the
final winner. It only talks to ``Model``, ``Prompts`` and ``PlanMemory`` protocols; storing
events and rendering them is the caller's business.

Calls to agents whose provider takes concurrent requests run in a thread pool; the others
(local llama.cpp models, which share two CPU cores) run one at a time in the caller's thread.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal, Protocol

from sale_tui.auction import budget, jury, panel, routing, scoring, track
from sale_tui.auction.calls import Ledger, Starting, concurrently, failure_reason
from sale_tui.auction.events import (
    AgentWorking,
    AuctionEvent,
    AuctionFailed,
    AuctionStarted,
    Bid,
    BidDropped,
    BidReceived,
    BidScored,
    JuryScored,
    MemoryRetrieved,
    PlanPair,
    ProvisionalWinner,
    Refined,
    RefinementSkipped,
    Round,
    ScoredBid,
    WinnerChosen,
)
from sale_tui.protocols import Model, Reply

PAIR_PLAN_CHARS = 600
# llama.cpp's CLI default: without it small local models decoding greedily loop until the cap.
BID_REPETITION_PENALTY = 1.1  # a past plan shown in a refinement prompt is cut to about 150 tokens


class Prompts(Protocol):
    def render(self, role: str, /, **variables: Any) -> str: ...


class PlanMemory(Protocol):
    def plan_pairs(
        self, job: str, agent: str, k: int, kind: str | None = None
    ) -> Sequence[PlanPair]: ...


@dataclass(frozen=True)
class AuctionAgent:
    name: str
    price: float
    """pi(a): $ per million tokens."""
    model: Model
    parallel: bool = False
    """True when the provider takes concurrent calls (hosted APIs); False for local models."""


@dataclass(frozen=True)
class Job:
    text: str
    kind: str = "coding"
    repo_summary: str = ""
    context: str = ""
    """Project instructions and the session so far (``sessions.job_context``)."""


@dataclass(frozen=True)
class AuctionSettings:
    weights: scoring.Weights = field(default_factory=scoring.Weights)
    max_bid_tokens: int = 128
    memory_k: int = 8
    jury_top_logprobs: int = 20
    refine: bool = True
    job_budget_usd: float | None = None
    session_budget_left_usd: float | None = None
    execution_tokens_per_bid_token: float = 40.0
    """Estimated execution tokens per plan token, for the budget check (a 200-token plan is
    taken to cost about 8,000 tokens to execute)."""
    plan_as_reply: bool = True
    """The jury reads each plan as the reply to the bid prompt (``auction.jury``), so local
    models reuse their cached bid prompt; False: one message with the job and the plan."""
    jury: Literal["pairwise", "panel"] = "pairwise"
    """``pairwise``: a one-token call per juror and plan (``auction.jury``); ``panel``: one
    call per juror that scores every plan (``auction.panel``)."""
    jury_single_bid: bool = False
    """Ask the jury about a bid that is the only one left. Its scores cannot change who wins,
    so by default it is not asked (kept to measure the design before issue 16)."""
    routing: routing.RoutingSettings = field(default_factory=routing.RoutingSettings)
    """When the memory decides without an auction (``auction.routing``)."""


class _Auction:
    def __init__(
        self,
        job: Job,
        agents: Sequence[AuctionAgent],
        prompts: Prompts,
        memory: PlanMemory | None,
        settings: AuctionSettings,
        records: Mapping[str, track.TrackRecord] | None = None,
    ) -> None:
        self.job, self.agents, self.prompts = job, list(agents), prompts
        self.memory, self.settings = memory, settings
        self.records = dict(records or {})
        self.ledger = Ledger()
        self.bid_prompt = ""
        self.max_price = max((a.price for a in agents), default=1.0)

    # -- bids ---------------------------------------------------------------------------
    def _write_bid(self, agent: AuctionAgent, prompt: str, round_: Round) -> tuple[Bid, Reply]:
        reply = agent.model.complete(
            [{"role": "user", "content": prompt}],
            max_tokens=self.settings.max_bid_tokens,
            temperature=0.0,
            logprobs=True,
            top_logprobs=5,
            repetition_penalty=BID_REPETITION_PENALTY,
            stop_if_repeating=True,  # a looping bid is dropped: no need to write it to the cap
        )
        entropy, kind = scoring.normalised_entropy(reply)
        bid = Bid(
            agent=agent.name,
            round=round_,
            text=reply.text.strip(),
            tokens=reply.usage.completion_tokens,
            price=agent.price,
            entropy=entropy,
            entropy_kind=kind,
            cost_usd=reply.cost_usd,
        )
        return bid, reply

    def _collect_bids(
        self,
        agents: Sequence[AuctionAgent],
        prompt_for: Callable[[AuctionAgent], str],
        round_: Round,
        bids: dict[str, Bid],
    ) -> Iterator[AuctionEvent]:
        phase = "bid" if round_ == "original" else "refine"
        for agent, result in concurrently(
            agents, lambda a: self._write_bid(a, prompt_for(a), round_)
        ):
            if isinstance(result, Starting):
                doing = "writing its bid" if round_ == "original" else "refining its bid"
                yield AgentWorking(agent.name, doing)
                continue
            if isinstance(result, BaseException):
                yield BidDropped(agent.name, round_, failure_reason(result))
                continue
            bid, reply = result
            self.ledger.add(phase, reply)
            # the prompt's own lines, less the repo's instructions (a plan may quote a rule)
            fixed = self.bid_prompt.replace(self.job.context, "") if self.job.context else None
            garbage = scoring.degenerate_reason(bid.text, fixed or self.bid_prompt)
            if garbage:
                yield BidDropped(agent.name, round_, garbage)
                continue
            bids[agent.name] = bid
            yield BidReceived(bid) if round_ == "original" else Refined(bid)

    def _render(self, role: str, **variables: Any) -> str:
        """Every auction prompt gets the job's shared variables: the templates start with the
        same block (``_auction_context.j2``), which a prompt cache then computes once."""
        return self.prompts.render(
            role,
            job=self.job.text,
            kind=self.job.kind,
            repo_summary=self.job.repo_summary,
            context=self.job.context,
            max_tokens=self.settings.max_bid_tokens,
            **variables,
        )

    # -- jury ---------------------------------------------------------------------------
    def _scored(
        self, bid: Bid, scores: Mapping[str, float | None], notes: Mapping[str, str]
    ) -> ScoredBid:
        weights = self.settings.weights
        cost = scoring.cost_term(
            bid.price,
            bid.tokens,
            max_price=self.max_price,
            max_bid_tokens=self.settings.max_bid_tokens,
            weights=weights,
        )
        record = self.records.get(bid.agent)
        value = scoring.value_term(
            bid.entropy,
            scores,
            jury_size=len(self.agents),
            weights=weights,
            success_rate=record.rate if record else None,
        )
        return ScoredBid(bid, dict(scores), dict(notes), cost, value, record)

    def _score_all(
        self, bids: Mapping[str, Bid], out: dict[str, ScoredBid]
    ) -> Iterator[AuctionEvent]:
        """Every juror scores every bid (``auction.jury``), jurors concurrently where their
        providers allow it; then each bid's C and V."""
        order = list(bids.values())
        scores: dict[str, dict[str, float | None]] = {bid.agent: {} for bid in order}
        notes: dict[str, dict[str, str]] = {bid.agent: {} for bid in order}
        for juror, verdicts in concurrently(self.agents, self._jury_work(order)):
            if isinstance(verdicts, Starting):
                plans = f"{len(order)} plans" if len(order) > 1 else "the plan"
                yield AgentWorking(juror.name, f"scoring {plans}")
                continue
            if isinstance(verdicts, BaseException):
                verdicts = [(bid, verdicts) for bid in order]
            for bid, verdict in verdicts:
                if isinstance(verdict, BaseException):
                    score, note, cost, tokens = None, failure_reason(verdict), 0.0, 0
                else:
                    score, note, reply = verdict
                    self.ledger.add("jury", reply)
                    cost, tokens = reply.cost_usd, reply.usage.total_tokens
                scores[bid.agent][juror.name], notes[bid.agent][juror.name] = score, note
                yield JuryScored(bid.agent, juror.name, bid.round, score, note, cost, tokens)
        names = [a.name for a in self.agents]
        for bid in order:  # each bid's jury in roster order, as the table shows it
            got = scores[bid.agent]
            item = self._scored(
                bid,
                {n: got[n] for n in names if n in got},
                {n: notes[bid.agent][n] for n in names if n in got},
            )
            out[bid.agent] = item
            yield BidScored(item)

    def _jury_work(self, order: Sequence[Bid]) -> Callable[[AuctionAgent], jury.Verdicts]:
        """Per juror, its verdicts on every bid: one call (the panel) or one call per plan."""
        top = self.settings.jury_top_logprobs
        if self.settings.jury == "panel":
            return lambda j: panel.judge_all(
                j.model, j.name, order, self.bid_prompt, self._render, top
            )
        as_reply = self.settings.plan_as_reply
        return lambda j: jury.judge_each(
            j.model, j.name, order, self.bid_prompt, self._render, as_reply, top
        )

    # -- budget -------------------------------------------------------------------------
    def _eligible(
        self, scored: Mapping[str, ScoredBid]
    ) -> Generator[AuctionEvent, None, list[ScoredBid]]:
        """Yield a BudgetExcluded event per bid that cannot fit; return the bids that can."""
        eligible = []
        for item in scored.values():
            excluded = budget.over_budget(
                item, sum(self.ledger.cost.values()), self.settings.job_budget_usd,
                self.settings.session_budget_left_usd, self.settings.execution_tokens_per_bid_token,
            )  # fmt: skip
            if excluded:
                yield excluded
            else:
                eligible.append(item)
        return eligible

    @staticmethod
    def _best(candidates: Sequence[ScoredBid]) -> ScoredBid | None:
        name = scoring.pick_lowest([(c.score, c.bid.price, c.agent) for c in candidates])
        return next((c for c in candidates if c.agent == name), None)

    # -- the whole auction --------------------------------------------------------------
    def run(self) -> Iterator[AuctionEvent]:
        settings = self.settings
        yield AuctionStarted(
            self.job.text,
            self.job.kind,
            tuple(a.name for a in self.agents),
            settings.weights,
            settings.max_bid_tokens,
        )
        if self.records or settings.routing.mode == "never":
            chosen = yield from routing.consult(
                self.job.text, self.agents, self.records, settings.routing
            )
            if chosen is not None:
                yield routing.verdict(chosen, self.agents, self.records, settings.weights)
                return
        self.bid_prompt = self._render("bid")
        bids: dict[str, Bid] = {}
        yield from self._collect_bids(self.agents, lambda _: self.bid_prompt, "original", bids)
        if not bids:
            yield self._failed("every agent failed to bid")
            return
        scored: dict[str, ScoredBid] = {}
        if len(bids) == 1 and not settings.jury_single_bid:
            # No jury can change a lone bid's win: it is scored on cost and entropy alone.
            only = self._scored(next(iter(bids.values())), {}, {})
            scored[only.agent] = only
            yield BidScored(only)
        else:
            yield from self._score_all(bids, scored)
        eligible = yield from self._eligible(scored)
        provisional = self._best(eligible)
        if provisional is None:
            yield self._failed("no bid fits the budget; raise --budget or use cheaper agents")
            return
        yield ProvisionalWinner(provisional)
        refined_scores = yield from self._refinement(provisional, bids)
        final, reason = provisional, "the provisional winner kept the best score"
        if len(bids) == 1:
            reason = "the only bid left (no jury: its scores could not change the winner)"
        best_refined = self._best(refined_scores)
        if best_refined is not None and best_refined.score < provisional.score:
            final = best_refined
            reason = (
                f"{best_refined.agent}'s refined bid scored {best_refined.score:.3f}, "
                f"beating {provisional.agent}'s {provisional.score:.3f}"
            )
        elif best_refined is not None:
            reason = (
                f"no refined bid beat {provisional.agent}'s {provisional.score:.3f} "
                f"(best refined: {best_refined.agent} {best_refined.score:.3f})"
            )
        yield WinnerChosen(
            final,
            provisional,
            reason,
            tuple(scored.values()) + tuple(refined_scores),
            dict(self.ledger.tokens),
            dict(self.ledger.cost),
            self.ledger.usage,
        )

    def _refinement(
        self, provisional: ScoredBid, bids: Mapping[str, Bid]
    ) -> Generator[AuctionEvent, None, list[ScoredBid]]:
        cheaper = [a for a in self.agents if a.price < provisional.bid.price and a.name in bids]
        if not self.settings.refine or not cheaper:
            return []
        pairs_by_agent: dict[str, tuple[PlanPair, ...]] = {}
        for agent in cheaper:
            pairs = (
                tuple(
                    self.memory.plan_pairs(
                        self.job.text, agent.name, self.settings.memory_k, self.job.kind
                    )
                )
                if self.memory
                else ()
            )
            if not pairs:
                yield RefinementSkipped(agent.name, "no similar past auctions in memory yet")
                continue
            pairs_by_agent[agent.name] = pairs
            yield MemoryRetrieved(agent.name, pairs)
        refiners = [a for a in cheaper if a.name in pairs_by_agent]
        refined: dict[str, Bid] = {}

        def prompt_for(agent: AuctionAgent) -> str:
            pairs = [_shortened(p) for p in pairs_by_agent[agent.name]]
            return self._render("refine", plan=bids[agent.name].text, pairs=pairs)

        yield from self._collect_bids(refiners, prompt_for, "refined", refined)
        scored: dict[str, ScoredBid] = {}
        yield from self._score_all(refined, scored)
        return (yield from self._eligible(scored))

    def _failed(self, reason: str) -> AuctionFailed:
        return AuctionFailed(
            reason, dict(self.ledger.tokens), dict(self.ledger.cost), self.ledger.usage
        )


def _shortened(pair: PlanPair) -> PlanPair:
    cut = PAIR_PLAN_CHARS
    return replace(pair, losing_plan=pair.losing_plan[:cut], winning_plan=pair.winning_plan[:cut])


def run_auction(
    job: Job,
    agents: Sequence[AuctionAgent],
    prompts: Prompts,
    memory: PlanMemory | None = None,
    settings: AuctionSettings | None = None,
    records: Mapping[str, track.TrackRecord] | None = None,
) -> Iterator[AuctionEvent]:
    """Run one auction, yielding every event; the last one is WinnerChosen or AuctionFailed.
    ``records``: each agent's track record on similar past jobs (``memory.track_records``)."""
    if not agents:
        yield AuctionFailed("the roster is empty")
        return
    auction = _Auction(job, agents, prompts, memory, settings or AuctionSettings(), records)
    yield from auction.run()
