"""The panel jury (issue 16, item 4): one call per juror that scores every bid at once.

The pairwise jury (``auction.jury``) asks each juror about each plan in its own one-token
call. The panel shows a juror every plan, labelled A, B, … in an order seeded by the job and
the juror (so no plan is always first, and the same auction is asked the same way again),
and asks for one line per plan: ``A: 4``. Each score is the expected digit of the
distribution at the digit's position, as in the pairwise jury; a line whose digit came
without log-probabilities is read from the text.

The juror reads the panel as the reply to its bid prompt, like the pairwise jury, so a local
model's cache still holds the shared block and its own plan. One call's tokens are carried
by the first plan's verdict; the others' verdicts carry none, so the ledger counts the call
once.
"""

from __future__ import annotations

import random
import re
import string
from collections.abc import Callable, Sequence

from sale_tui.auction.events import Bid
from sale_tui.auction.jury import Verdicts
from sale_tui.auction.scoring import likert_from_logprobs
from sale_tui.protocols import Message, Model, Reply, TokenLogprob, Usage

Render = Callable[..., str]
"""The auction's template renderer (``role, **variables``)."""

TOKENS_PER_LINE = 6
"""``A: 4`` and a newline are four or five tokens; a little slack for ``Plan A: 4``."""
# the label at the start of a line, before the digit: "A: ", "Plan B = ", "**C**: "
# (a numbered list, "1. A: 4", is read too)
_LINE_START = r"(?:^|\n)[\s*#-]*(?:\d+[.)][\s*]*)?(?:plan\s*)?([A-Z])[*\s]*[:=)\-][*\s]*"
_LABEL_BEFORE_DIGIT = re.compile(_LINE_START + "$", re.I)
_LABELLED_DIGIT = re.compile(_LINE_START + r"([0-5])(?![\d.])", re.I)


def shown_order(seed: str, juror: str, bids: Sequence[Bid]) -> list[tuple[str, Bid]]:
    """The bids in the order this juror sees them, each with its label (A, B, …)."""
    shuffled = list(bids)
    random.Random(f"{seed}|{juror}").shuffle(shuffled)
    return list(zip(string.ascii_uppercase, shuffled, strict=False))


def messages_for(bid_prompt: str, own_plan: str | None, question: str) -> list[Message]:
    """The panel as the reply to the juror's own bid, when it has one (its cache holds it)."""
    if own_plan is None:
        return [{"role": "user", "content": f"{bid_prompt}\n\n{question}"}]
    return [
        {"role": "user", "content": bid_prompt},
        {"role": "assistant", "content": own_plan},
        {"role": "user", "content": question},
    ]


def _digit(token: TokenLogprob) -> float | None:
    """The expected digit at a position whose token is a digit 0-5."""
    text = token.token.strip()
    if len(text) != 1 or text not in "012345":
        return None
    return likert_from_logprobs(Reply("", "", "", Usage(), 0.0, logprobs=(token,)))


def read_scores(reply: Reply, labels: Sequence[str]) -> dict[str, tuple[float | None, str]]:
    """Per label: (the 0-5 score or None, how it was read or why there is none)."""
    found: dict[str, tuple[float | None, str]] = {}
    written = ""
    for token in reply.logprobs or ():
        before = _LABEL_BEFORE_DIGIT.search(written)
        label = before.group(1).upper() if before else ""
        if label in labels and label not in found:
            score = _digit(token)
            if score is not None:
                found[label] = (score, "logprobs")
        written += token.token
    for label, digit in _LABELLED_DIGIT.findall(reply.text):
        if label.upper() in labels and label.upper() not in found:
            found[label.upper()] = (float(digit), "text")
    return {
        label: found.get(label, (None, f"no score for plan {label} in reply {reply.text[:40]!r}"))
        for label in labels
    }


def judge_all(
    model: Model,
    juror: str,
    bids: Sequence[Bid],
    bid_prompt: str,
    render: Render,
    top_logprobs: int,
) -> Verdicts:
    """One juror's verdicts on every bid from one call; a failed call fails them all."""
    shown = shown_order(bid_prompt, juror, bids)
    own = next((bid.text for bid in bids if bid.agent == juror), None)
    question = render("jury_panel", plans=[(label, bid.text) for label, bid in shown])
    messages = messages_for(bid_prompt, own, question)
    try:
        reply = model.complete(
            messages,
            max_tokens=TOKENS_PER_LINE * len(bids) + 4,
            temperature=0.0,
            logprobs=True,
            top_logprobs=top_logprobs,
        )
    except Exception as exc:  # a failing juror call leaves gaps; the auction goes on
        return [(bid, exc) for bid in bids]
    scores = read_scores(reply, [label for label, _ in shown])
    nothing = Reply(reply.agent, reply.model, reply.text, Usage(), 0.0)
    by_agent = {bid.agent: scores[label] for label, bid in shown}
    return [
        (bid, (*by_agent[bid.agent], reply if i == 0 else nothing)) for i, bid in enumerate(bids)
    ]
