"""F1: how a job flows through the tabs, and every key."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Markdown

HELP = """\
# sale-tui

Type a job on **Job** and press **ctrl+r**. Agents bid with short plans; the jury (every agent)
scores each plan; the lowest *C − V* (price × bid length against value) wins, and cheaper agents
may refine their bid from past winning plans first (**Auction**). The winner works in a Docker
sandbox on a snapshot of your repo (**Execution**); nothing touches your repo until you apply the
diff on **Review**, file by file or hunk by hunk. When the work fails, a pricier agent tries
(escalate; the largest last). Every auction is kept in the memory: **History**, **Costs**.

Jobs typed one after another form a **session**: each follow-up sees the earlier requests, what
they changed and their answers, and starts from their accepted work (the Job tab says from
where). `sale-tui --continue` picks the latest session up again, `sale-tui --resume` any one.
Tick **approve plan first** to read, edit or reject the winning plan before anything runs.
The repo's `AGENTS.md` (or `CLAUDE.md`, `.sale-tui/instructions.md`) reaches every prompt.

| key | what it does |
|---|---|
| ctrl+r | run the job typed on the Job tab |
| ctrl+n | new session (the next job starts from the repo as it is) |
| ctrl+s / esc on the plan | run the (edited) plan / reject it |
| w / b / x on Review | apply to the working tree / apply to a branch / reject |
| ctrl+p → Undo last applied job | revert the last applied job (`sale-tui undo`) |
| F8 / ctrl+c | stop the running job (the sandbox is removed, the record kept) |
| F2 … F7 | Job, Auction, Execution, Review, History, Costs |
| ↑ / ↓ in the request | earlier requests |
| enter on a bid / auction | open its plan / the past auction |
| space on a file or hunk | keep it or leave it out of the patch |
| ctrl+t | light or dark theme |
| ctrl+p | command palette (every command) |
| F12 | save an SVG screenshot (in sale-tui's data folder) |
| ctrl+q | quit (stops a running job first) |
| esc | close this help or a detail window |

The same jobs run without the UI: `sale-tui do "…"` (`do --continue "…"` follows up); past
auctions by session: `sale-tui history`, `sale-tui show ID` (an auction or a whole session).
"""


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q,f1", "dismiss", "Close")]

    def compose(self) -> ComposeResult:
        with Vertical(id="help-box"), VerticalScroll():
            yield Markdown(HELP)

    def on_mount(self) -> None:
        self.query_one(VerticalScroll).focus()  # arrows and page keys scroll the help
