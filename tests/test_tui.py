"""The real app driven with Pilot through every tab. Scripted models at the model seam; the
memory file, the Docker sandbox and the git repo underneath are real."""

from __future__ import annotations

import threading
from pathlib import Path

import docker
import pytest
from textual import events
from textual.widgets import Button, DataTable, RichLog, SelectionList, Static, TabbedContent

from sale_tui.auction import AuctionAgent
from sale_tui.memory import AuctionMemory
from sale_tui.models.scripted import Request
from sale_tui.tui.app import SaleApp
from sale_tui.tui.help_screen import HelpScreen
from sale_tui.tui.history_pane import AuctionScreen
from sale_tui.tui.services import RepoStatus, SandboxStatus
from tests.auction_helpers import bidder, role_of
from tests.sandbox_helpers import git, make_repo, tree_state
from tests.tui_helpers import ready, services_for, text_of, type_job, wait_until

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("with_minilm")]

FIX_BOTH = (
    "ACTION: edit calc.py\n<<<<<<< SEARCH\n    return a - b\n=======\n    return a + b\n"
    ">>>>>>> REPLACE",
    "ACTION: edit doomed.txt\n<<<<<<< SEARCH\ndelete me\n=======\nkeep me\n>>>>>>> REPLACE",
    "ACTION: finish fixed add() and touched doomed.txt",
)


def log_text(log: RichLog) -> str:
    return "\n".join(line.text for line in log.lines)


def block_when(agent: AuctionAgent, role: str) -> tuple[threading.Event, threading.Event]:
    """Make the agent's model block when asked for ``role`` (bid, jury, execute…): returns
    (it is blocked, let it go)."""
    blocked, release = threading.Event(), threading.Event()
    respond = agent.model.respond  # type: ignore[attr-defined]

    def slow(request: Request) -> object:
        if role_of(request) == role:
            blocked.set()
            release.wait(30)
        return respond(request)

    agent.model.respond = slow  # type: ignore[attr-defined]
    return blocked, release


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "repo")


def two_agents(actions: tuple[str, ...] = FIX_BOTH) -> list:  # type: ignore[type-arg]
    judge = {"large plan": 5.0, "small plan": 2.0}
    return [
        bidder("small", 0.1, plan="small plan", scores=judge, actions=actions),
        bidder("large", 2.0, plan="large plan", scores=judge, actions=actions),
    ]


@pytest.mark.sandbox
async def test_a_job_fills_the_auction_runs_live_and_applies_the_chosen_file_to_a_branch(
    tmp_path: Path, repo: Path
) -> None:
    memory_path = tmp_path / "memory.db"
    app = SaleApp(services_for(repo, memory_path, two_agents()))
    before = tree_state(repo)
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(pilot)
        assert "✓" in text_of(app.query_one("#sandbox-status", Static))
        await type_job(pilot, "Fix add() in calc.py")
        await pilot.press("ctrl+r")
        await wait_until(pilot, lambda: not app.running)
        await app.workers.wait_for_complete()
        await pilot.pause()

        table = app.query_one("#bids", DataTable)
        agents = {str(table.get_cell(key, "agent")) for key in table.rows}
        assert "large ★" in agents  # the jury preferred the large plan; its row is marked
        jury_columns = {str(c.value) for c in table.columns if str(c.value).startswith("jury:")}
        assert jury_columns == {"jury:small", "jury:large"}
        legend = text_of(app.query_one("#auction-legend", Static))
        assert "γ1 small" in legend and "γ2 large" in legend
        assert all(table.get_cell(key, "C−V") != "…" for key in table.rows)
        assert "winner large: " in text_of(app.query_one("#auction-status", Static))

        steps = log_text(app.query_one("#steps", RichLog))
        assert "step 1 edit calc.py" in steps and "stopped: finished" in steps
        assert app.query_one(TabbedContent).active == "review"
        assert tree_state(repo) == before  # nothing reached the repo before apply

        hunks = app.query_one("#hunks", SelectionList)
        values = [hunks.get_option_at_index(i).value for i in range(hunks.option_count)]
        assert sorted(v.split("\0")[0] for v in values) == ["calc.py", "doomed.txt"]
        hunks.deselect(next(v for v in values if v.startswith("doomed.txt")))
        await pilot.pause()
        assert "doomed" not in text_of(app.query_one("#diff", Static))
        await pilot.click("#apply-branch")
        await pilot.pause()
        assert "applied" in text_of(app.query_one("#review-status", Static))
        assert app.query_one("#apply-branch", Button).disabled

    auction_id = AuctionMemory(memory_path).auctions()[0]["id"]
    branch = f"sale/{auction_id}"
    assert "return a + b" in git(repo, "show", f"{branch}:calc.py")
    assert git(repo, "show", f"{branch}:doomed.txt") == "delete me\n"  # left out on review
    assert tree_state(repo) == before  # a branch, not the working tree
    row = AuctionMemory(memory_path).executions(auction_id)[-1]
    assert (row["agent"], row["status"], row["verdict"]) == ("large", "success", "accepted")


