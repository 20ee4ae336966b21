"""The app: six tabs over one job pipeline, run in a thread worker so the UI never waits on a
model, a container or git. Events come back as messages and each pane draws its part."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from textual import work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.notifications import SeverityLevel
from textual.screen import Screen
from textual.widgets import Footer, Header, TabbedContent, TabPane

from sale_tui.errors import SaleError
from sale_tui.render import safe
from sale_tui.stopping import clear_stop, request_stop
from sale_tui.tui.auction_pane import AuctionPane
from sale_tui.tui.costs_pane import CostsPane
from sale_tui.tui.execution_pane import ExecutionPane
from sale_tui.tui.help_screen import HelpScreen
from sale_tui.tui.history_pane import HistoryPane
from sale_tui.tui.job_pane import JobPane
from sale_tui.tui.job_worker import JobWorker
from sale_tui.tui.messages import JobEnded, JobEventPosted
from sale_tui.tui.plan_screen import PlanScreen
from sale_tui.tui.review_pane import ReviewPane
from sale_tui.tui.services import RepoStatus, SandboxStatus, Services, default_services
from sale_tui.untrusted_text import inert

if TYPE_CHECKING:
    from sale_tui.memory import AuctionMemory
    from sale_tui.runner import AuctionRunner

TABS = {
    "job": ("f2", "Job"),
    "auction": ("f3", "Auction"),
    "execution": ("f4", "Execution"),
    "review": ("f5", "Review"),
    "history": ("f6", "History"),
    "costs": ("f7", "Costs"),
}
# Where the keyboard goes on each tab (a focused widget on a hidden tab would pull it back).
FOCUS = {
    "job": "#request",
    "auction": "#bids",
    "execution": "#steps",
    "review": "#hunks",
    "history": "#auctions",
    "costs": "#costs-agents",
}


class SaleApp(JobWorker, App[None]):
    TITLE = "sale-tui"
    CSS_PATH = "app.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f1", "help", "Help"),
        # not a priority binding: it then waits behind the keys typed before it (a paste)
        Binding("ctrl+r", "run_job", "Run job"),
        Binding("ctrl+n", "new_session", "New session"),
        Binding("f8", "stop_job", "Stop", priority=True),
        Binding("ctrl+c", "interrupt", "Stop", show=False),
        Binding("ctrl+t", "toggle_theme", "Theme", priority=True),
        Binding("f12", "screenshot_now", "Screenshot", show=False, priority=True),
        *[
            Binding(key, f"show_tab('{tab}')", title, show=False, priority=True)
            for tab, (key, title) in TABS.items()
        ],
    ]

    def __init__(
        self,
        services: Services | None = None,
        repo: Path | None = None,
        session_id: str | None = None,
    ) -> None:
        """``session_id``: the session to go on with (``--continue``, ``--resume``); None:
        the first job starts a new one."""
        super().__init__()
        self.services = services or default_services((repo or Path()).resolve())
        self.session_id = session_id
        self.repo: RepoStatus | None = None
        self.sandbox: SandboxStatus | None = None
        self.running = False
        self.quit_after_job = False
        self.runners: dict[tuple[str, ...], AuctionRunner] = {}
        self.memory: AuctionMemory | None = None
        self.memory_lock = threading.Lock()
        self.theme = "textual-dark"

    def compose(self) -> ComposeResult:
        yield Header()
        with TabbedContent(initial="job"):
            panes = {
                "job": JobPane,
                "auction": AuctionPane,
                "execution": ExecutionPane,
                "review": ReviewPane,
                "history": HistoryPane,
                "costs": CostsPane,
            }
            for tab, (key, title) in TABS.items():
                with TabPane(f"{title} {key.upper()}", id=tab):
                    yield panes[tab](id=f"{tab}-pane")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = str(self.services.repo)
        self.query_one("#request").focus()
        self.check_world()

    # -- what the job will run against, found in the background -----------------------------
    @contextmanager
    def using_memory(self) -> Iterator[AuctionMemory]:
        """The app's one read connection to the memory, for one worker at a time (a sqlite
        connection is not for concurrent use); opened on first use, in a worker."""
        with self.memory_lock:
            if self.memory is None:
                self.memory = self.services.open_memory()
            yield self.memory

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = False,
    ) -> None:
        """Every notice is plain, inert text: most carry a path, a provider's message or
        sandbox output, and a ``[/]`` in one would take the app down as markup."""
        super().notify(
            inert(message), title=inert(title), severity=severity, timeout=timeout, markup=False
        )

    def report_from_worker(self, error: Exception, what: str) -> None:
        """A worker failed: one line, with the fix when there is one; the app carries on."""
        line = error.one_line() if isinstance(error, SaleError) else f"{what}: {error!r}"
        self.call_from_thread(self.notify, line, severity="error", timeout=15)

    def _show_on_job_tab(self, method: str, value: object) -> None:
        self.call_from_thread(lambda: getattr(self.query_one(JobPane), method)(value))

    @work(thread=True, group="startup")
    def check_world(self) -> None:
        """Repo, memory, sandbox, then the roster (it may import litellm: seconds)."""
        try:
            self.repo = self.services.repo_status(self.services.repo)
            self._show_on_job_tab("show_repo", self.repo)
            notice = self.repo.config_notice
            if notice:  # markup=False: the path comes from the repo
                self.call_from_thread(
                    self.notify,
                    notice,
                    title="Repo config",
                    severity="warning",
                    timeout=20,
                    markup=False,
                )
            last_chosen: list[str] = []
            with self.using_memory() as memory:
                self._show_on_job_tab("show_history", memory.past_requests())
                if self.repo.root is not None:
                    last_chosen = memory.last_agents(str(self.repo.root))
                    self._show_on_job_tab("show_session", self._session_line(memory))
        except Exception as error:  # shown; the app stays usable
            self.report_from_worker(error, "checking the repo and the memory failed")
        try:
            self.sandbox = self.services.sandbox()
        except Exception as error:
            self.sandbox = SandboxStatus(False, f"Docker check failed: {error!r}")
        self._show_on_job_tab("show_sandbox", self.sandbox)
        try:
            roster = self.services.roster()
            self.call_from_thread(lambda: self.query_one(JobPane).show_roster(roster, last_chosen))
        except Exception as error:
            self.report_from_worker(error, "loading the roster failed")

    # -- actions -------------------------------------------------------------------------
    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def action_show_tab(self, tab: str) -> None:
        if isinstance(self.screen, PlanScreen):
            self.notify("The job waits for your word on the plan: run it or reject it first.")
            return
        if isinstance(self.screen, Screen) and self.screen is not self.screen_stack[0]:
            self.pop_screen()  # a detail window is open: close it first
        self.query_one(TabbedContent).active = tab
        self.query_one(FOCUS[tab]).focus()

    def action_screenshot_now(self) -> None:
        self.deliver_screenshot()

    def action_toggle_theme(self) -> None:
        self.theme = "textual-light" if self.theme == "textual-dark" else "textual-dark"

    def action_run_job(self) -> None:
        if self.running:
            self.notify("A job is running; F8 stops it.", severity="warning")
            return
        try:
            form = self.query_one(JobPane).form()
        except SaleError as error:
            self.notify(error.one_line(), severity="error")
            return
        repo, sandbox = self.repo, self.sandbox
        if repo is None or sandbox is None:
            self.notify("Still checking the repo and Docker; try again in a moment.")
            return
        if repo.root is None:
            self.notify(f"{repo.detail} — {repo.fix}", severity="error", timeout=10)
            return
        if not sandbox.ready:
            self.notify(
                f"sandbox not ready: {sandbox.detail}"
                + (f" — {sandbox.fix}" if sandbox.fix else ""),
                severity="error",
                timeout=10,
            )
            return
        self.running = True
        clear_stop()
        self.query_one(JobPane).remember(form.text)
        self.query_one(AuctionPane).waiting("starting: loading the agents…")
        self.query_one(ExecutionPane).begin()
        self.query_one(ReviewPane).clear()
        self.action_show_tab("auction")
        self.run_job(form, repo.root)

    def action_new_session(self) -> None:
        if self.running:
            self.notify("A job is running; a new session starts after it.", severity="warning")
            return
        self.session_id = None
        self.query_one(JobPane).show_session("session: new (the next job starts it)")
        self.notify("New session: the next job starts from the repo as it is.")

    def action_review(self, what: str) -> None:
        """The Review tab's apply and reject, for the command palette."""
        review = self.query_one(ReviewPane)
        if what == "reject":
            review.action_reject()
        else:
            review.action_apply("branch" if what == "branch" else "worktree")

    def action_undo(self) -> None:
        if self.running:
            self.notify("A job is running; undo after it.", severity="warning")
            return
        self._undo()

    @work(thread=True, group="undo")
    def _undo(self) -> None:
        from sale_tui.undoing import undo_last

        try:
            with self.using_memory() as memory:
                done = undo_last(memory, self.services.repo)
            self.call_from_thread(self.notify, done, title="Undo")
            self.call_from_thread(self.refresh_repo)
        except Exception as error:
            self.report_from_worker(error, "undo failed")

    def action_stop_job(self) -> None:
        if not self.running:
            self.notify("No job is running.")
            return
        request_stop()  # a local model call waiting in the job's thread cancels at once
        self.query_one(ExecutionPane).stopping()
        self.notify("Stopping: the model call is cancelled, the sandbox removed, the record kept.")

    def action_interrupt(self) -> None:
        """ctrl+c stops a running job (as in a shell); otherwise Textual's hint to quit."""
        if self.running:
            self.action_stop_job()
        else:
            self.action_help_quit()

    async def action_quit(self) -> None:
        if self.running and not self.quit_after_job:
            self.quit_after_job = True
            self.action_stop_job()
            return  # quits when the job has stopped; ctrl+q again quits at once
        self.exit()

    def deliver_screenshot(
        self, filename: str | None = None, path: str | None = None, time_format: str | None = None
    ) -> str | None:
        """Textual saves screenshots to ~/Downloads and fails where that folder does not exist
        (most servers): save them in sale-tui's data folder instead, and say where."""
        from sale_tui import paths

        folder = Path(path) if path else paths.data_dir() / "screenshots"
        folder.mkdir(parents=True, exist_ok=True)
        saved = self.save_screenshot(filename, str(folder), time_format)
        self.notify(saved, title="Screenshot saved")
        return saved

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield SystemCommand("Run job", "Run the job typed on the Job tab", self.action_run_job)
        yield SystemCommand("Stop job", "Stop the running job", self.action_stop_job)
        review = "the reviewed result (Review tab)"
        yield SystemCommand(
            "Apply to working tree", f"Apply {review}", lambda: self.action_review("worktree")
        )
        yield SystemCommand(
            "Apply to branch",
            f"Commit {review} on a new branch",
            lambda: self.action_review("branch"),
        )
        yield SystemCommand("Reject", f"Reject {review}", lambda: self.action_review("reject"))
        yield SystemCommand(
            "Undo last applied job", "Revert the last job applied to this repo", self.action_undo
        )
        yield SystemCommand(
            "New session", "The next job starts a new session (ctrl+n)", self.action_new_session
        )
        for tab, (_, title) in TABS.items():
            yield SystemCommand(
                f"Show {title}", f"Go to the {title} tab", lambda tab=tab: self.action_show_tab(tab)
            )
        yield SystemCommand("Toggle theme", "Light or dark", self.action_toggle_theme)
        yield SystemCommand("Help", "How a job flows, and every key", self.action_help)
        yield from super().get_system_commands(screen)

    def on_job_event_posted(self, message: JobEventPosted) -> None:
        from sale_tui.agents import StepRan
        from sale_tui.auction.events import AuctionFailed, WinnerChosen
        from sale_tui.job_events import JobStarted, TestsRan

        event = message.event
        if isinstance(event, JobStarted):
            self.query_one(ExecutionPane).show(event)
            self.query_one(AuctionPane).waiting(
                f"job {event.number} of session {event.session_id} · base: {event.base}"
            )
            return
        self.query_one(AuctionPane).show(event)
        self.query_one(ExecutionPane).show(event)
        tabs = self.query_one(TabbedContent)
        if isinstance(event, WinnerChosen):
            self.notify(f"{event.winner.agent} won: {event.reason}", title="Auction")
        elif isinstance(event, AuctionFailed):
            self.notify(event.reason, title="Auction failed", severity="error", timeout=10)
        elif isinstance(event, StepRan) and event.step == 1 and tabs.active == "auction":
            self.action_show_tab("execution")
        elif isinstance(event, TestsRan):
            self.query_one(ReviewPane).tests = event

    def on_job_ended(self, message: JobEnded) -> None:
        self.running = False
        pipeline = message.pipeline
        execution, review = self.query_one(ExecutionPane), self.query_one(ReviewPane)
        if message.error:
            execution.end(f"[red]error[/]: {safe(message.error)}")
            review.nothing(f"[red]error[/]: {safe(message.error)} — nothing to review")
            if pipeline is None or pipeline.winner_event is None:
                self.query_one(JobPane).give_back()  # refused before it ran: fix and rerun
            self.notify(message.error, title="Job failed", severity="error", timeout=15)
        elif message.stopped:
            execution.end("stopped: nothing applied, the record is kept")
            review.nothing("stopped: nothing to review, nothing applied")
        elif pipeline is not None and pipeline.stopped is not None:
            execution.end("done: review the result")
            review.load(pipeline)
            self.action_show_tab("review")
        elif pipeline is not None and pipeline.plan_status == "rejected":
            execution.end("plan rejected: nothing ran")
            review.nothing("plan rejected: nothing ran")
        else:
            execution.end("no winner: nothing ran")
            review.nothing("no winner: nothing ran")
        self.refresh_repo()
        self.query_one(HistoryPane).reload()
        self.query_one(CostsPane).reload()
        if self.quit_after_job:
            self.exit()

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        if event.pane.id == "job" and self.repo is not None and not self.running:
            self.refresh_repo()
        elif event.pane.id == "history":
            self.query_one(HistoryPane).reload()
        elif event.pane.id == "costs":
            self.query_one(CostsPane).reload()


def run_app(repo: Path, session_id: str | None = None) -> None:
    SaleApp(repo=repo, session_id=session_id).run()
