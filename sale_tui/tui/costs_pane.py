"""The Costs tab: totals, which auction weights are in use (and when the next refit comes),
per agent (share of jobs won, $ as bidder, juror and worker), the auction's overhead against
the work, and two charts: $ per day (auction vs execution) and the share of auctions a cheaper
agent won as the memory grew."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Static
from textual_plotext import PlotextPlot

from sale_tui.tui.shown import fill_if_shown

if TYPE_CHECKING:  # the memory (numpy, the embedder) loads in a worker, after the first paint
    from sale_tui.memory.costs import Overhead

TREND_WINDOW = 10


class CostsPane(Vertical):
    def compose(self) -> ComposeResult:
        yield Static("Loading the memory…", id="costs-summary")
        yield Static("", id="costs-weights")
        table: DataTable[Any] = DataTable(id="costs-agents", cursor_type="row")
        yield table
        with Horizontal(id="costs-charts"):
            yield PlotextPlot(id="costs-daily")
            yield PlotextPlot(id="costs-trend")

    def on_mount(self) -> None:
        self.query_one("#costs-agents", DataTable).add_columns(
            "agent", "bids", "wins", "win share", "work ok", "$ bids", "$ jury", "$ work"
        )

    @work(thread=True, exclusive=True, group="costs")
    def reload(self) -> None:
        from sale_tui.config import load_settings
        from sale_tui.refit import weights_status

        app: Any = self.app
        try:
            settings = load_settings(cwd=app.services.repo)
            with app.using_memory() as memory:
                data = (
                    memory.overhead(),
                    memory.cost_per_agent(),
                    memory.cost_per_day(),
                    memory.small_agent_wins(TREND_WINDOW),
                    weights_status(memory, settings),
                )
        except Exception as error:
            app.report_from_worker(error, "reading the costs failed")
            return
        app.call_from_thread(fill_if_shown, self._fill, *data)

    def _fill(
        self,
        overhead: Overhead,
        agents: list[dict[str, Any]],
        days: list[dict[str, Any]],
        trend: list[tuple[int, float]],
        weights: str,
    ) -> None:
        total = overhead.auction_usd + overhead.execution_usd
        tokens = overhead.auction_tokens + overhead.execution_tokens
        token_share = overhead.auction_tokens / tokens if tokens else 0.0
        self.query_one("#costs-summary", Static).update(
            f"[bold]{overhead.auctions} auctions · ${total:.6f}[/] = auction "
            f"${overhead.auction_usd:.6f} ({overhead.auction_tokens:,} tokens, "
            f"{overhead.auction_cached_tokens:,} read from cache) + work "
            f"${overhead.execution_usd:.6f} ({overhead.execution_tokens:,} tokens, "
            f"{overhead.execution_cached_tokens:,} read from cache)\n"
            f"auction overhead: [bold]{overhead.auction_share:.0%}[/] of $, "
            f"{token_share:.0%} of tokens · $ nominal for local models"
        )
        self.query_one("#costs-weights", Static).update(Text(weights, style="dim"))
        table = self.query_one("#costs-agents", DataTable)
        table.clear()
        for row in agents:
            table.add_row(
                row["agent"],
                str(row["entered"]),
                str(row["wins"]),
                f"{row['win_share']:.0%}",
                str(row["successes"]),
                f"{row['bid_usd']:.6f}",
                f"{row['jury_usd']:.6f}",
                f"{row['execution_usd']:.6f}",
            )
        daily = self.query_one("#costs-daily", PlotextPlot)
        plt = daily.plt
        plt.clear_data()
        plt.clear_figure()
        plt.title("$ per day")
        if days:
            labels = [row["day"][5:] for row in days]
            plt.stacked_bar(
                labels,
                [
                    [row["auction_usd"] or 0 for row in days],
                    [row["execution_usd"] or 0 for row in days],
                ],
                labels=["auction", "work"],  # type: ignore[call-arg]  # the .pyi says label
            )
        daily.refresh()
        trend_plot = self.query_one("#costs-trend", PlotextPlot)
        plt = trend_plot.plt
        plt.clear_data()
        plt.clear_figure()
        plt.title(f"cheaper agent won (last {TREND_WINDOW})")
        if trend:
            plt.plot([count for count, _ in trend], [share * 100 for _, share in trend])
            plt.ylim(0, 100)
            plt.xlabel("auctions in memory")
        trend_plot.refresh()
