"""SALE's cost-value arithmetic: pure functions over numbers, no model calls.

- cost ``C = w_c * pi * |s|``. To make default weights work for any roster, ``pi * |s|`` is
  expressed relative to the most expensive agent writing a full-length bid
  (``pi_max * max_bid_tokens``), so ``C`` lies in ``[0, w_c]``. This is the paper's cost with
  ``w_c`` divided by a per-auction constant: the ranking of bids is unchanged.
- value ``V = w_h * H + sum_j w_j * gamma_j + w_m * m`` with ``H`` the bid's mean per-token
  entropy normalised to [0, 1], ``gamma_j`` in [0, 5] the score from juror ``j`` and ``m`` in
  [0, 1] the bidder's smoothed success rate on similar past jobs (``track.TrackRecord``; the
  same prior for every agent the memory knows nothing about, so an empty memory adds the same
  to every bid). ``m`` is beyond the paper: it lets recorded outcomes move work up or down.
- score ``C - V``; the lowest score wins, ties go to the cheaper agent.

A term that could not be measured (no log-probabilities, a juror that failed) is ``None`` and
is left out of ``V``; the jury sum is then rescaled by the weight of the jurors present so that
a bid is not penalised for a juror's failure. Both cases are recorded on the bid.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sale_tui.protocols import Reply, TokenLogprob
from sale_tui.repetition import repeats_itself

LIKERT_MAX = 5
_DIGIT = re.compile(r"[0-5]")


def token_entropy_from_top(top: Sequence[tuple[str, float]]) -> float | None:
    """Entropy (nats) of a top-k distribution renormalised to sum to one."""
    if not top:
        return None
    probs = [math.exp(logprob) for _, logprob in top]
    total = sum(probs)
    if total <= 0:
        return None
    return -sum((p / total) * math.log(p / total) for p in probs if p > 0)


def normalised_entropy(reply: Reply) -> tuple[float | None, str | None]:
    """Mean per-token entropy of a reply in [0, 1], and how it was measured.

    ``exact``: full-vocabulary entropies divided by ``log(vocab)``.
    ``top_k``: entropy of each token's renormalised top-k divided by ``log(k)``.
    ``(None, None)`` when the reply has no log-probabilities.
    """
    tokens: Sequence[TokenLogprob] = reply.logprobs or ()
    if not tokens:
        return None, None
    if reply.logprob_kind == "exact" and reply.vocab_size and reply.vocab_size > 1:
        values = [t.entropy for t in tokens if t.entropy is not None]
        if values:
            return _clamp(sum(values) / len(values) / math.log(reply.vocab_size)), "exact"
    values = []
    for token in tokens:
        entropy = token_entropy_from_top(token.top)
        if entropy is not None and len(token.top) > 1:
            values.append(entropy / math.log(len(token.top)))
    if not values:
        return None, None
    return _clamp(sum(values) / len(values)), "top_k"


def _clamp(value: float, low: float = 0.0, high: float = 1.0) -> float:
    return min(high, max(low, value))


def degenerate_reason(text: str, prompt: str = "") -> str | None:
    """Why a bid is garbage rather than a plan (empty, looping, or the prompt's own lines
    copied back: a 0.5B model's bid was the jury's 0-5 scale, or one line of it, and it won),
    or None."""
    stripped = text.strip()
    if not stripped:
        return "empty bid"
    lines = [line.strip() for line in stripped.splitlines() if line.strip()]
    given = {line.strip() for line in prompt.splitlines() if len(line.strip()) > 12}
    copied = sum(line in given for line in lines)
    # one copied line among real ones is a quote; a bid that is nothing but copied lines (the
    # 0.5B's one-line "5 = concrete and correct: …" won the demo's auction) is not a plan
    if copied == len(lines) or (copied >= 2 and copied * 2 >= len(lines)):
        return f"degenerate bid: {copied} of its {len(lines)} lines are copied from the prompt"
    ratio = repeats_itself(stripped)
    if ratio is not None:
        return f"degenerate bid: it repeats itself (compression ratio {ratio:.1f})"
    return None


def likert_from_logprobs(reply: Reply) -> float | None:
    """Expected 0-5 score from the first token's distribution over the digits 0-5."""
    if not reply.logprobs:
        return None
    first = reply.logprobs[0]
    mass: dict[int, float] = {}
    for token, logprob in first.top or ((first.token, first.logprob),):
        text = token.strip()
        if len(text) == 1 and _DIGIT.fullmatch(text):
            mass[int(text)] = mass.get(int(text), 0.0) + math.exp(logprob)
    total = sum(mass.values())
    if total <= 0:
        return None
    # clamped: the weighted mean can land an ulp outside 0-5 (hypothesis found 5.000000000000001)
    return min(5.0, max(0.0, sum(digit * p for digit, p in mass.items()) / total))


