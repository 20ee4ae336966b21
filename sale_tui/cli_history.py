"""``sale-tui history`` and ``sale-tui show``: read the auction memory (the audit log)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich import box
from rich.table import Table
from rich.text import Text

from sale_tui.cli_common import JsonFlag, load_cli_settings, out
from sale_tui.errors import UsageError
from sale_tui.render import auction_tokens_line

if TYPE_CHECKING:
    from sale_tui.memory import AuctionMemory


def _memory() -> AuctionMemory:
    from sale_tui.runner import open_memory

    return open_memory(load_cli_settings())


def history_command(
    limit: Annotated[int, typer.Option(min=1, help="How many auctions.")] = 20,
    agent: Annotated[str | None, typer.Option(help="Only auctions this agent won.")] = None,
    status: Annotated[str | None, typer.Option(help="won, failed, interrupted or running.")] = None,
    search: Annotated[str | None, typer.Option(help="Words the job text contains.")] = None,
    outcome: Annotated[
        str | None, typer.Option(help="The work's outcome: success, failure or interrupted.")
    ] = None,
    since: Annotated[
        str | None, typer.Option(help="Only auctions from this date on (YYYY-MM-DD, UTC).")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """List past auctions, newest first: job, winner, outcome, tokens and $ of the auction."""
    rows = _memory().auctions(
        limit, agent=agent, status=status, outcome=outcome, text=search, since=since
    )
    if as_json:
        print(json.dumps(rows, default=str, indent=2))
        return
    table = Table(title="Past auctions (sale-tui show ID for the bids)", box=box.SIMPLE_HEAD)
    table.add_column("id", no_wrap=True, min_width=6)
    table.add_column("when", no_wrap=True, min_width=11)
    table.add_column("job", no_wrap=True, overflow="ellipsis", max_width=18)
    table.add_column("winner", no_wrap=True, min_width=9)
    table.add_column("status", no_wrap=True, min_width=9)
    table.add_column("$ auction", justify="right", no_wrap=True, min_width=9)
    for row in rows:
        table.add_row(
            row["id"][:6],
            (row["started_at"] or "")[5:16].replace("T", " "),
            Text((row["job"] or "")[:40]),  # Text: a job's own brackets are not markup
            Text(row["winner"] or "—"),
            row["outcome"] or row["status"],
            f"{row['auction_usd']:.6f}",
        )
    out.print(table)


def show_command(
    auction_id: Annotated[str, typer.Argument(help="Auction id (or a unique prefix).")],
    as_json: JsonFlag = False,
) -> None:
    """Show one past auction: the job, every bid with its scores, the winner and why."""
    from dataclasses import asdict

    from sale_tui.render import bids_table, safe

    memory = _memory()
    row = memory.auction(auction_id)
    if row is None:
        raise UsageError(
            f"no single auction matches '{auction_id}'", fix="use an id from `sale-tui history`"
        )
    bids = memory.scored_bids(row["id"])
    if as_json:
        print(json.dumps({**row, "bids": [asdict(b) for b in bids]}, default=str, indent=2))
        return
    out.print(f"[bold]{row['kind']} job[/] {safe(row['job'])}")
    out.print(f"auction {row['id']} · {row['status']} · started {row['started_at']}")
    jurors = json.loads(row["agents"] or "[]")
    winner = next(
        (
            b
            for b in bids
            if b.agent == row["winner"]
            and b.bid.round == ("refined" if row["winner"] != row["provisional"] else "original")
        ),
        None,
    )
    if row.get("routed_reason"):
        out.print(f"memory: {row['routed_reason']}", markup=False)
    if bids:
        out.print(bids_table(bids, winner, jurors))
    out.print(f"winner: {row['winner'] or '—'} — {row['reason'] or ''}", markup=False)
    out.print(f"auction tokens {auction_tokens_line(row)}, ${row['auction_usd']:.7f}")
    if winner is not None:
        out.print("\n[bold]winning plan[/]")
        out.print(winner.bid.text, markup=False)


def undo_command(
    repo: Annotated[Path, typer.Option(help="The git repository.")] = Path(),
) -> None:
    """Revert the last job applied to this repo and record that as negative feedback."""
    from sale_tui.repo import Applied, open_repo, undo

    root = str(Path(open_repo(repo.resolve()).working_dir))
    memory = _memory()
    last = memory.last_application(root)
    if last is None:
        raise UsageError(f"no applied job to undo in {root}", fix="see `sale-tui history`")
    applied = Applied(last["mode"], last["head_before"], last["branch"], last["commit_sha"])
    undo(Path(root), last["patch"], applied)
    memory.mark_undone(last["id"], last["auction_id"])
    where = (
        f"branch {applied.branch} deleted"
        if applied.mode == "branch"
        else ("working tree restored")
    )
    out.print(f"undone: auction {last['auction_id']} ({where}); recorded as negative feedback")
