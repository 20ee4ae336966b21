"""The winning plan, before anything runs: read it, edit it, approve or reject it. Dismissed with
the plan's text (as it stands after editing) or None (rejected: nothing runs)."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static, TextArea

from sale_tui.render import safe


class PlanScreen(ModalScreen[str | None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "approve", "Run this plan", priority=True),
        Binding("escape", "reject", "Reject"),
    ]

    def __init__(self, agent: str, plan: str) -> None:
        super().__init__()
        self.agent, self.plan = agent, plan

    def compose(self) -> ComposeResult:
        with Vertical(id="plan-box"):
            yield Static(
                f"[bold]{safe(self.agent)} won with this plan.[/] Nothing has run yet. Edit it "
                "if you like: what you approve is what the agent follows.",
                id="plan-title",
            )
            yield TextArea(self.plan, id="plan-text", soft_wrap=True)
            with Horizontal(id="plan-actions"):
                yield Button("Run this plan  ctrl+s", id="plan-approve", variant="success")
                yield Button("Reject  esc", id="plan-reject", variant="error")

    def on_mount(self) -> None:
        self.query_one("#plan-text", TextArea).focus()

    @on(Button.Pressed, "#plan-approve")
    def action_approve(self) -> None:
        self.dismiss(self.query_one("#plan-text", TextArea).text)

    @on(Button.Pressed, "#plan-reject")
    def action_reject(self) -> None:
        self.dismiss(None)
