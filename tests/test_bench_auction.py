"""`sale-tui bench auction`'s measurement, with scripted agents at the model seam: the designs
side by side on the same jobs, the token split, the resumable cache and each juror's AUC."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sale_tui.auction import AuctionSettings
from sale_tui.benchmark import auction_cost
from sale_tui.benchmark.tasks import Task
from sale_tui.models.scripted import ScriptedModel
from tests.auction_helpers import bidder

TASKS = [
    Task("sq", "coding", "def square(x):\n    '''x squared'''\n", "short", "python"),
    Task("q", "research", "Who wrote the first program?", "easy", "answer", answers=("Ada",)),
]
DESIGNS = [auction_cost.DESIGNS["v1"], auction_cost.DESIGNS["lean"]]


def roster() -> list:  # type: ignore[type-arg]
    judge = {"big plan with tests": 5.0, "small plan": 1.0}
    return [
        bidder("small", 0.1, plan="small plan", scores=judge),
        bidder("large", 2.0, plan="big plan with tests", scores=judge),
    ]


def test_the_designs_are_measured_side_by_side_and_lean_computes_less(tmp_path: Path) -> None:
    agents = roster()
    results = auction_cost.measure(TASKS, [agents], DESIGNS, AuctionSettings(), tmp_path)
    assert [(r.task, r.design) for r in results] == [
        ("sq", "v1"),
        ("sq", "lean"),
        ("q", "v1"),
        ("q", "lean"),
    ]
    for v1, lean in zip(results[::2], results[1::2], strict=True):
        assert v1.calls == lean.calls == 6  # 2 bids, 4 jury calls
        assert v1.winner == lean.winner
        assert lean.cached_tokens > v1.cached_tokens
        assert lean.computed_tokens < v1.computed_tokens
        assert lean.prompt_tokens + lean.generated_tokens == (
            lean.computed_tokens + lean.cached_tokens
        )
    # the run is cached as it goes: a second run asks no model
    before = [len(a.model.requests) for a in agents if isinstance(a.model, ScriptedModel)]
    again = auction_cost.measure(TASKS, [agents], DESIGNS, AuctionSettings(), tmp_path)
    after = [len(a.model.requests) for a in agents if isinstance(a.model, ScriptedModel)]
    assert again == results and before == after


def test_juror_auc_says_how_well_scores_predict_who_solved_the_task(tmp_path: Path) -> None:
    results = auction_cost.measure(TASKS, [roster()], DESIGNS[1:], AuctionSettings(), tmp_path)
    table = tmp_path / "outcomes.json"
    table.write_text(
        json.dumps(
            {
                f"{task}|{agent}": {"passed": agent == "large"}
                for task in ("sq", "q")
                for agent in ("small", "large")
            }
        )
    )
    passed = auction_cost.outcome_lookup(table)
    # both jurors score the plan of the agent that solved the task higher: a perfect juror
    assert auction_cost.juror_auc(results, passed) == {"large": 1.0, "small": 1.0}
    rows = auction_cost.summary(results, passed)
    every = next(r for r in rows if r["domain"] == "all")
    assert every["auctions"] == 2 and every["juror_auc"] == {"large": 1.0, "small": 1.0}
    assert {r["domain"] for r in rows} == {"all", "coding", "research"}
    # one class only: no AUC rather than a made-up one
    assert auction_cost.juror_auc(results, lambda task, agent: True) == {
        "large": None,
        "small": None,
    }


def test_an_unknown_design_is_a_usage_error() -> None:
    from tests.conftest import run_cli

    result = run_cli("bench", "auction", "--designs", "v9")
    assert result.returncode == 2
    assert "unknown design 'v9'" in result.stderr


pytestmark = pytest.mark.usefixtures("isolated_home")


def test_the_panel_jury_asks_each_juror_once(tmp_path: Path) -> None:
    designs = [auction_cost.DESIGNS["lean"], auction_cost.DESIGNS["panel"]]
    lean, panel = auction_cost.measure(TASKS[:1], [roster()], designs, AuctionSettings(), tmp_path)
    assert (lean.design, panel.design) == ("lean", "panel")
    assert lean.calls == 6 and panel.calls == 4  # 2 bids; 4 one-token calls or 2 panels
    assert panel.winner == lean.winner == "large"
    assert sorted(panel.jury) == sorted(lean.jury)  # the same scores, read from one call each