@pytest.mark.sandbox
async def test_a_protected_file_in_the_work_starts_unchecked_and_is_not_applied(
    tmp_path: Path, repo: Path
) -> None:
    actions = ("ACTION: run printf 'export X=1' > .envrc", *FIX_BOTH)
    app = SaleApp(services_for(repo, tmp_path / "memory.db", two_agents(actions)))
    async with app.run_test(size=(120, 30)) as pilot:
        await ready(pilot)
        await type_job(pilot, "Fix add() in calc.py")
        await pilot.press("ctrl+r")
        await wait_until(pilot, lambda: app.query_one(TabbedContent).active == "review")
        await pilot.pause()
        hunks = app.query_one("#hunks", SelectionList)
        options = [hunks.get_option_at_index(i) for i in range(hunks.option_count)]
        envrc = next(o for o in options if o.value.startswith(".envrc"))
        assert (
            "⚠ a shell hook that runs on cd" in str(envrc.prompt)
            and envrc.value not in hunks.selected
        )
        await pilot.press("w")
        await pilot.pause()
        assert "applied" in text_of(app.query_one("#review-status", Static))
    assert "a + b" in (repo / "calc.py").read_text()
    assert not (repo / ".envrc").exists()


@pytest.mark.sandbox
async def test_reject_keeps_the_repo_and_records_the_verdict(tmp_path: Path, repo: Path) -> None:
    memory_path = tmp_path / "memory.db"
    app = SaleApp(services_for(repo, memory_path, two_agents()))
    before = tree_state(repo)
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(pilot)
        await type_job(pilot, "Fix add() in calc.py")
        await pilot.press("ctrl+r")
        await wait_until(pilot, lambda: app.query_one(TabbedContent).active == "review")
        await pilot.press("x")  # the review tab's key for Reject
        await pilot.pause()
        assert "rejected" in text_of(app.query_one("#review-status", Static))
    assert tree_state(repo) == before
    memory = AuctionMemory(memory_path)
    assert memory.executions(memory.auctions()[0]["id"])[-1]["verdict"] == "rejected"


@pytest.mark.sandbox
async def test_stop_during_execution_removes_the_container_and_keeps_the_record(
    tmp_path: Path, repo: Path
) -> None:
    """The winner's first step blocks on the model until the test has pressed stop."""
    agent = bidder("worker", 0.1, actions=("ACTION: view calc.py", "ACTION: finish done"))
    started, release = block_when(agent, "execute")
    memory_path = tmp_path / "memory.db"
    app = SaleApp(services_for(repo, memory_path, [agent]))
    before = tree_state(repo)
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(pilot)
        await type_job(pilot, "Fix add()")
        await pilot.press("ctrl+r")
        await wait_until(pilot, started.is_set)
        await pilot.press("f8")
        assert "stopping" in text_of(app.query_one("#execution-status", Static))
        release.set()
        await wait_until(pilot, lambda: not app.running)
        assert "stopped" in text_of(app.query_one("#execution-status", Static))
        assert app.query_one(TabbedContent).active != "review"
    memory = AuctionMemory(memory_path)
    auction_id = memory.auctions()[0]["id"]
    assert memory.executions(auction_id)[-1]["status"] == "interrupted"
    client = docker.from_env()
    assert not [c for c in client.containers.list(all=True) if auction_id in str(c.labels.values())]
    assert tree_state(repo) == before


