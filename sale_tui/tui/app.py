"""The app: six tabs over one job pipeline, run in a thread worker so the UI never waits on a
model, a container or git. Events come back as messages and each pane draws its part."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from textual import work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.notifications import SeverityLevel
from textual.screen import Screen
from textual.widgets import Footer, Header, TabbedContent, TabPane

from sale_tui.errors import SaleError, StopRequested
from sale_tui.render import safe
from sale_tui.stopping import clear_stop, request_stop, stop_requested
from sale_tui.tui.auction_pane import AuctionPane
from sale_tui.tui.costs_pane import CostsPane
from sale_tui.tui.execution_pane import ExecutionPane
from sale_tui.tui.help_screen import HelpScreen
from sale_tui.tui.history_pane import HistoryPane
from sale_tui.tui.job_pane import JobForm, JobPane
from sale_tui.tui.messages import JobEnded, JobEventPosted
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
MAX_STEPS = 20


class SaleApp(App[None]):
    TITLE = "sale-tui"
    CSS_PATH = "app.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f1", "help", "Help"),
        # not a priority binding: it then waits behind the keys typed before it (a paste)
        Binding("ctrl+r", "run_job", "Run job"),
        Binding("f8", "stop_job", "Stop", priority=True),
        Binding("ctrl+c", "interrupt", "Stop", show=False),
        Binding("ctrl+t", "toggle_theme", "Theme", priority=True),
        Binding("f12", "screenshot_now", "Screenshot", show=False, priority=True),
        *[
            Binding(key, f"show_tab('{tab}')", title, show=False, priority=True)
            for tab, (key, title) in TABS.items()
        ],
    ]

    def __init__(self, services: Services | None = None, repo: Path | None = None) -> None:
        super().__init__()
        self.services = services or default_services((repo or Path()).resolve())
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
            with self.using_memory() as memory:
                self._show_on_job_tab("show_history", memory.past_requests())
        except Exception as error:  # shown; the app stays usable
            self.report_from_worker(error, "checking the repo and the memory failed")
        try:
            self.sandbox = self.services.sandbox()
        except Exception as error:
            self.sandbox = SandboxStatus(False, f"Docker check failed: {error!r}")
        self._show_on_job_tab("show_sandbox", self.sandbox)
        try:
            self._show_on_job_tab("show_roster", self.services.roster())
        except Exception as error:
            self.report_from_worker(error, "loading the roster failed")

    # -- actions -------------------------------------------------------------------------
    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def action_show_tab(self, tab: str) -> None:
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
        for tab, (_, title) in TABS.items():
            yield SystemCommand(
                f"Show {title}", f"Go to the {title} tab", lambda tab=tab: self.action_show_tab(tab)
            )
        yield SystemCommand("Toggle theme", "Light or dark", self.action_toggle_theme)
        yield SystemCommand("Help", "How a job flows, and every key", self.action_help)
        yield from super().get_system_commands(screen)

    # -- the job, in a thread ---------------------------------------------------------------
    def runner_for(self, agents: list[str] | None) -> AuctionRunner:
        """One runner per agent set for the whole session: models stay loaded, and the
        session budget counts across jobs."""
        key = tuple(agents or ())
        if key not in self.runners:
            self.runners[key] = self.services.make_runner(agents)
        return self.runners[key]

    @work(thread=True, exclusive=True, group="job", exit_on_error=False)
    def run_job(self, form: JobForm, root: Path) -> None:
        from sale_tui.jobs import infer_kind
        from sale_tui.pipeline import JobPipeline, JobRequest

        pipeline = None
        try:
            runner = self.runner_for(form.agents)
            kind = infer_kind(form.text) if form.kind == "auto" else form.kind
            request = JobRequest.for_repo(
                form.text,
                kind,  # type: ignore[arg-type]
                root,
                with_uncommitted=form.with_uncommitted,
                budget_usd=form.budget_usd,
                max_steps=MAX_STEPS,
                escalate=form.escalate,
            )
            pipeline = JobPipeline(runner, request)
            events = pipeline.run()
            # Closing the generator early (stop, quit) removes the container and records the
            # auction or the execution as interrupted; an error inside it records a failure.
            stopped = False
            with closing(events):
                for event in events:
                    if stop_requested():  # a stop after the last event: no effect
                        stopped = True
                        break
                    self.post_message(JobEventPosted(event))
            self.post_message(JobEnded(pipeline, stopped=stopped))
        except StopRequested:  # raised by the model call the stop cancelled
            self.post_message(JobEnded(pipeline, stopped=True))
        except SaleError as error:
            self.post_message(JobEnded(pipeline, error=error.one_line()))
        except Exception as error:  # the UI must survive; the memory has kept the record
            self.post_message(JobEnded(pipeline, error=f"unexpected error: {error!r}"))

    def on_job_event_posted(self, message: JobEventPosted) -> None:
        from sale_tui.agents import StepRan
        from sale_tui.auction.events import AuctionFailed, WinnerChosen
        from sale_tui.job_events import TestsRan

        event = message.event
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
        execution = self.query_one(ExecutionPane)
        if message.error:
            execution.end(f"[red]error[/]: {safe(message.error)}")
            self.notify(message.error, title="Job failed", severity="error", timeout=15)
        elif message.stopped:
            execution.end("stopped: nothing applied, the record is kept")
        elif pipeline is not None and pipeline.stopped is not None:
            execution.end("done: review the result")
            self.query_one(ReviewPane).load(pipeline)
            self.action_show_tab("review")
        else:
            execution.end("no winner: nothing ran")
        self.query_one(HistoryPane).reload()
        self.query_one(CostsPane).reload()
        if self.quit_after_job:
            self.exit()

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        if event.pane.id == "history":
            self.query_one(HistoryPane).reload()
        elif event.pane.id == "costs":
            self.query_one(CostsPane).reload()


def run_app(repo: Path) -> None:
    SaleApp(repo=repo).run()
