"""The panel jury (issue 16, item 4): one call per juror scores every plan. Scripted models at
the seam, the real templates; a real llama.cpp panel is in test_auction_local.py."""

from __future__ import annotations

import pytest

from sale_tui.auction import AuctionSettings, Job, run_auction
from sale_tui.auction.events import Bid, JuryScored, WinnerChosen
from sale_tui.auction.panel import read_scores, shown_order
from sale_tui.models.scripted import ScriptedModel, digit_distribution
from sale_tui.prompting import PromptLibrary
from sale_tui.protocols import Reply, TokenLogprob, Usage
from tests.auction_helpers import bidder, panel_plans, role_of

JOB = Job(text="Fix the failing test in parse.py", kind="coding", repo_summary="parse.py")
JUDGE = {"big plan with tests": 4.5, "small plan": 1.0, "middle plan": 3.0}
PLANS = {"small": "small plan", "middle": "middle plan", "large": "big plan with tests"}


def roster() -> list:  # type: ignore[type-arg]
    return [
        bidder(name, price, plan=PLANS[name], scores=JUDGE)
        for name, price in (("small", 0.1), ("middle", 0.5), ("large", 2.0))
    ]


def panel_auction(agents):  # type: ignore[no-untyped-def]
    settings = AuctionSettings(refine=False, jury="panel")
    return list(run_auction(JOB, agents, PromptLibrary(), None, settings))


def test_each_juror_scores_every_plan_in_one_call() -> None:
    agents = roster()
    events = panel_auction(agents)
    for agent in agents:
        model = agent.model
        assert isinstance(model, ScriptedModel)
        roles = [role_of(r) for r in model.requests]
        assert roles == ["bid", "panel"]  # one jury call, not one per plan
        shown = panel_plans(model.requests[1])
        assert sorted(text for _, text in shown) == sorted(JUDGE)
        assert [label for label, _ in shown] == ["A", "B", "C"]
        # read as the reply to its own bid, so its cache still holds the bid prompt and plan
        messages = model.requests[1].messages
        assert [m["role"] for m in messages] == ["user", "assistant", "user"]
        assert messages[1]["content"] == PLANS[agent.name]
    scores = [e for e in events if isinstance(e, JuryScored)]
    assert len(scores) == 9
    by_plan = {(e.bidder, e.juror): e.score for e in scores}
    for juror in ("small", "middle", "large"):
        assert by_plan[("large", juror)] == pytest.approx(4.5)  # the digit distribution's mean
        assert by_plan[("small", juror)] == pytest.approx(1.0)
    final = events[-1]
    assert isinstance(final, WinnerChosen) and final.winner.agent == "large"


def test_one_call_is_counted_once() -> None:
    events = panel_auction(roster())
    scores = [e for e in events if isinstance(e, JuryScored)]
    carrying = [e for e in scores if e.tokens > 0]
    assert len(carrying) == 3  # one per juror's call, not one per plan
    final = events[-1]
    assert isinstance(final, WinnerChosen)
    assert final.tokens_by_phase["jury"] == sum(e.tokens for e in scores) > 0


def test_the_order_shown_is_seeded_per_juror_and_the_same_every_time() -> None:
    bids = [
        Bid(name, "original", f"plan of {name}", 10, 1.0, 0.5, "exact", 0.0) for name in "pqrstu"
    ]
    orders = {juror: [b.agent for _, b in shown_order("job", juror, bids)] for juror in "xyz"}
    assert len({tuple(order) for order in orders.values()}) > 1  # no plan always first
    assert orders["x"] == [b.agent for _, b in shown_order("job", "x", bids)]


def tokens(*words: str) -> tuple[TokenLogprob, ...]:
    return tuple(TokenLogprob(w, -0.1) for w in words)


def test_scores_are_read_at_each_digit_from_its_distribution() -> None:
    four_or_five = digit_distribution({4: 0.5, 5: 0.5})[0]
    two = digit_distribution({2: 1.0})[0]
    reply = Reply(
        "j",
        "m",
        "Plan A: 4\nB: 2",
        Usage(),
        0.0,
        logprobs=(*tokens("Plan", " A", ":", " "), four_or_five, *tokens("\n", "B", ":", " "), two),
    )
    assert read_scores(reply, ["A", "B"]) == {"A": (4.5, "logprobs"), "B": (2.0, "logprobs")}


def test_without_logprobs_the_lines_are_read_and_a_missing_plan_is_a_gap() -> None:
    reply = Reply("j", "m", "1. **A**: 5\nC = 3\nsomething else", Usage(), 0.0)
    scores = read_scores(reply, ["A", "B", "C"])
    assert scores["A"] == (5.0, "text") and scores["C"] == (3.0, "text")
    assert scores["B"][0] is None and "no score for plan B" in scores["B"][1]
    # a placeholder copied instead of a digit is no score, not a made-up one
    copied = Reply("j", "m", "A: <digit>\nB: 9", Usage(), 0.0, logprobs=tokens("A", ":", " <"))
    assert [score for score, _ in read_scores(copied, ["A", "B"]).values()] == [None, None]


def test_a_failing_juror_call_leaves_gaps_and_the_auction_goes_on() -> None:
    agents = roster()
    broken = agents[1].model
    assert isinstance(broken, ScriptedModel)
    respond = broken.respond

    def fails_on_the_panel(request):  # type: ignore[no-untyped-def]
        if role_of(request) == "panel":
            return RuntimeError("provider error 500")
        return respond(request)

    broken.respond = fails_on_the_panel  # type: ignore[method-assign]
    events = panel_auction(agents)
    gaps = [e for e in events if isinstance(e, JuryScored) and e.juror == "middle"]
    assert len(gaps) == 3 and all(e.score is None and "500" in e.note for e in gaps)
    assert isinstance(events[-1], WinnerChosen)
