"""The jury (ARCHITECTURE.md §1, step 2): every agent scores every bid 0-5 in one generated
token, and the score is the expected digit of that token's distribution.

How a juror reads a plan decides what its prompt cache can reuse. ``plan_as_reply`` (the
default) shows the plan as the assistant's reply to the bid prompt, then asks for the score:
the conversation is then, token for token, the one the juror had when it wrote its own bid,
so a local model's KV cache already holds the bid prompt, and for its own plan the plan too.
Every plan is shown the same way, the juror's own included, so none is framed differently.
Each juror scores its own plan first (its cache still holds it from bidding), then the others
in bid order. Without ``plan_as_reply`` (the paper's layout, kept as the v1 design of
``bench auction``) the job, the plan and the rubric are one user message per call.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sale_tui.auction import scoring
from sale_tui.auction.events import Bid
from sale_tui.protocols import Message, Model, Reply

Verdict = tuple[float | None, str, Reply]
"""(score 0-5 or None, how it was read or why there is none, the call's reply)."""
Verdicts = list[tuple[Bid, Verdict | BaseException]]
"""One juror's verdicts on every bid; a failed call is its exception."""


def messages_for(bid_prompt: str, plan: str, question: str, plan_as_reply: bool) -> list[Message]:
    """``question``: the rendered jury template (with ``plan_as_reply`` it asks about the
    reply above; without, it holds the job and the plan itself)."""
    if not plan_as_reply:
        return [{"role": "user", "content": question}]
    return [
        {"role": "user", "content": bid_prompt},
        {"role": "assistant", "content": plan},
        {"role": "user", "content": question},
    ]


def order_for(juror: str, bids: Sequence[Bid]) -> list[Bid]:
    """The juror's own bid first (its prompt cache still holds it), then the rest in order."""
    return sorted(bids, key=lambda bid: bid.agent != juror)


def judge(model: Model, messages: list[Message], top_logprobs: int) -> Verdict:
    reply = model.complete(
        messages, max_tokens=1, temperature=0.0, logprobs=True, top_logprobs=top_logprobs
    )
    score = scoring.likert_from_logprobs(reply)
    if score is not None:
        return score, "logprobs", reply
    score = scoring.likert_from_text(reply.text)
    if score is not None:
        return score, "text", reply
    # No distribution and no digit in one token: let the juror answer in a few words.
    longer = model.complete(messages, max_tokens=8, temperature=0.0)
    combined = Reply(
        agent=reply.agent,
        model=reply.model,
        text=longer.text,
        usage=reply.usage + longer.usage,
        cost_usd=reply.cost_usd + longer.cost_usd,
    )
    score = scoring.likert_from_text(longer.text)
    note = "text" if score is not None else f"no score 0-5 in reply {longer.text[:40]!r}"
    return score, note, combined


def judge_each(
    model: Model,
    juror: str,
    bids: Sequence[Bid],
    bid_prompt: str,
    render: Callable[..., str],
    plan_as_reply: bool,
    top: int,
) -> Verdicts:
    """One juror's verdicts on every bid, its own first; a failed call fails only its bid.
    ``render``: the auction's template renderer, for the question after each plan."""
    verdicts: Verdicts = []
    for bid in order_for(juror, bids):
        question = render("jury", plan=bid.text)
        try:
            messages = messages_for(bid_prompt, bid.text, question, plan_as_reply)
            verdicts.append((bid, judge(model, messages, top)))
        except Exception as exc:  # a failing juror call leaves a gap; the auction goes on
            verdicts.append((bid, exc))
    return verdicts
