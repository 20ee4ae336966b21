"""The History tab: past auctions (search, filter by winner, outcome and date), each openable to
its bids, jury scores, winner and reason, cost and what the work came to."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from rich.syntax import Syntax
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import DataTable, Input, Select, Static

from sale_tui.render import bids_table, execution_line, safe
from sale_tui.tui.shown import fill_if_shown
from sale_tui.untrusted_text import inert

if TYPE_CHECKING:
    from sale_tui.auction.events import ScoredBid

OUTCOMES = [("any outcome", ""), ("success", "success"), ("failure", "failure")]
OUTCOMES += [("rejected", "rejected"), ("undone", "undone"), ("interrupted", "interrupted")]
OUTCOMES += [("auction failed", "auction:failed")]
SINCE = [("any time", 0), ("today", 1), ("last 7 days", 7), ("last 30 days", 30)]
ANY_AGENT = ""
LIMIT = 500


def since_date(days: int) -> str | None:
    """The ISO start of the window; ``today`` starts at midnight UTC (memory stores UTC)."""
    if not days:
        return None
    start = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=days - 1)
    return start.isoformat()


@dataclass(frozen=True)
class AuctionDetail:
    """One past auction as the memory holds it, loaded in a worker."""

    auction_id: str
    row: dict[str, Any]
    bids: list[ScoredBid]
    executions: list[dict[str, Any]]
    application: dict[str, Any] | None = None
    """Where the work went (``memory.application``), if it reached the repo."""


class AuctionScreen(ModalScreen[None]):
    """One past auction in full."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q", "dismiss", "Close")]

    def __init__(self, detail: AuctionDetail) -> None:
        super().__init__()
        self.detail = detail

    def compose(self) -> ComposeResult:
        row, bids, executions = self.detail.row, self.detail.bids, self.detail.executions
        winner = next(
            (b for b in bids if b.agent == row.get("winner") and b.bid.round == "refined"), None
        ) or next((b for b in bids if b.agent == row.get("winner")), None)
        jurors = sorted({juror for b in bids for juror in b.jury})
        work_usd = sum(e["cost_usd"] or 0.0 for e in executions)
        head = (
            f"[bold]{safe(row.get('job') or '')}[/]\n"
            f"[dim]{self.detail.auction_id} · {row.get('kind')} · "
            f"{(row.get('started_at') or '')[:19]} · {safe(row.get('repo') or '')}[/]\n"
            f"{row.get('status')}: winner [bold]{safe(row.get('winner') or '—')}[/] — "
            f"{safe(row.get('reason') or '')}\n"
            f"auction ${row.get('auction_usd') or 0.0:.7f} + work ${work_usd:.7f}   "
            "[dim](Esc to close)[/]"
        )
        with Vertical(id="auction-box"):
            yield Static(head)
            with VerticalScroll():
                yield Static(bids_table(bids, winner, jurors) if bids else "no scored bids")
                for execution in executions:
                    yield Static(execution_line(execution))
                if winner is not None:
                    yield Static(f"\n[bold]winning plan[/]\n{safe(winner.bid.text)}")
                if row.get("plan_status"):
                    edited = row.get("approved_plan")
                    yield Static(
                        f"\n[bold]plan {row['plan_status']} by the user[/]"
                        + (f"\n{safe(edited)}" if edited else "")
                    )
                yield from self._result()

    def _result(self) -> Iterator[Static]:
        """What the work came to: the research answer, or where the diff went and the diff."""
        row, executions = self.detail.row, self.detail.executions
        last = executions[-1] if executions else None
        if last is None:
            return
        if row.get("kind") == "research":
            yield Static(f"\n[bold]answer[/]\n{safe(last.get('summary') or '(none)')}")
            return
        applied = self.detail.application
        if applied is None:
            where = f"not applied ({last.get('verdict') or 'no verdict'})"
        elif applied.get("undone_at"):
            where = f"applied to {applied['branch'] or 'the working tree'}, then undone"
        else:
            where = f"applied to {applied['branch'] or 'the working tree'}"
        yield Static(f"\n[bold]the work[/]: {safe(where)}")
        patch = bytes(last.get("patch") or b"").decode(errors="replace")
        if patch.strip():
            yield Static(Syntax(inert(patch), "diff", theme="ansi_dark", word_wrap=False))


