"""Sessions in the TUI, driven with Pilot as a user would: follow-ups that build on each other,
a resumed session, a plan approved after editing, the live repo state, and the refusals that
come with the fix. Scripted models at the model seam; the memory, the Docker sandbox and the
git repo are real."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
from textual.widgets import (
    Checkbox,
    DataTable,
    RichLog,
    SelectionList,
    Static,
    TabbedContent,
    TextArea,
)

from sale_tui.memory import AuctionMemory
from sale_tui.models.scripted import ScriptedModel
from sale_tui.tui.app import SaleApp
from sale_tui.tui.history_pane import AuctionScreen
from sale_tui.tui.plan_screen import PlanScreen
from tests.auction_helpers import bidder, role_of
from tests.sandbox_helpers import FIX, git, tree_state
from tests.test_sessions import SUBTRACT, record_job
from tests.test_tui import anyio_backend, repo
from tests.tui_helpers import ready, services_for, text_of, type_job, wait_until

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("with_minilm")]
__all__ = ["anyio_backend", "repo"]  # the fixtures of test_tui.py, shared


def executed_prompts(app: SaleApp) -> list[str]:
    model = next(iter(app.runners.values())).agents[0].model
    assert isinstance(model, ScriptedModel)
    return [r.prompt for r in model.requests if role_of(r) == "execute"]


async def run_and_review(pilot: object, app: SaleApp, text: str) -> None:
    await type_job(pilot, text)  # type: ignore[arg-type]
    await pilot.press("ctrl+r")  # type: ignore[attr-defined]
    await wait_until(pilot, lambda: not app.running)  # type: ignore[arg-type]
    await wait_until(pilot, lambda: app.query_one(TabbedContent).active == "review")  # type: ignore[arg-type]


async def until_the_plan_waits(pilot: object, app: SaleApp) -> None:
    """Tick "approve plan first", run a job, and wait for its plan screen."""
    await ready(pilot)  # type: ignore[arg-type]
    app.query_one("#approve-plan", Checkbox).value = True
    await type_job(pilot, "Fix add()")  # type: ignore[arg-type]
    await pilot.press("ctrl+r")  # type: ignore[attr-defined]
    await wait_until(pilot, lambda: isinstance(app.screen, PlanScreen))  # type: ignore[arg-type]


@pytest.mark.sandbox
async def test_a_follow_up_sees_job_one_and_builds_on_its_branch(
    tmp_path: Path, repo: Path
) -> None:
    memory_path = tmp_path / "memory.db"
    agent = bidder("worker", 0.1, actions=(*FIX, *SUBTRACT))
    app = SaleApp(services_for(repo, memory_path, [agent]))
    before = tree_state(repo)
    async with app.run_test(size=(110, 32)) as pilot:
        await ready(pilot)
        session_line = app.query_one("#session-status", Static)
        assert "new (the first job starts it)" in text_of(session_line)
        await run_and_review(pilot, app, "Fix the bug in add()")
        assert app.query_one("#request", TextArea).text == ""  # cleared for the follow-up
        await pilot.click("#apply-branch")
        await wait_until(pilot, lambda: "applied" in text_of(app.query_one("#review-status")))
        first_branch = text_of(app.query_one("#review-status", Static)).split("applied to ")[1]

        await pilot.press("f2")  # back on the Job tab: the session and its base, read again
        await wait_until(pilot, lambda: "1 job(s)" in text_of(session_line))
        assert f"branch {first_branch.strip()}" in text_of(session_line)

        await run_and_review(pilot, app, "Now also add a subtract() function")
        log = " ".join(
            " ".join(line.text for line in app.query_one("#steps", RichLog).lines).split()
        )
        assert "job 2 · base: branch sale/" in log and "(job 1's work)" in log
        diff = text_of(app.query_one("#diff", Static))
        assert "+def subtract" in diff and "-    return a - b" not in diff  # built on job 1
        prompt = executed_prompts(app)[-1]
        assert '1. "Fix the bug in add()" (coding)' in prompt and "+    return a + b" in prompt
        await pilot.click("#apply-branch")
        await wait_until(pilot, lambda: "applied" in text_of(app.query_one("#review-status")))

    memory = AuctionMemory(memory_path)
    (session,) = memory.sessions()
    jobs = memory.session_jobs(session["id"])
    assert [job.applied_mode for job in jobs] == ["branch", "branch"]
    both = git(repo, "show", f"{jobs[1].applied_branch}:calc.py")
    assert "return a + b" in both and "def subtract" in both
    assert tree_state(repo) == before


@pytest.mark.sandbox
async def test_a_resumed_session_shows_its_base_and_the_next_job_joins_it(
    tmp_path: Path, repo: Path
) -> None:
    memory_path = tmp_path / "memory.db"
    memory = AuctionMemory(memory_path)
    session = memory.new_session(str(repo), "Fix add()")
    record_job(memory, repo, session, "Fix add()", verdict="rejected", patch=b"x")
    app = SaleApp(
        services_for(repo, memory_path, [bidder("worker", 0.1, actions=FIX)]), None, session
    )
    async with app.run_test(size=(110, 32)) as pilot:
        await ready(pilot)
        line = text_of(app.query_one("#session-status", Static))
        assert f"session {session} · 1 job(s)" in line and "starts from: master at" in line
        await run_and_review(pilot, app, "Fix add() for real this time")
        assert "rejected by the user" in executed_prompts(app)[-1]  # job 1 was told, not built on
    assert [j.text for j in memory.session_jobs(session)][-1] == "Fix add() for real this time"


@pytest.mark.sandbox
async def test_the_plan_waits_and_the_edited_plan_is_what_runs(tmp_path: Path, repo: Path) -> None:
    memory_path = tmp_path / "memory.db"
    app = SaleApp(services_for(repo, memory_path, [bidder("worker", 0.1, actions=FIX)]))
    async with app.run_test(size=(110, 32)) as pilot:
        await until_the_plan_waits(pilot, app)
        assert executed_prompts(app) == []  # nothing ran before the user's word
        await pilot.press("f4")  # a tab key does not close the plan behind the job's back
        assert isinstance(app.screen, PlanScreen)
        app.screen.query_one("#plan-text", TextArea).load_text("1. open calc.py 2. fix add")
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: not app.running)
        assert "1. open calc.py 2. fix add" in executed_prompts(app)[0]
    row = AuctionMemory(memory_path).auctions()[0]
    assert (row["plan_status"], row["approved_plan"]) == ("edited", "1. open calc.py 2. fix add")


@pytest.mark.sandbox
async def test_a_tree_edited_outside_the_app_stops_the_job_with_the_fix(
    tmp_path: Path, repo: Path
) -> None:
    memory_path = tmp_path / "memory.db"
    app = SaleApp(services_for(repo, memory_path, [bidder("worker", 0.1, actions=FIX)]))
    async with app.run_test(size=(110, 32)) as pilot:
        await ready(pilot)
        assert "clean" in text_of(app.query_one("#repo-status", Static))
        (repo / "calc.py").write_text("def add(a, b):\n    return b + a\n")  # outside the app
        await type_job(pilot, "Fix add()")
        await pilot.press("ctrl+r")
        await wait_until(pilot, lambda: not app.running)
        notices = " ".join(str(n.message) for n in app._notifications)
        assert "uncommitted changes now" in notices and "tick 'with uncommitted'" in notices
        assert "uncommitted changes" in text_of(app.query_one("#repo-status", Static))
        assert app.query_one("#uncommitted", Checkbox).display  # the choice is on screen now
        assert "nothing to review" in text_of(app.query_one("#review-status", Static))
        assert app.query_one("#request", TextArea).text == "Fix add()"  # back, to run again
    assert AuctionMemory(memory_path).auctions() == []  # refused before any auction


@pytest.mark.sandbox
async def test_a_request_too_long_for_the_context_is_refused_with_its_size(
    tmp_path: Path, repo: Path
) -> None:
    agent = bidder("worker", 0.1)
    agent.model.agent = SimpleNamespace(context=4096)  # type: ignore[attr-defined]
    app = SaleApp(services_for(repo, tmp_path / "memory.db", [agent]))
    async with app.run_test(size=(110, 32)) as pilot:
        await ready(pilot)
        await type_job(pilot, "Fix this:\n" + "x = 1  # a long pasted log line\n" * 200)
        await pilot.press("ctrl+r")
        await wait_until(pilot, lambda: not app.running)
        status = text_of(app.query_one("#review-status", Static))
        assert "tokens, over a quarter of the largest context" in status and "4,096" in status
        assert "Job running" not in status


async def test_history_shows_rejected_work_and_its_diff_and_agents_are_remembered(
    tmp_path: Path, repo: Path
) -> None:
    memory_path = tmp_path / "memory.db"
    memory = AuctionMemory(memory_path)
    session = memory.new_session(str(repo), "t")
    diff = b"diff --git a/calc.py b/calc.py\n--- a/calc.py\n+++ b/calc.py\n@@ -1 +1 @@\n-a\n+b\n"
    auction = record_job(memory, repo, session, "Fix add()", verdict="rejected", patch=diff)
    memory.db.table("auctions").update(auction, {"agents": '["large"]'})
    agents = [bidder("small", 0.1), bidder("large", 2.0)]
    app = SaleApp(services_for(repo, memory_path, agents))
    async with app.run_test(size=(110, 32)) as pilot:
        await ready(pilot)
        chosen = app.query_one("#agents", SelectionList).selected
        assert chosen == ["large"]  # the agents of the last auction here, not the defaults
        await pilot.press("f6")
        table = app.query_one("#auctions", DataTable)
        await wait_until(pilot, lambda: table.row_count == 1)
        assert "rejected" in [str(cell) for cell in table.get_row_at(0)]
        table.focus()
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, AuctionScreen))
        shown = " ".join(text_of(s) for s in app.screen.query(Static))
        assert "not applied (rejected)" in shown and "+b" in shown


async def test_palette_and_help_list_apply_reject_undo_and_sessions(
    tmp_path: Path, repo: Path
) -> None:
    app = SaleApp(services_for(repo, tmp_path / "memory.db", [bidder("small", 0.1)]))
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        titles = {command.title for command in app.get_system_commands(app.screen)}
        assert {"Apply to working tree", "Apply to branch", "Reject"} <= titles
        assert {"Undo last applied job", "New session"} <= titles
        from sale_tui.tui.help_screen import HELP

        assert "Undo last applied job" in HELP and "ctrl+n" in HELP and "--resume" in HELP
        app.action_undo()  # nothing applied yet: one line with the fix, the app carries on
        await wait_until(pilot, lambda: "no applied job to undo" in _notices(app))


def _notices(app: SaleApp) -> str:
    return " ".join(str(n.message) for n in app._notifications)


@pytest.mark.sandbox
async def test_work_that_changes_nothing_is_reviewed_without_a_crash(
    tmp_path: Path, repo: Path
) -> None:
    """Seen in the real-model walk: both agents failed with no diff, and the Review tab's
    hunk split of an empty patch took the app down."""
    app = SaleApp(services_for(repo, tmp_path / "memory.db", [bidder("worker", 0.1)]))
    async with app.run_test(size=(110, 32)) as pilot:
        await ready(pilot)
        await run_and_review(pilot, app, "Fix add()")
        assert "no changes" in text_of(app.query_one("#review-status", Static))
    from sale_tui import patches

    assert patches.split(b"") == [] and patches.drop(b"", ["x"]) == b""


@pytest.mark.sandbox
async def test_a_stop_while_the_plan_waits_under_help_closes_the_plan(
    tmp_path: Path, repo: Path
) -> None:
    memory_path = tmp_path / "memory.db"
    app = SaleApp(services_for(repo, memory_path, [bidder("worker", 0.1, actions=FIX)]))
    async with app.run_test(size=(110, 32)) as pilot:
        await until_the_plan_waits(pilot, app)
        await pilot.press("f1")  # help opens on top of the waiting plan
        await pilot.press("f8")
        await wait_until(pilot, lambda: not app.running)
        assert not any(isinstance(screen, PlanScreen) for screen in app.screen_stack)
        assert executed_prompts(app) == []
    assert AuctionMemory(memory_path).auctions()[0]["plan_status"] == "rejected"
