"""The winner at work: its steps as they run (action, observation), tests, escalations, with
elapsed time, tokens and $ so far, and a stop button."""

from __future__ import annotations

import time
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, RichLog, Static

from sale_tui.agents import AgentStopped, StepRan
from sale_tui.auction.events import WinnerChosen
from sale_tui.job_events import Escalated, JobStarted, PlanReady, TestsRan
from sale_tui.models.progress import tokens_so_far
from sale_tui.render import job_started_line, safe
from sale_tui.untrusted_text import inert

OBSERVATION_LINES = 12


class ExecutionPane(Vertical):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.started: float | None = None
        self.tokens = 0
        self.cost_usd = 0.0
        self.agent = ""
        self.note = ""
        """What the status line adds while running (e.g. stopping); the tick keeps it."""

    def compose(self) -> ComposeResult:
        with Horizontal(id="execution-bar"):
            yield Static("Nothing running.", id="execution-status")
            yield Button("Stop", id="stop", variant="error", disabled=True)
        yield RichLog(id="steps", markup=True, wrap=True, max_lines=5000)

    def on_mount(self) -> None:
        self.set_interval(1.0, self._tick)
        self.query_one("#stop", Button).disabled = True

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "stop":
            self.app.action_stop_job()  # type: ignore[attr-defined]

    def _tick(self) -> None:
        if self.started is not None:
            self._status(self.note)

    def _status(self, note: str = "") -> None:
        elapsed = 0.0 if self.started is None else time.monotonic() - self.started
        # a local model's step being written: the tokens it has generated so far
        writing = tokens_so_far(self.agent) if self.agent and self.started else None
        self.query_one("#execution-status", Static).update(
            f"[bold]{safe(self.agent or '–')}[/] · {elapsed:.0f} s · {self.tokens} tokens · "
            f"${self.cost_usd:.7f}"
            + (f" · writing a step: {writing} tokens" if writing else "")
            + (f" · {note}" if note else "")
        )

    def begin(self) -> None:
        self.query_one("#steps", RichLog).clear()
        self.started, self.tokens, self.cost_usd, self.agent = None, 0, 0.0, ""
        self.note = ""
        self.query_one("#stop", Button).disabled = False
        self._status("auction running")

    def stopping(self) -> None:
        self.query_one("#stop", Button).disabled = True
        self.note = "[yellow]stopping…[/]"
        self._status(self.note)

    def end(self, note: str) -> None:
        self.query_one("#stop", Button).disabled = True
        self._status(note)
        self.started = None

    def show(self, event: Any) -> None:
        log = self.query_one("#steps", RichLog)
        match event:
            case JobStarted():
                log.write(Text.from_markup(job_started_line(event)))
            case PlanReady():
                log.write(Text.from_markup("[yellow]waiting for your word on the plan[/]"))
            case WinnerChosen():
                self.agent = event.winner.agent
                self.started = time.monotonic()
                log.write(Text.from_markup(f"[bold]{safe(self.agent)}[/] starts its plan"))
            case StepRan():
                self.tokens += event.tokens
                self.cost_usd += event.cost_usd
                tool = event.action.tool if event.action else "?"
                argument = event.action.arg if event.action else ""
                log.write(
                    Text.from_markup(
                        f"[cyan]step {event.step}[/] [bold]{tool}[/] {safe(argument[:200])} "
                        f"[dim]({event.elapsed_s:.1f} s, {event.tokens} tokens)[/]"
                    )
                )
                if event.action and event.action.tool == "edit":
                    log.write(Text(inert(f"- {event.action.search}\n+ {event.action.replace}")))
                lines = event.observation.splitlines()
                shown = "\n".join(lines[:OBSERVATION_LINES])
                more = len(lines) - OBSERVATION_LINES
                log.write(
                    Text(inert(shown) + (f"\n[… {more} more lines]" if more > 0 else ""), "dim")
                )
            case AgentStopped():
                detail = f" ({safe(event.detail)})" if event.detail else ""
                log.write(
                    Text.from_markup(
                        f"[bold]stopped[/]: {event.reason}{detail} after {event.steps} steps"
                    )
                )
            case TestsRan():
                verdict = "[green]passed[/]" if event.passed else "[red]failed[/]"
                log.write(Text.from_markup(f"[bold]tests {verdict}[/] ({safe(event.command)})"))
                if not event.passed:
                    log.write(Text(inert(event.output[-1500:]), "dim"))
            case Escalated():
                self.agent = event.to_agent
                log.write(
                    Text.from_markup(
                        f"[yellow bold]escalated[/] {safe(event.from_agent)} → "
                        f"{safe(event.to_agent)}: {safe(event.reason)}"
                    )
                )
        if self.started is not None:
            self._status(self.note)
