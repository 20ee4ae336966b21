"""The Job tab: the request (with up/down history), its kind, the agents, the budget; and what
the job will run against (repo, sandbox, roster), each problem shown with its fix."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Checkbox, Input, Label, Select, SelectionList, Static, TextArea
from textual.widgets.selection_list import Selection

from sale_tui.errors import UsageError
from sale_tui.jobs import job_problem
from sale_tui.render import safe
from sale_tui.tui.services import AgentStatus, RepoStatus, SandboxStatus

KINDS = [("kind: inferred", "auto"), ("coding", "coding"), ("research", "research")]


@dataclass(frozen=True)
class JobForm:
    text: str
    kind: str
    """``auto``, ``coding`` or ``research``."""
    agents: list[str] | None
    budget_usd: float | None
    escalate: int
    with_uncommitted: bool
    saw_dirty: bool = False
    """The "with uncommitted" choice was on screen (the repo looked dirty): a job on a tree
    that turned dirty since is stopped, not run without the user's changes."""
    approve_plan: bool = False


class RequestArea(TextArea):
    """A multi-line request box; up on its first line and down on its last walk through the
    requests typed before (like a shell), keeping what was being typed."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.past: list[str] = []
        self.position = -1  # -1: the draft, not a history entry
        self.draft = ""

    def recall(self, step: int) -> bool:
        target = self.position + step
        if target < -1 or target >= len(self.past):
            return False
        if self.position == -1:
            self.draft = self.text
        self.position = target
        self.load_text(self.draft if target == -1 else self.past[target])
        self.move_cursor(self.document.end)
        return True

    def action_cursor_up(self, select: bool = False) -> None:
        if select or not self.cursor_at_first_line or not self.recall(+1):
            super().action_cursor_up(select)

    def action_cursor_down(self, select: bool = False) -> None:
        if select or not self.cursor_at_last_line or not self.recall(-1):
            super().action_cursor_down(select)

    def remember(self, text: str) -> None:
        """A job started with ``text``: it heads the history (↑ brings it back) and the box
        is cleared for the follow-up, as in a chat (typing on after it ran once glued two
        requests into one job)."""
        if text in self.past:
            self.past.remove(text)
        self.past.insert(0, text)
        self.position, self.draft = -1, ""
        self.load_text("")


def _mark(ready: bool) -> str:
    return "[green]✓[/]" if ready else "[red]✗[/]"


class JobPane(VerticalScroll):
    ready_agents = 0
    roster_size = 0

    def compose(self) -> ComposeResult:
        yield Static("repo: checking…", id="repo-status")
        yield Static("session: new (the first job starts it)", id="session-status")
        yield Static("sandbox: checking…", id="sandbox-status")
        yield RequestArea(id="request", soft_wrap=True, show_line_numbers=False)
        with Horizontal(id="job-options"):
            with Vertical(id="job-agents"):
                yield Static("agents (loading the roster…)", id="agents-title")
                yield SelectionList[str](id="agents", compact=True)
                yield Static("", id="agents-problems")
            with Vertical(id="job-settings"):
                yield Select(KINDS, value="auto", allow_blank=False, id="kind", compact=True)
                with Horizontal(classes="field"):
                    yield Label("budget $", classes="label")
                    yield Input(placeholder="no cap", type="number", id="budget", compact=True)
                with Horizontal(classes="field"):
                    yield Label("escalate", classes="label")
                    yield Input("1", type="integer", id="escalate", compact=True)
                yield Checkbox("with uncommitted", id="uncommitted", compact=True)
                yield Checkbox("approve plan first", id="approve-plan", compact=True)
                yield Button("Run  ctrl+r", id="run", variant="primary", compact=True)

    def on_mount(self) -> None:
        self.query_one(
            "#request", RequestArea
        ).border_title = "What should be done? (↑/↓ earlier requests)"
        self.query_one("#uncommitted", Checkbox).display = False
        self.query_one(
            "#approve-plan", Checkbox
        ).tooltip = "The job waits after the auction: read, edit or reject the winning plan."

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "run":
            self.app.action_run_job()  # type: ignore[attr-defined]

    def show_repo(self, repo: RepoStatus) -> None:
        line = f"repo: {_mark(repo.root is not None)} {safe(repo.detail)}"
        if repo.fix:
            line += f" — [bold]{safe(repo.fix)}[/]"
        elif repo.test_command:
            line += f" · tests: [dim]{safe(repo.test_command)}[/]"
        else:
            line += " · [yellow]no test command found[/] (the agent's own check decides)"
        self.query_one("#repo-status", Static).update(line)
        checkbox = self.query_one("#uncommitted", Checkbox)
        checkbox.display = repo.dirty
        if repo.dirty:
            checkbox.tooltip = "Off: the sandbox gets HEAD only; your changes stay out of it."

    def show_sandbox(self, sandbox: SandboxStatus) -> None:
        line = f"sandbox: {_mark(sandbox.ready)} {safe(sandbox.detail)}"
        if sandbox.fix:
            line += f" — [bold]{safe(sandbox.fix)}[/]"
        self.query_one("#sandbox-status", Static).update(line)

    def show_session(self, line: str) -> None:
        self.query_one("#session-status", Static).update(line)

    def show_roster(self, agents: list[AgentStatus], last_chosen: list[str] | None = None) -> None:
        """``last_chosen``: the agents of the repo's last auction, ticked again where ready."""
        selection = self.query_one("#agents", SelectionList)
        selection.clear_options()
        known = {agent.name for agent in agents}
        remembered = [name for name in last_chosen or () if name in known]
        for agent in agents:
            chosen = agent.name in remembered if remembered else agent.bids_by_default
            price = "price ?" if agent.price is None else f"${agent.price:.3g}/M"
            label = f"{_mark(agent.ready)} {safe(agent.name)} [dim]{price}[/]"
            selection.add_option(
                Selection(
                    label,
                    agent.name,
                    agent.ready and chosen,
                    disabled=not agent.ready,
                )
            )
        # why an agent cannot bid, and the fix, under the list (an option is one line)
        problems = [
            f"[red]✗ {safe(a.name)}[/]: {safe(a.detail)}"
            + (f" — [bold]{safe(a.fix)}[/]" if a.fix else "")
            for a in agents
            if not a.ready
        ]
        self.query_one("#agents-problems", Static).update("\n".join(problems))
        self.ready_agents = sum(agent.ready for agent in agents)
        self.roster_size = len(agents)
        self._agents_title()

    def _agents_title(self) -> None:
        chosen = len(self.query_one("#agents", SelectionList).selected)
        self.query_one("#agents-title", Static).update(
            f"agents: {chosen} chosen · {self.ready_agents} of {self.roster_size} ready "
            "[dim](space toggles)[/]"
        )

    def on_selection_list_selected_changed(self) -> None:
        self._agents_title()

    def show_history(self, requests: list[str]) -> None:
        self.query_one("#request", RequestArea).past = list(requests)

    def form(self) -> JobForm:
        """The job as typed; a ``UsageError`` names what to fix."""
        text = self.query_one("#request", RequestArea).text.strip()
        if not text:
            raise UsageError("the request is empty", fix="type what should be done, then ctrl+r")
        too_long = job_problem(text)
        if too_long is not None:
            raise too_long
        chosen = list(self.query_one("#agents", SelectionList).selected)
        if not chosen:
            raise UsageError("no agent chosen", fix="tick at least one ready agent")
        budget_text = self.query_one("#budget", Input).value.strip()
        escalate_text = self.query_one("#escalate", Input).value.strip() or "0"
        try:
            budget = float(budget_text) if budget_text else None
            escalate = int(escalate_text)
        except ValueError as error:
            raise UsageError(
                f"cannot read a number: {error}", fix="budget is $ (e.g. 0.05), escalate a count"
            ) from error
        if (budget is not None and budget <= 0) or escalate < 0:
            raise UsageError("budget must be above 0 and escalate 0 or more", fix="fix the field")
        return JobForm(
            text,
            str(self.query_one("#kind", Select).value),
            chosen,
            budget,
            escalate,
            self.query_one("#uncommitted", Checkbox).value,
            self.query_one("#uncommitted", Checkbox).display,
            self.query_one("#approve-plan", Checkbox).value,
        )

    def remember(self, text: str) -> None:
        self.query_one("#request", RequestArea).remember(text)

    def give_back(self) -> None:
        """A job refused before it ran (a dirty tree, too long): its text back in the box,
        unless the user has typed something since."""
        area = self.query_one("#request", RequestArea)
        if not area.text.strip() and area.past:
            area.load_text(area.past[0])
