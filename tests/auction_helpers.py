"""Scripted bidders for auction tests: behaviour chosen per prompt role."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence

from sale_tui.auction import AuctionAgent
from sale_tui.models.scripted import Request, Scripted, ScriptedModel, digit_distribution
from sale_tui.protocols import TokenLogprob


def role_of(request: Request) -> str:
    prompt = request.prompt
    if "You won the job below" in prompt:
        return "execute"
    if "Reply with a single digit" in prompt:
        return "jury"
    if "one line per plan" in prompt:
        return "panel"
    if "rewrite your plan" in prompt:
        return "refine"
    return "bid"


def plan_of(request: Request) -> str:
    """The plan being judged, cut out of a jury prompt (the shipped layout, or v1's)."""
    messages = request.messages
    if len(messages) == 3 and messages[1]["role"] == "assistant":
        return str(messages[1]["content"])
    return request.prompt.split("Plan:\n", 1)[1].split("\n\n", 1)[0]


def panel_plans(request: Request) -> list[tuple[str, str]]:
    """(label, plan) as a panel prompt shows them, in order."""
    question = str(request.messages[-1]["content"])
    return re.findall(r"^Plan ([A-Z]):\n(.*?)\n", question, re.M)


def panel_reply(scores: Sequence[tuple[str, float]], logprobs: bool = True) -> Scripted:
    """``A: 4`` per line, the digit's distribution split between the two digits nearest the
    score (as the one-token jury's is), tokenised as Qwen writes it: A, :, space, digit, newline."""
    text = "\n".join(f"{label}: {int(score)}" for label, score in scores)
    if not logprobs:
        return Scripted(text=text)
    tokens: list[TokenLogprob] = []
    for label, score in scores:
        tokens += [TokenLogprob(t, -0.1) for t in (label, ":", " ")]
        tokens.append(_digit_token(score))
        tokens.append(TokenLogprob("\n", -0.1))
    return Scripted(text=text, logprobs=tuple(tokens[:-1]))


def _digit_token(value: float) -> TokenLogprob:
    digit = int(value)
    frac = value - digit
    dist = {digit: 1 - frac} if frac == 0 else {digit: 1 - frac, digit + 1: frac}
    return digit_distribution(dist)[0]


def plan_reply(text: str, entropy: float = 2.0) -> Scripted:
    tokens = tuple(TokenLogprob(w, -0.5, ((w, -0.5), ("x", -1.5)), entropy) for w in text.split())
    return Scripted(text=text, logprobs=tokens, vocab_size=1000)


def bidder(
    name: str,
    price: float,
    *,
    plan: str = "inspect files run tests fix bug verify",
    refined: str | None = None,
    scores: Mapping[str, float] | Callable[[str], float] | None = None,
    parallel: bool = False,
    logprobs: bool = True,
    actions: Sequence[str] = ("ACTION: finish nothing to do",),
) -> AuctionAgent:
    """A scripted agent: its bid, its refined bid, the 0-5 score it gives each plan, and
    the actions it takes if it wins (one per step; the last one repeats)."""
    steps = iter(actions)
    last = [actions[-1]]

    def score_of(plan: str) -> float:
        return scores(plan) if callable(scores) else (scores or {}).get(plan, 3.0)

    def respond(request: Request) -> Scripted | str | Exception:
        role = role_of(request)
        if role == "execute":
            last[0] = next(steps, last[0])
            return last[0]
        if role == "bid":
            return plan_reply(plan) if logprobs else plan
        if role == "refine":
            text = refined or plan
            return plan_reply(text) if logprobs else text
        if role == "panel":
            shown = [(label, score_of(text)) for label, text in panel_plans(request)]
            return panel_reply(shown, logprobs)
        value = score_of(plan_of(request))
        if not logprobs:
            return str(int(value))
        return Scripted(text=str(int(value)), logprobs=(_digit_token(value),))

    model = ScriptedModel(
        name, respond, price_in=price, price_out=price, supports_logprobs=logprobs
    )
    return AuctionAgent(name=name, price=price, model=model, parallel=parallel)