async def test_the_ui_answers_while_a_slow_model_bids(tmp_path: Path, repo: Path) -> None:
    """Every bid blocks until the test has used the UI: tabs switch, text can be typed, the
    help opens, all while the worker is still inside the model call."""
    agent = bidder("slow", 0.1)
    bidding, release = block_when(agent, "bid")
    ok = SandboxStatus(True, "scripted sandbox")  # the job never gets past its auction here
    app = SaleApp(services_for(repo, tmp_path / "memory.db", [agent], sandbox=lambda: ok))
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await type_job(pilot, "Explain calc.py")
        await pilot.press("ctrl+r")
        await wait_until(pilot, bidding.is_set)
        tabs = app.query_one(TabbedContent)
        for key, tab in (("f6", "history"), ("f7", "costs"), ("f2", "job")):
            await pilot.press(key)
            assert tabs.active == tab
        await pilot.press("f1")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        app.query_one("#request").focus()
        await pilot.press("end", "!")
        assert app.query_one("#request").text.endswith("!")  # type: ignore[attr-defined]
        assert app.running and not release.is_set()  # all of that while the model was busy
        await pilot.press("f8")  # stop: the auction is recorded as interrupted
        release.set()
        await wait_until(pilot, lambda: not app.running)
    assert AuctionMemory(tmp_path / "memory.db").auctions()[0]["status"] == "interrupted"


async def test_problems_are_shown_with_their_fix_and_block_the_run(tmp_path: Path) -> None:
    plain = tmp_path / "not-a-repo"
    plain.mkdir()
    down = SandboxStatus(False, "no Docker daemon answers", "start Docker")
    app = SaleApp(
        services_for(
            plain,
            tmp_path / "memory.db",
            [bidder("small", 0.1)],
            sandbox=lambda: down,
        )
    )
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        repo_line = text_of(app.query_one("#repo-status", Static))
        assert "✗" in repo_line and "git init" in repo_line
        assert "start Docker" in text_of(app.query_one("#sandbox-status", Static))
        await pilot.press("ctrl+r")  # empty request
        await pilot.pause()
        assert "the request is empty" in _notifications(app)
        app.query_one("#request").focus()
        # typed (or pasted) and run in one go, as a terminal delivers them (pilot.press would
        # wait after each key): ctrl+r must see every key before it
        for char in "Fix add()":
            app.post_message(events.Key(char, char))
        app.post_message(events.Key("ctrl+r", None))
        await pilot.pause(0.3)
        assert "git init" in _notifications(app)
        assert not app.running


async def test_an_untrusted_repo_config_is_named_once_with_the_command(
    tmp_path: Path, repo: Path
) -> None:
    (repo / ".sale-tui.toml").write_text("[sandbox]\nnetwork = true\n")
    app = SaleApp(services_for(repo, tmp_path / "memory.db", [bidder("small", 0.1)]))
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(pilot)
        shown = _notifications(app)
        assert shown.count("not trusted") == 1
        assert f"sale-tui trust --repo {repo}" in shown and "sandbox.network" in shown


async def test_unready_agents_are_flagged_and_not_chosen(tmp_path: Path, repo: Path) -> None:
    from sale_tui.tui.services import AgentStatus

    roster = [
        AgentStatus("local", "llama/x", 0.01, True, "local weights ready"),
        AgentStatus(
            "gpt",
            "openai/gpt-4o-mini",
            0.4,
            False,
            "OPENAI_API_KEY is not set",
            "export OPENAI_API_KEY=…",
        ),
    ]
    app = SaleApp(
        services_for(repo, tmp_path / "memory.db", [bidder("local", 0.01)], roster=lambda: roster)
    )
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        agents = app.query_one("#agents", SelectionList)
        assert agents.selected == ["local"]
        problems = text_of(app.query_one("#agents-problems", Static))
        assert "gpt: OPENAI_API_KEY is not set — export OPENAI_API_KEY" in problems
        assert agents.get_option_at_index(1).disabled
        assert "1 of 2 ready" in text_of(app.query_one("#agents-title", Static))


