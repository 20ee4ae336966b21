"""Review the result before anything reaches the repo: the diff (highlighted), a checklist of
files and hunks to keep, the test result, and apply to the working tree or a branch, or reject.
Research jobs show the answer and which citations were checked."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from rich.syntax import Syntax
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, SelectionList, Static

from sale_tui import host_files, patches
from sale_tui.errors import SaleError
from sale_tui.render import changed_tests_warning, safe
from sale_tui.untrusted_text import inert


def _key(path: str, hunk: int | None) -> str:
    return f"{path}\0{'' if hunk is None else hunk}"


def _unkey(value: str) -> tuple[str, int | None]:
    path, hunk = value.split("\0")
    return path, (int(hunk) if hunk else None)


def _hunk_label(hunk: bytes) -> str:
    header = hunk.split(b"\n", 1)[0].decode(errors="replace")
    added = hunk.count(b"\n+")
    removed = hunk.count(b"\n-")
    return f"{header[:50]}  +{added} −{removed}"


class ReviewPane(Vertical):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("w", "apply('worktree')", "Apply to tree"),
        Binding("b", "apply('branch')", "Apply to branch"),
        Binding("x", "reject", "Reject"),
    ]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.pipeline: Any = None
        self.tests: Any = None
        """The last ``TestsRan`` of the job, set by the app as it arrives."""

    def compose(self) -> ComposeResult:
        yield Static("Nothing to review yet.", id="review-status")
        with Horizontal(id="review-body"):
            yield SelectionList[str](id="hunks")
            with VerticalScroll(id="diff-scroll"):
                yield Static("", id="diff")
                yield Static("", id="test-output")
        with Horizontal(id="review-actions"):
            yield Button("Apply to working tree", id="apply-worktree", variant="success")
            yield Button("Apply to branch", id="apply-branch", variant="primary")
            yield Button("Reject", id="reject", variant="error")

    def on_mount(self) -> None:
        self._enable(False)

    def _enable(self, enabled: bool) -> None:
        for button in self.query(Button):
            button.disabled = not enabled

    def clear(self) -> None:
        self.pipeline, self.tests = None, None
        self.query_one("#hunks", SelectionList).clear_options()
        self.query_one("#diff", Static).update("")
        self.query_one("#test-output", Static).update("")
        self.query_one("#review-status", Static).update("Job running: the result comes here.")
        self._enable(False)

    def nothing(self, why: str) -> None:
        """The job ended without a result to review (an error, a stop, a rejected plan)."""
        self.query_one("#review-status", Static).update(why)
        self._enable(False)

    def _show_tests(self) -> None:
        tests = self.tests
        if tests is None:
            self.query_one("#test-output", Static).update("")
            return
        verdict = "[green]passed[/]" if tests.passed else "[red]failed[/]"
        self.query_one("#test-output", Static).update(
            f"\n[bold]tests {verdict}[/] [dim]{safe(tests.command)}[/]\n"
            f"{safe(tests.output[-1500:])}"
        )

    def load(self, pipeline: Any) -> None:
        """Show a finished job's result (``sale_tui.pipeline.JobPipeline``)."""
        self.pipeline = pipeline
        done = pipeline.finished()
        tests = {True: "[green]passed[/]", False: "[red]failed[/]", None: "n/a"}[done.tests_passed]
        by = f" (work by {done.executed_by})" if done.executed_by != done.winner else ""
        summary = (
            f"[bold]{'done' if done.success else 'failed'}[/] · winner {done.winner}{by} · "
            f"tests {tests} · auction ${done.auction_cost_usd:.7f} + execution "
            f"${done.execution_cost_usd:.7f}"
        )
        if done.changed_tests:
            summary += "\n" + changed_tests_warning(done.changed_tests)
        selection = self.query_one("#hunks", SelectionList)
        selection.clear_options()
        if pipeline.request.kind == "research" and pipeline.stopped is not None:
            stopped = pipeline.stopped
            self.query_one("#review-status", Static).update(summary)
            cited = safe(", ".join(stopped.citations) or "none")
            wrong = safe("; ".join(stopped.bad_citations))
            self.query_one("#diff", Static).update(
                f"[bold]answer[/]\n{safe(stopped.summary)}\n\n[bold]citations checked[/]: "
                f"{cited}" + (f"\n[red]not found: {wrong}[/]" if wrong else "")
            )
            self._enable(False)
            return
        files = patches.split(pipeline.patch)
        for file in files:
            # A file that acts on the host by itself starts unchecked, named with what it
            # controls: checking it is the user's consent to apply it (host_files.py).
            why = host_files.why_protected(file.path)
            mark = f"⚠ {why}, check to apply: " if why else ""
            if file.splittable and len(file.hunks) > 1:
                for index, hunk in enumerate(file.hunks):
                    label = Text(inert(f"{mark}{file.path} · {_hunk_label(hunk)}"))
                    selection.add_option((label, _key(file.path, index), not why))
            else:
                selection.add_option(
                    (Text(inert(mark + file.path)), _key(file.path, None), not why)
                )
        count = sum(max(len(f.hunks), 1) for f in files)
        self.query_one("#review-status", Static).update(
            summary + (f" · {len(files)} file(s), {count} change(s)" if files else " · no changes")
        )
        self._show_selected()
        self._show_tests()
        self._enable(bool(files))

    def _chosen_keys(self) -> list[tuple[str, int | None]]:
        return [_unkey(value) for value in self.query_one("#hunks", SelectionList).selected]

    def chosen_patch(self) -> bytes:
        keep = self._chosen_keys()
        return patches.select(self.pipeline.patch, keep) if self.pipeline else b""

    def _show_selected(self) -> None:
        patch = self.chosen_patch().decode(errors="replace")
        theme = "ansi_dark" if self.app.current_theme.dark else "ansi_light"
        view = Syntax(inert(patch), "diff", theme=theme, word_wrap=False) if patch else ""
        self.query_one("#diff", Static).update(view or "[dim]nothing selected[/]")

    @on(SelectionList.SelectedChanged)
    def _selection_changed(self) -> None:
        self._show_selected()

    @on(Button.Pressed, "#apply-worktree, #apply-branch")
    def _apply_pressed(self, event: Button.Pressed) -> None:
        self.action_apply("branch" if event.button.id == "apply-branch" else "worktree")

    def action_apply(self, mode: Literal["worktree", "branch"]) -> None:
        if self.query_one("#apply-branch", Button).disabled:
            self.app.notify("Nothing to apply.", severity="warning")
            return
        patch = self.chosen_patch()
        if not patch.strip():
            self.app.notify("Nothing selected to apply.", severity="warning")
            return
        chosen = {path for path, _ in self._chosen_keys()}
        allowed = [path for path in chosen if host_files.why_protected(path)]
        try:
            where = self.pipeline.apply(mode, patch, allowed)
        except SaleError as error:
            self.app.notify(f"{error.message} — {error.fix}", severity="error", timeout=10)
            return
        self._enable(False)
        self.query_one("#review-status", Static).update(f"[bold green]applied[/] to {where}")
        self.app.notify(f"Applied to {where}. `sale-tui undo` reverts it.")

    @on(Button.Pressed, "#reject")
    def action_reject(self) -> None:
        if self.query_one("#reject", Button).disabled:
            self.app.notify("Nothing to reject.", severity="warning")
            return
        self.pipeline.reject()
        self._enable(False)
        self.query_one("#review-status", Static).update("[bold]rejected[/]: nothing applied")
        self.app.notify("Rejected; recorded as negative feedback for routing.")
