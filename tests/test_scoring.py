"""Invariants of SALE's cost-value arithmetic (hypothesis)."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from sale_tui.auction.scoring import (
    Weights,
    cost_term,
    likert_from_logprobs,
    likert_from_text,
    normalised_entropy,
    pick_lowest,
    value_term,
)
from sale_tui.models.scripted import digit_distribution
from sale_tui.protocols import Reply, TokenLogprob, Usage

prices = st.floats(min_value=0.0, max_value=100.0, allow_nan=False)
tokens = st.integers(min_value=0, max_value=2048)
likert = st.floats(min_value=0.0, max_value=5.0, allow_nan=False)
weights = st.builds(Weights, cost=st.floats(0, 10), entropy=st.floats(-1, 1))


def reply(logprobs: tuple[TokenLogprob, ...] | None, kind=None, vocab=None) -> Reply:  # type: ignore[no-untyped-def]
    return Reply(
        agent="a",
        model="m",
        text="",
        usage=Usage(),
        cost_usd=0.0,
        logprobs=logprobs,
        logprob_kind=kind,
        vocab_size=vocab,
    )


@given(prices, prices, tokens, tokens, weights)
def test_cost_is_monotone_in_price_and_length(p1, p2, n1, n2, w) -> None:  # type: ignore[no-untyped-def]
    lo_p, hi_p = sorted((p1, p2))
    lo_n, hi_n = sorted((n1, n2))
    kw = {"max_price": 100.0, "max_bid_tokens": 2048, "weights": w}
    assert cost_term(lo_p, lo_n, **kw) <= cost_term(hi_p, hi_n, **kw) + 1e-12
    assert 0 <= cost_term(hi_p, hi_n, **kw) <= w.cost + 1e-12


@given(st.lists(likert, min_size=1, max_size=6), st.integers(0, 5), st.floats(0.0, 5.0))
def test_value_grows_with_any_jurors_score(scores, index, bump) -> None:  # type: ignore[no-untyped-def]
    index %= len(scores)
    jury = {f"j{i}": s for i, s in enumerate(scores)}
    better = dict(jury)
    better[f"j{index}"] = min(5.0, jury[f"j{index}"] + bump)
    w = Weights()
    assert (
        value_term(None, better, jury_size=len(jury), weights=w)
        >= value_term(None, jury, jury_size=len(jury), weights=w) - 1e-12
    )


@given(likert, st.integers(2, 6), st.integers(1, 5))
def test_a_missing_juror_does_not_penalise_a_bid(score, size, missing) -> None:  # type: ignore[no-untyped-def]
    missing = min(missing, size - 1)
    full = {f"j{i}": score for i in range(size)}
    gappy = {f"j{i}": (None if i < missing else score) for i in range(size)}
    w = Weights()
    assert math.isclose(
        value_term(0.5, gappy, jury_size=size, weights=w),
        value_term(0.5, full, jury_size=size, weights=w),
        abs_tol=1e-9,
    )


@given(
    st.lists(
        st.tuples(st.floats(-10, 10), prices, st.text(min_size=1, max_size=5)),
        min_size=1,
        max_size=8,
        unique_by=lambda t: t[2],
    )
)
def test_lowest_score_wins_and_ties_go_cheaper(bids) -> None:  # type: ignore[no-untyped-def]
    winner = pick_lowest(bids)
    best = min(round(s, 12) for s, _, _ in bids)
    tied = [b for b in bids if round(b[0], 12) == best]
    chosen = next(b for b in bids if b[2] == winner)
    assert round(chosen[0], 12) == best
    assert chosen[1] == min(b[1] for b in tied)


@given(st.dictionaries(st.integers(0, 5), st.floats(0.001, 1.0), min_size=1))
def test_jury_score_is_the_expected_digit(dist) -> None:  # type: ignore[no-untyped-def]
    total = sum(dist.values())
    expected = sum(d * p / total for d, p in dist.items())
    score = likert_from_logprobs(reply(digit_distribution(dist)))
    assert score is not None and math.isclose(score, expected, rel_tol=1e-9)
    assert 0 <= score <= 5


def test_non_digit_tokens_are_ignored_and_absent_digits_give_none() -> None:
    top = (("The", -0.1), ("4", -2.0), ("10", -2.5), ("5", -3.0))
    score = likert_from_logprobs(reply((TokenLogprob("The", -0.1, top),)))
    p4, p5 = math.exp(-2.0), math.exp(-3.0)
    assert score is not None and math.isclose(score, (4 * p4 + 5 * p5) / (p4 + p5))
    assert likert_from_logprobs(reply((TokenLogprob("Yes", -0.1, (("Yes", -0.1),)),))) is None
    assert likert_from_logprobs(reply(None)) is None


def test_text_parsing() -> None:
    assert likert_from_text("Score: 4") == 4.0
    assert likert_from_text("4/5") == 4.0
    assert likert_from_text("I'd say 3.5") is None or likert_from_text("I'd say 3.5") == 3.0
    assert likert_from_text("10 out of 10") is None
    assert likert_from_text("no idea") is None


@given(st.lists(st.floats(0.0, math.log(1000)), min_size=1, max_size=20))
def test_exact_entropy_is_normalised_by_log_vocab(entropies) -> None:  # type: ignore[no-untyped-def]
    toks = tuple(TokenLogprob("t", -0.1, (("t", -0.1),), e) for e in entropies)
    value, kind = normalised_entropy(reply(toks, "exact", 1000))
    assert kind == "exact" and value is not None
    assert math.isclose(value, sum(entropies) / len(entropies) / math.log(1000), abs_tol=1e-9)
    assert 0.0 <= value <= 1.0


@given(st.lists(st.lists(st.floats(-20, 0), min_size=2, max_size=6), min_size=1, max_size=10))
def test_top_k_entropy_is_in_unit_interval(tops) -> None:  # type: ignore[no-untyped-def]
    toks = tuple(
        TokenLogprob("t", lps[0], tuple((f"t{i}", lp) for i, lp in enumerate(lps))) for lps in tops
    )
    value, kind = normalised_entropy(reply(toks, "top_k"))
    assert kind == "top_k" and value is not None and 0.0 <= value <= 1.0 + 1e-12


def test_uniform_top_k_has_entropy_one_and_certain_token_zero() -> None:
    uniform = TokenLogprob("a", math.log(0.25), tuple((c, math.log(0.25)) for c in "abcd"))
    certain = TokenLogprob("a", 0.0, (("a", 0.0), ("b", -60.0)))
    assert math.isclose(normalised_entropy(reply((uniform,), "top_k"))[0] or 0, 1.0)
    assert (normalised_entropy(reply((certain,), "top_k"))[0] or 0) < 1e-9


def test_looping_text_is_degenerate_and_real_plans_are_not() -> None:
    from sale_tui.auction.scoring import degenerate_reason

    loop = "The plan is scored for quality and its length counts as cost.\n\n" * 12
    assert "repeats itself" in (degenerate_reason("The job is done.\n\n" + loop) or "")
    plan = (
        "1. Read calc.py and test_calc.py to see what add() should return.\n"
        "2. Run pytest to reproduce the failure and note the assertion message.\n"
        "3. Change the subtraction in add() to an addition; keep the signature.\n"
        "4. Run pytest again; also try add(-1, 1) and add(0, 0) by hand.\n"
        "Pitfall: other callers may rely on the bug; grep for add( before changing it.\n"
    )
    assert degenerate_reason(plan) is None
    assert degenerate_reason("   ") == "empty bid"
    assert degenerate_reason("ok ok ok ok") is None  # too short to judge repetition


def test_a_bid_that_copies_the_prompt_back_is_degenerate() -> None:
    """A real 0.5B bid: the jury's scale, word for word (it won the auction)."""
    from sale_tui.auction.scoring import degenerate_reason
    from sale_tui.prompting import PromptLibrary

    prompt = PromptLibrary().render(
        "bid", job="Add subtract()", kind="coding", repo_summary="", context="", max_tokens=128
    )
    scale = "\n".join(line for line in prompt.splitlines() if line[:1].isdigit() and " = " in line)
    assert "copied from the prompt" in (degenerate_reason(scale, prompt) or "")
    plan = "1. Open calc.py.\n2. Add subtract(a, b).\n3. Run the tests."
    assert degenerate_reason(plan, prompt) is None
    assert degenerate_reason(plan + "\n" + scale.splitlines()[0], prompt) is None  # one line
    # a real 0.5B bid on the demo job (Intel and AMD alike): one line of the scale, alone
    only = "5 = concrete and correct: what to change, how, and how to verify it (tests)"
    assert only in scale.splitlines()
    assert "1 of its 1 lines are copied" in (degenerate_reason(only, prompt) or "")
    assert "copied" in (degenerate_reason("Add subtract()", prompt) or "")  # the job echoed