async def test_history_search_detail_and_costs(tmp_path: Path, repo: Path) -> None:
    from tests.test_memory_costs import run_jobs

    memory_path = tmp_path / "memory.db"
    run_jobs(
        AuctionMemory(memory_path),
        [("Fix the parser", "large"), ("Rename a helper", "small"), ("Fix the lexer", "small")],
    )
    app = SaleApp(services_for(repo, memory_path, two_agents()))
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await pilot.press("f6")
        table = app.query_one("#auctions", DataTable)
        await wait_until(pilot, lambda: table.row_count == 3)
        app.query_one("#history-search").focus()
        await pilot.press(*"lexer")
        await wait_until(pilot, lambda: table.row_count == 1)
        assert str(table.get_row_at(0)[-1]) == "Fix the lexer"
        table.focus()
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, AuctionScreen))
        shown = " ".join(text_of(s) for s in app.screen.query(Static))
        assert "Fix the lexer" in shown and "winning plan" in shown and "small plan" in shown
        await pilot.press("escape")
        assert not isinstance(app.screen, AuctionScreen)

        await pilot.press("f7")
        summary = app.query_one("#costs-summary", Static)
        await wait_until(pilot, lambda: "3 auctions" in text_of(summary))
        assert "auction overhead" in text_of(summary)
        weights = text_of(app.query_one("#costs-weights", Static))
        assert "auction weights: the configured ones (no fit yet)" in weights
        assert "next refit after 17 more outcomes" in weights  # 3 of the default 20
        agents = app.query_one("#costs-agents", DataTable)
        rows = {str(agents.get_row_at(i)[0]): agents.get_row_at(i) for i in range(agents.row_count)}
        assert rows["small"][2] == "2" and rows["small"][3] == "67%"


async def test_request_history_walks_with_up_and_down(tmp_path: Path, repo: Path) -> None:
    memory_path = tmp_path / "memory.db"
    memory = AuctionMemory(memory_path)
    memory.new_job("first request", "coding")
    memory.new_job("second request", "coding")
    app = SaleApp(services_for(repo, memory_path, [bidder("small", 0.1)]))
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        area = app.query_one("#request")
        area.focus()
        await pilot.press(*"draft")
        await pilot.press("up")
        assert area.text == "second request"  # type: ignore[attr-defined]
        await pilot.press("up")
        assert area.text == "first request"  # type: ignore[attr-defined]
        await pilot.press("down", "down")
        assert area.text == "draft"  # type: ignore[attr-defined]


async def test_help_theme_and_palette_commands(tmp_path: Path, repo: Path) -> None:
    app = SaleApp(services_for(repo, tmp_path / "memory.db", [bidder("small", 0.1)]))
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await pilot.press("f1")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        assert app.theme == "textual-dark"
        await pilot.press("ctrl+t")
        assert app.theme == "textual-light"
        titles = {command.title for command in app.get_system_commands(app.screen)}
        assert {"Run job", "Stop job", "Show Review", "Toggle theme", "Help"} <= titles


def _notifications(app: SaleApp) -> str:
    return " ".join(str(n.message) for n in app._notifications)


def test_repo_status_names_branch_dirty_and_tests(repo: Path) -> None:
    from sale_tui.tui.services import repo_status

    (repo / "calc.py").write_text("changed\n")
    status = repo_status(repo)
    assert isinstance(status, RepoStatus) and status.root == repo and status.dirty
    assert "uncommitted changes" in status.detail


def test_the_app_paints_before_importing_docker_git_the_memory_or_litellm() -> None:
    """These load in workers after the first screen (docs/BENCHMARKS.md: first paint 0.48 s;
    importing them up front made it 0.90 s)."""
    import subprocess
    import sys

    heavy = ("docker", "git", "sqlite_utils", "numpy", "litellm", "llama_cpp", "onnxruntime")
    code = f"import sys, sale_tui.tui.app; print([m for m in {heavy!r} if m in sys.modules])"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


async def test_f12_saves_a_screenshot_in_the_data_folder(
    tmp_path: Path, repo: Path, isolated_home: Path
) -> None:
    app = SaleApp(services_for(repo, tmp_path / "memory.db", [bidder("small", 0.1)]))
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await pilot.press("f12")
        await pilot.pause()
    saved = list(isolated_home.rglob("screenshots/*.svg"))
    assert len(saved) == 1 and "<svg" in saved[0].read_text()[:500]


async def test_a_broken_memory_is_reported_and_the_app_carries_on(
    tmp_path: Path, repo: Path
) -> None:
    from sale_tui.errors import SaleError

    def broken() -> AuctionMemory:
        raise SaleError("cannot open the auction memory: file is not a database", fix="move it")

    app = SaleApp(services_for(repo, tmp_path / "m.db", [bidder("s", 0.1)], open_memory=broken))
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        for key in ("f6", "f7"):
            await pilot.press(key)
            await app.workers.wait_for_complete()
            await pilot.pause()
        assert "file is not a database — move it" in _notifications(app)
        assert app.is_running and app.query_one(TabbedContent).active == "costs"