def likert_from_text(text: str) -> float | None:
    """The first standalone digit 0-5 in a juror's text reply, or None."""
    match = re.search(r"(?<![\d.])([0-5])(?![\d.])", text)
    return float(match.group(1)) if match else None


@dataclass(frozen=True)
class Weights:
    """The mechanism's weights; defaults are documented in the config (``[auction]``)."""

    cost: float = 0.5
    entropy: float = 0.25
    jurors: Mapping[str, float] | None = None
    """Per-juror weight on the 0-5 score; a juror missing here gets ``default_juror``."""
    default_juror: float | None = None
    """Weight of a juror not in ``jurors``; None means ``1 / (5 * number of jurors)``, so that
    the whole jury adds at most 1 to the value."""
    memory: float = 1.0
    """w_m: weight of the bidder's success rate on similar past jobs. At 1, a 35-point gap in
    success rate outweighs the cost gap between a 1.5B bid and a 0.5B one (about 0.3)."""

    def juror_weight(self, juror: str, jury_size: int) -> float:
        if self.jurors and juror in self.jurors:
            return self.jurors[juror]
        if self.default_juror is not None:
            return self.default_juror
        return 1.0 / (LIKERT_MAX * max(jury_size, 1))


def cost_term(
    price: float, bid_tokens: int, *, max_price: float, max_bid_tokens: int, weights: Weights
) -> float:
    scale = max(max_price, 1e-12) * max(max_bid_tokens, 1)
    return weights.cost * price * bid_tokens / scale


def value_term(
    entropy: float | None,
    jury: Mapping[str, float | None],
    *,
    jury_size: int,
    weights: Weights,
    success_rate: float | None = None,
) -> float:
    """``w_h * H + sum_j w_j * gamma_j + w_m * m`` over the terms present (jury rescaled, see
    above)."""
    value = weights.entropy * entropy if entropy is not None else 0.0
    if success_rate is not None:
        value += weights.memory * success_rate
    present = {j: s for j, s in jury.items() if s is not None}
    if present:
        all_weight = sum(weights.juror_weight(j, jury_size) for j in jury)
        present_weight = sum(weights.juror_weight(j, jury_size) for j in present)
        jury_sum = sum(weights.juror_weight(j, jury_size) * s for j, s in present.items())
        if present_weight > 0:
            value += jury_sum * (all_weight / present_weight)
    return value


def rank_key(score: float, price: float, name: str) -> tuple[float, float, str]:
    """How the auction orders bids: lowest score first; ties go to the cheaper agent (then the
    name). Scores are rounded so float noise never decides a tie."""
    return (round(score, 12), price, name)


def escalation_agents(winner: str, prices: Mapping[str, float], tries: int) -> list[str]:
    """Who tries after the winner's work fails, in turn: agents pricier than the winner,
    cheapest first, and only the last ``tries`` of them, so the last try is always the
    largest agent (with three agents and one try: the cheapest's failure goes straight to the
    largest, not to the middle one, which fails with it more often than not)."""
    pricier = sorted((price, name) for name, price in prices.items() if price > prices[winner])
    return [name for _, name in pricier][-tries:] if tries > 0 else []


def pick_lowest(scored: Sequence[tuple[float, float, str]]) -> str | None:
    """The name with the lowest score (``rank_key`` order). ``scored`` holds
    ``(score, price, name)``."""
    if not scored:
        return None
    return min(scored, key=lambda item: rank_key(*item))[2]
