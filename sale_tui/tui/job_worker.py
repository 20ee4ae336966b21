"""The job's own thread: the runner, the session, the checks before a job, the job's events
posted back to the app, and the plan screen it waits on. A mixin of ``SaleApp``."""

from __future__ import annotations

import contextlib
import threading
from contextlib import closing
from pathlib import Path
from typing import TYPE_CHECKING

from textual import work

from sale_tui.errors import SaleError, StopRequested, UsageError
from sale_tui.render import safe
from sale_tui.stopping import stop_requested
from sale_tui.tui.job_pane import JobForm
from sale_tui.tui.messages import JobEnded, JobEventPosted
from sale_tui.tui.plan_screen import PlanScreen
from sale_tui.tui.services import RepoStatus, Services

if TYPE_CHECKING:
    from textual.app import App

    from sale_tui.job_events import PlanReady
    from sale_tui.memory import AuctionMemory
    from sale_tui.runner import AuctionRunner

    _AppBase = App[None]
else:
    _AppBase = object

MAX_STEPS = 20


class JobWorker(_AppBase):
    services: Services
    repo: RepoStatus | None
    session_id: str | None
    running: bool
    runners: dict[tuple[str, ...], AuctionRunner]

    if TYPE_CHECKING:  # SaleApp's

        def using_memory(self) -> contextlib.AbstractContextManager[AuctionMemory]: ...
        def report_from_worker(self, error: Exception, what: str) -> None: ...
        def _show_on_job_tab(self, method: str, value: object) -> None: ...

    def _session_line(self, memory: AuctionMemory) -> str:
        """The Job tab's session line: which session, its jobs, where the next job starts."""
        from sale_tui.sessions import session_base

        root = self.repo.root if self.repo else None
        if self.session_id is None or root is None:
            return "session: new (the first job starts it)"
        jobs = memory.session_jobs(self.session_id)
        base = session_base(root, jobs).label
        return (
            f"session [bold]{self.session_id}[/] · {len(jobs)} job(s) · the next job starts "
            f"from: {safe(base)} · [dim]ctrl+n: new session[/]"
        )

    @work(thread=True, exclusive=True, group="refresh")
    def refresh_repo(self) -> None:
        """Live state: the repo line (branch, clean or not) and the session, read again when
        the user comes back to the Job tab and after every job."""
        try:
            self.repo = self.services.repo_status(self.services.repo)
            self._show_on_job_tab("show_repo", self.repo)
            with self.using_memory() as memory:
                self._show_on_job_tab("show_session", self._session_line(memory))
        except Exception as error:
            self.report_from_worker(error, "reading the repo again failed")

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
        from sale_tui.job_events import JobStarted, PlanReady
        from sale_tui.jobs import context_budget, infer_kind, job_problem_for
        from sale_tui.pipeline import JobPipeline, JobRequest
        from sale_tui.sessions import pick_session, session_base

        pipeline = None
        try:
            runner = self.runner_for(form.agents)
            too_long = job_problem_for(form.text, runner.agents)
            if too_long is not None:  # refused before any call, with the size and the limit
                raise too_long
            kind = infer_kind(form.text) if form.kind == "auto" else form.kind
            session_id, earlier, _ = pick_session(
                runner.memory, root, resume=self.session_id, continue_last=False, title=form.text
            )
            self.session_id = session_id
            base = session_base(root, earlier)
            session_says = base.with_uncommitted
            self._check_uncommitted(form, root, session_says)
            request = JobRequest.for_repo(
                form.text,
                kind,  # type: ignore[arg-type]
                root,
                # the session's uncommitted work always goes in (None: as the base says)
                with_uncommitted=None if session_says else form.with_uncommitted,
                budget_usd=form.budget_usd,
                max_steps=MAX_STEPS,
                escalate=form.escalate,
                session_id=session_id,
                session_jobs=earlier,
                context_chars=context_budget(runner.agents),
                base=base,
                approve_plan=form.approve_plan or runner.settings.auction.approve_plan,
            )
            number = len(earlier) + 1
            self.post_message(
                JobEventPosted(
                    JobStarted(session_id, number, request.base, request.instruction_files)
                )
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
                    if isinstance(event, PlanReady):
                        pipeline.decide_plan(self._wait_for_plan(event))
            if not stopped:
                self._refit_after_job(runner)
            self.post_message(JobEnded(pipeline, stopped=stopped))
        except StopRequested:  # raised by the model call the stop cancelled
            self.post_message(JobEnded(pipeline, stopped=True))
        except SaleError as error:
            self.post_message(JobEnded(pipeline, error=error.one_line()))
        except Exception as error:  # the UI must survive; the memory has kept the record
            self.post_message(JobEnded(pipeline, error=f"unexpected error: {error!r}"))

    def _refit_after_job(self, runner: AuctionRunner) -> None:
        """The automatic refit (refit.py), when due: said in a notice, kept in the memory, and
        shown on the Costs tab. Its failure is reported without failing the job."""
        from sale_tui.refit import refit_if_due

        try:
            refit = refit_if_due(runner.memory, runner.settings)
        except Exception as error:
            self.report_from_worker(error, "refitting the auction weights failed")
            return
        if refit is not None:
            self.call_from_thread(self.notify, safe(refit.line()), title="Auction weights")

    def _check_uncommitted(self, form: JobForm, root: Path, session_says: bool | None) -> None:
        """Live state, before every job: a tree that turned dirty since the Job tab looked (an
        edit outside the app) stops the job, rather than running it without those edits."""
        if session_says is not None or form.saw_dirty:
            return  # the session decides, or the user saw the choice and made it
        now = self.services.repo_status(root)
        if not now.dirty:
            return
        self.repo = now
        self._show_on_job_tab("show_repo", now)
        raise UsageError(
            "the working tree has uncommitted changes now (made since the Job tab looked)",
            fix="tick 'with uncommitted' to include them, or leave it off for HEAD only; then "
            "ctrl+r",
        )

    def _wait_for_plan(self, event: PlanReady) -> str | None:
        """Show the plan screen and wait (in the job's thread) for approve, edit or reject;
        a stop meanwhile (F8, quit) rejects it."""
        answer: list[str | None] = []
        decided = threading.Event()

        def decide(plan: str | None) -> None:
            answer.append(plan)
            decided.set()

        self.call_from_thread(self.push_screen, PlanScreen(event.agent, event.plan), decide)
        while not decided.wait(0.1):
            if stop_requested():
                self.call_from_thread(self._close_plan_screen)
                decided.wait(5)
                return None
        return answer[0]

    def _close_plan_screen(self) -> None:
        """Dismiss the plan screen wherever it is: help or the palette may be on top of it."""
        if not any(isinstance(screen, PlanScreen) for screen in self.screen_stack):
            return
        while not isinstance(self.screen, PlanScreen):
            self.pop_screen()
        self.screen.dismiss(None)