class HistoryPane(Vertical):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.agents: set[str] = set()

    def compose(self) -> ComposeResult:
        with Horizontal(id="history-filters"):
            yield Input(placeholder="search job text", id="history-search", compact=True)
            yield Select(
                [("any winner", ANY_AGENT)],
                value=ANY_AGENT,
                allow_blank=False,
                id="history-agent",
                compact=True,
            )
            yield Select(OUTCOMES, value="", allow_blank=False, id="history-outcome", compact=True)
            yield Select(SINCE, value=0, allow_blank=False, id="history-since", compact=True)
        yield Static("", id="history-count")
        table: DataTable[Any] = DataTable(id="auctions", cursor_type="row", zebra_stripes=True)
        yield table

    def on_mount(self) -> None:
        table = self.query_one("#auctions", DataTable)
        # the job text last: on 80 columns the short fields stay in view
        table.add_columns(
            "id", "when (UTC)", "session", "winner", "outcome", "$ auction", "$ work", "job"
        )

    def reload(self) -> None:
        """Read the filters here (the UI thread) and query the memory in a worker."""
        outcome = str(self.query_one("#history-outcome", Select).value)
        days = self.query_one("#history-since", Select).value
        self._load(
            agent=str(self.query_one("#history-agent", Select).value) or None,
            status=outcome.removeprefix("auction:") if outcome.startswith("auction:") else None,
            outcome=None if outcome.startswith("auction:") else outcome or None,
            text=self.query_one("#history-search", Input).value,
            since=since_date(days if isinstance(days, int) else 0),
        )

    @work(thread=True, exclusive=True, group="history")
    def _load(self, **filters: Any) -> None:
        app: Any = self.app
        try:
            with app.using_memory() as memory:
                rows = memory.auctions(LIMIT, **filters)
                winners = {row["winner"] for row in memory.auctions(LIMIT) if row["winner"]}
        except Exception as error:
            app.report_from_worker(error, "reading the history failed")
            return
        app.call_from_thread(fill_if_shown, self._fill, rows, winners)

    @work(thread=True, group="history-detail")
    def _open(self, auction_id: str) -> None:
        app: Any = self.app
        try:
            with app.using_memory() as memory:
                detail = AuctionDetail(
                    auction_id,
                    memory.auction(auction_id) or {},
                    memory.scored_bids(auction_id),
                    memory.executions(auction_id),
                    memory.application(auction_id),
                )
        except Exception as error:
            app.report_from_worker(error, "reading the auction failed")
            return
        app.call_from_thread(app.push_screen, AuctionScreen(detail))

    def _fill(self, rows: list[dict[str, Any]], winners: set[str]) -> None:
        if winners != self.agents:
            self.agents = winners
            chooser = self.query_one("#history-agent", Select)
            current = chooser.value
            chooser.set_options([("any winner", ANY_AGENT), *[(a, a) for a in sorted(winners)]])
            chooser.value = current if current in winners else ANY_AGENT
        table = self.query_one("#auctions", DataTable)
        table.clear()
        for row in rows:
            table.add_row(
                row["id"][:6],
                (row["started_at"] or "")[5:16].replace("T", " "),
                (row["session_id"] or "—")[:6],
                Text(inert(row["winner"] or "—")),
                row["outcome"] or row["status"],
                f"{row['auction_usd']:.6f}",
                f"{row['work_usd']:.6f}",
                Text(inert((row["job"] or "")[:80])),  # a str cell would be read as markup
                key=row["id"],
            )
        more = " (newest shown)" if len(rows) == LIMIT else ""
        self.query_one("#history-count", Static).update(
            f"{len(rows)} auction(s){more} · Enter opens one"
        )

    @on(Input.Changed, "#history-search")
    @on(Select.Changed, "#history-agent, #history-outcome, #history-since")
    def _filters_changed(self) -> None:
        self.reload()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value:
            self._open(event.row_key.value)
