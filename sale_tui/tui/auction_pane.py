"""The live auction: a table that fills as bids, jury scores and refinements arrive.

One row per bid (agent × round). Jury columns appear per juror; the provisional winner and
then the final winner are marked; the reason and each event's line go to a log below.
Enter (or a click) on a row opens that bid's plan.
"""

from __future__ import annotations

import time
from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import DataTable, Markdown, RichLog, Static

from sale_tui.auction.events import (
    AgentWorking,
    AuctionFailed,
    AuctionStarted,
    Bid,
    BidDropped,
    BidReceived,
    BidScored,
    JuryScored,
    ProvisionalWinner,
    Refined,
    WinnerChosen,
)
from sale_tui.models.progress import tokens_so_far
from sale_tui.render import event_line, safe
from sale_tui.untrusted_text import inert

FIXED = ("agent", "$/M", "tok", "H", "past")
"""``past``: passed/tried on similar past jobs (the memory term of the value)."""
SCORES = ("C", "V", "C−V")


def _num(value: float | None, digits: int = 2) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


class PlanScreen(ModalScreen[None]):
    """One bid's plan, full text."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q", "dismiss", "Close")]

    def __init__(self, bid: Bid) -> None:
        super().__init__()
        self.bid = bid

    def compose(self) -> ComposeResult:
        with Vertical(id="plan-box"):
            yield Static(
                f"[bold]{safe(self.bid.agent)}[/] · {self.bid.round} plan · "
                f"{self.bid.tokens} tokens · ${self.bid.cost_usd:.7f}   [dim](Esc to close)[/]"
            )
            with VerticalScroll():
                # inert, and no link opens: the plan is a model's text
                yield Markdown(inert(self.bid.text), open_links=False)


class AuctionPane(Vertical):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.jurors: list[str] = []
        self.bids: dict[str, Bid] = {}
        self.marks: dict[str, str] = {}
        self.working: tuple[str, str, float] | None = None
        """(agent, what it is doing, since when): the status line's live part."""

    def compose(self) -> ComposeResult:
        yield Static("No auction yet: type a job on the Job tab.", id="auction-status")
        yield Static("", id="auction-legend")
        table: DataTable[Any] = DataTable(id="bids", cursor_type="row", zebra_stripes=True)
        yield table
        yield RichLog(id="auction-log", markup=True, wrap=True, max_lines=500)

    def on_mount(self) -> None:
        self.set_interval(0.5, self._tick)

    def _tick(self) -> None:
        """While a model thinks: how long, and for a local one how many tokens so far."""
        if self.working is None:
            return
        agent, doing, since = self.working
        tokens = tokens_so_far(agent)
        self.query_one("#auction-status", Static).update(
            f"[bold]{safe(agent)}[/] is {safe(doing)}… {time.monotonic() - since:.0f} s"
            + (f" · {tokens} tokens" if tokens else "")
        )

    def waiting(self, status: str) -> None:
        """A job was submitted: clear the last auction and say what is happening."""
        self.working = None
        self.bids.clear()
        self.marks.clear()
        self.table.clear(columns=True)
        self.query_one("#auction-log", RichLog).clear()
        self.query_one("#auction-status", Static).update(status)
        self.query_one("#auction-legend", Static).update("")

    @property
    def table(self) -> DataTable[Any]:
        return self.query_one("#bids", DataTable)

    def reset(self, started: AuctionStarted) -> None:
        self.working = None
        self.jurors = list(started.agents)
        self.bids.clear()
        self.marks.clear()
        table = self.table
        table.clear(columns=True)
        for name in FIXED:
            table.add_column(name, key=name)
        # numbered juror columns, named in the legend: the table fits 80 columns
        for number, juror in enumerate(self.jurors, 1):
            table.add_column(f"γ{number}", key=f"jury:{juror}")
        for name in SCORES:
            table.add_column(name, key=name)
        self.query_one("#auction-log", RichLog).clear()
        self.query_one("#auction-status", Static).update(
            f"[bold]auction[/] · {started.kind} job · {len(started.agents)} agents · "
            f"weights cost {started.weights.cost:.2f}, entropy {started.weights.entropy:.2f}"
        )
        jurors = " · ".join(f"γ{n} {safe(j)}" for n, j in enumerate(self.jurors, 1))
        self.query_one("#auction-legend", Static).update(
            f"[dim]jury scores 0–5 by {jurors} · lowest C − V wins · ↻ refined · "
            "☆ provisional ★ winner · enter opens a plan[/]"
        )

    def show(self, event: Any) -> None:
        """Draw one auction event; other events are ignored."""
        # who is working goes to the status line, not the log (one line per model call)
        line = event_line(event) if not isinstance(event, JuryScored | AgentWorking) else None
        if line:
            self.query_one("#auction-log", RichLog).write(Text.from_markup(line))
        match event:
            case AuctionStarted():
                self.reset(event)
            case AgentWorking():
                self.working = (event.agent, event.doing, time.monotonic())
                self._tick()
            case AuctionFailed():
                self.working = None
            case BidReceived(bid=bid) | Refined(bid=bid):
                self._add_bid(bid)
            case JuryScored():
                key = f"{event.bidder}:{event.round}"
                if key in self.bids:
                    self._update(key, f"jury:{event.juror}", _num(event.score, 1))
            case BidScored(scored=scored):
                key = f"{scored.agent}:{scored.bid.round}"
                track = scored.track
                self._update(key, "past", f"{track.passed}/{track.tried}" if track else "–")
                for name, value in zip(
                    SCORES, (scored.cost, scored.value, scored.score), strict=True
                ):
                    self._update(key, name, _num(value, 3))
            case BidDropped():
                key = f"{event.agent}:{event.round}"
                if key in self.bids:
                    self._update(key, "C−V", Text("dropped", style="red"))
            case ProvisionalWinner(scored=scored):
                self._mark(
                    f"{scored.agent}:{scored.bid.round}",
                    "☆",
                    f"provisional winner {scored.agent}: cheaper agents may now refine",
                )
            case WinnerChosen():
                key = f"{event.winner.agent}:{event.winner.bid.round}"
                if key not in self.bids:  # routed from memory: no bids, one row per record
                    for scored in event.bids:
                        self._add_bid(scored.bid)
                        self.show(BidScored(scored))
                self._mark(key, "★", f"winner {event.winner.agent}: {event.reason}")

    def _add_bid(self, bid: Bid) -> None:
        key = f"{bid.agent}:{bid.round}"
        self.bids[key] = bid
        cells = [
            self._row_label(bid),
            f"{bid.price:.3g}",
            str(bid.tokens),
            _num(bid.entropy),
            "…",
            *["…"] * len(self.jurors),
            *["…"] * len(SCORES),
        ]
        self.table.add_row(*cells, key=key)

    @staticmethod
    def _row_label(bid: Bid, mark: str = "") -> str:
        return bid.agent + (" ↻" if bid.round == "refined" else "") + (f" {mark}" if mark else "")

    def _update(self, key: str, column: str, value: Any) -> None:
        self.table.update_cell(key, column, value, update_width=True)

    def _mark(self, key: str, symbol: str, status: str) -> None:
        self.working = None  # the choosing is over
        for old in list(self.marks):
            self._update(old, "agent", self._row_label(self.bids[old]))
            del self.marks[old]
        if key in self.bids:
            bid = self.bids[key]
            self.marks[key] = symbol
            self._update(key, "agent", Text(self._row_label(bid, symbol), style="bold green"))
            self.table.move_cursor(row=self.table.get_row_index(key))
        self.query_one("#auction-status", Static).update(f"[bold]{status}[/]")

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        key = event.row_key.value
        if key in self.bids:
            self.app.push_screen(PlanScreen(self.bids[key]))
