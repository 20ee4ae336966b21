"""The automatic refit (issue 15, item 6): due after ``auction.refit_every`` new outcomes,
adopted only when it routes the held-out jobs no worse, reported in ``history``."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from sale_tui.auction import Weights
from sale_tui.config import Settings
from sale_tui.memory import AuctionMemory
from sale_tui.refit import refit_if_due, weights_status
from sale_tui.runner import weights_from
from tests.conftest import run_cli
from tests.test_calibrate import fill_world, record_auction

pytestmark = pytest.mark.usefixtures("with_minilm")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def settings(every: int) -> Settings:
    return Settings.model_validate({"auction": {"refit_every": every}})


def test_a_refit_comes_every_n_outcomes_and_the_auction_then_uses_it(tmp_path: Path) -> None:
    memory = AuctionMemory(tmp_path / "m.db")
    config = settings(12)
    fill_world(memory, 11)
    assert refit_if_due(memory, config) is None  # 11 of 12
    assert "next refit after 1 more outcomes" in weights_status(memory, config)
    fill_world(memory, 1, seed=2)
    refit = refit_if_due(memory, config)
    assert refit is not None and refit.outcomes == 12 and refit.tasks == 12
    assert refit.adopted and refit.heldout_after >= refit.heldout_before
    fitted = memory.latest_fitted_weights()
    assert fitted is not None and weights_from(config, memory) == fitted
    assert fitted != weights_from(settings(0))  # not the configured weights
    assert memory.outcomes_since_fit() == 0
    assert refit_if_due(memory, config) is None  # nothing new since
    status = weights_status(memory, config)
    assert "refit automatically" in status and "from 12 auctions" in status
    assert "next refit after 12 more outcomes" in status
    fill_world(memory, 12, seed=3)
    again = refit_if_due(memory, config)
    assert again is not None and again.tasks == 24


def held_out_ids(memory: AuctionMemory, heldout: float = 0.25, seed: int = 0) -> set[str]:
    """The auctions ``calibrate`` holds out with its defaults: the same order and shuffle."""
    ids = [
        row[0]
        for row in memory.db.execute(
            "SELECT id FROM auctions WHERE status = 'won' ORDER BY started_at"
        ).fetchall()
    ]
    random.Random(seed).shuffle(ids)
    return set(ids[: max(1, round(len(ids) * heldout))])


def test_a_refit_that_routes_the_held_out_jobs_worse_is_kept_but_not_used(
    tmp_path: Path,
) -> None:
    memory = AuctionMemory(tmp_path / "m.db")
    always_largest = Weights(cost=-1.0, entropy=0.0, default_juror=0.0)
    memory.save_fitted_weights(
        always_largest,
        records=0,
        train_accuracy=1.0,
        heldout_accuracy=1.0,
        baseline_heldout_accuracy=1.0,
    )
    scores = {"small": {"small": 3.0, "large": 3.0}, "large": {"small": 3.0, "large": 3.0}}
    prices = {"small": 0.1, "large": 2.0}
    for _ in range(8):  # the bids, every agent's outcome still to come
        record_auction(memory, scores, prices, {})
    held = held_out_ids(memory)
    for (auction_id,) in memory.db.execute("SELECT id FROM auctions").fetchall():
        # training says the small agent does it; the held-out jobs say only the large one can
        small_ok = auction_id not in held
        memory.record_execution(auction_id, "small", "success" if small_ok else "failure")
        memory.record_execution(auction_id, "large", "success")
    config = settings(8)
    refit = refit_if_due(memory, config)
    assert refit is not None and not refit.adopted
    assert refit.heldout_after < refit.heldout_before == 1.0
    assert memory.latest_fitted_weights() == always_largest  # still the weights in use
    assert refit_if_due(memory, config) is None  # the same data is not tried again
    status = weights_status(memory, config)
    assert "fitted by `sale-tui calibrate`" in status
    assert "last refit not adopted: it routed the held-out jobs worse" in status
    assert "kept the weights in use (it routed the held-out jobs worse)" in refit.line()


def test_refit_every_zero_is_off(tmp_path: Path) -> None:
    memory = AuctionMemory(tmp_path / "m.db")
    fill_world(memory, 30)
    assert refit_if_due(memory, settings(0)) is None
    assert memory.latest_fit() is None
    assert "automatic refit off (auction.refit_every = 0)" in weights_status(memory, settings(0))
    off = Settings.model_validate({"auction": {"use_fitted_weights": False, "refit_every": 1}})
    assert refit_if_due(memory, off) is None
    assert "use_fitted_weights is off" in weights_status(memory, off)


def test_a_first_refit_not_adopted_leaves_the_configured_weights(tmp_path: Path) -> None:
    memory = AuctionMemory(tmp_path / "m.db")
    fill_world(memory, 8)
    result_weights = Weights(cost=1.0, entropy=0.0, default_juror=0.0)
    memory.save_fitted_weights(
        result_weights,
        records=8,
        train_accuracy=1.0,
        heldout_accuracy=0.0,
        baseline_heldout_accuracy=1.0,
        trigger="auto",
        adopted=False,
        reason="it routed the held-out jobs worse",
    )
    assert memory.latest_fitted_weights() is None
    status = weights_status(memory, settings(20))
    assert status.startswith("auction weights: the configured ones (no fit adopted yet)")
    assert "last refit not adopted: it routed the held-out jobs worse" in status


def test_too_few_auctions_to_fit_waits_for_more(tmp_path: Path) -> None:
    memory = AuctionMemory(tmp_path / "m.db")
    fill_world(memory, 3)  # calibrate needs 4
    assert refit_if_due(memory, settings(2)) is None
    assert memory.latest_fit() is None and memory.outcomes_since_fit() == 3
    fill_world(memory, 1, seed=5)
    assert refit_if_due(memory, settings(2)) is not None


def test_history_says_which_weights_the_auction_uses(isolated_home: Path) -> None:
    memory = AuctionMemory(isolated_home / "data" / "memory.db")
    fill_world(memory, 5)
    isolated_home.mkdir(parents=True, exist_ok=True)
    (isolated_home / "config.toml").write_text("[auction]\nrefit_every = 8\n")
    before = run_cli("history")
    assert before.returncode == 0, before.stderr
    said = " ".join(before.stdout.split())  # rich wraps the line at the terminal's width
    assert "auction weights: the configured ones (no fit yet)" in said
    assert "next refit after 3 more outcomes" in said
    calibrated = run_cli("calibrate")
    assert calibrated.returncode == 0, calibrated.stderr
    said = " ".join(run_cli("history").stdout.split())
    assert "fitted by `sale-tui calibrate`" in said
    assert "next refit after 8 more outcomes" in said


@pytest.mark.sandbox
@pytest.mark.anyio
async def test_the_tui_refits_after_the_job_that_brings_the_twentieth_outcome(
    tmp_path: Path,
) -> None:
    from textual.widgets import Static, TabbedContent

    from sale_tui.tui.app import SaleApp
    from tests.sandbox_helpers import make_repo
    from tests.test_tui import two_agents
    from tests.tui_helpers import ready, services_for, text_of, type_job, wait_until

    memory_path = tmp_path / "memory.db"
    fill_world(AuctionMemory(memory_path), 19)  # the TUI's runner: the default refit_every 20
    repo = make_repo(tmp_path / "repo")
    app = SaleApp(services_for(repo, memory_path, two_agents()))
    async with app.run_test(size=(120, 30)) as pilot:
        await ready(pilot)
        await type_job(pilot, "Fix add() in calc.py")
        await pilot.press("ctrl+r")
        await wait_until(pilot, lambda: app.query_one(TabbedContent).active == "review")
        await wait_until(pilot, lambda: AuctionMemory(memory_path).latest_fit() is not None)
        await pilot.press("f7")
        line = app.query_one("#costs-weights", Static)
        await wait_until(pilot, lambda: "refit automatically" in text_of(line))
    fit = AuctionMemory(memory_path).latest_fit()
    assert fit is not None and fit.trigger == "auto" and fit.outcomes == 20
