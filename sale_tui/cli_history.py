"""``sale-tui history`` and ``sale-tui show``: read the auction memory (the audit log)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich import box
from rich.table import Table
from rich.text import Text

from sale_tui.cli_common import JsonFlag, load_cli_settings, out
from sale_tui.cli_sessions import show_session
from sale_tui.errors import UsageError
from sale_tui.render import auction_tokens_line, execution_line

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
        str | None,
        typer.Option(help="The work's outcome: success, failure, rejected, undone or interrupted."),
    ] = None,
    since: Annotated[
        str | None, typer.Option(help="Only auctions from this date on (YYYY-MM-DD, UTC).")
    ] = None,
    session: Annotated[str | None, typer.Option(help="Only this session's jobs.")] = None,
    sessions: Annotated[
        bool, typer.Option("--sessions", help="List sessions instead: id, jobs, first request.")
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """List past auctions, newest first, grouped by session: job, winner, outcome, $ of the
    auction; under them, which auction weights are in use and when they are refit.
    ``--sessions`` lists the sessions (``sale-tui show ID`` shows one whole)."""
    from sale_tui.refit import weights_status
    from sale_tui.runner import open_memory

    settings = load_cli_settings()
    memory = open_memory(settings)
    if sessions:
        _list_sessions(memory, limit, as_json)
        return
    found = memory.session(session) if session else None
    if session and found is None:
        raise UsageError(f"no session '{session}'", fix="`sale-tui history --sessions` lists them")
    rows = memory.auctions(
        limit,
        agent=agent,
        status=status,
        outcome=outcome,
        text=search,
        since=since,
        session=found["id"] if found else None,
    )
    if as_json:
        print(json.dumps(rows, default=str, indent=2))
        return
    table = Table(
        title="Past auctions by session (sale-tui show ID: an auction, or a whole session)",
        box=box.SIMPLE_HEAD,
    )
    table.add_column("id", no_wrap=True, min_width=6)
    table.add_column("when", no_wrap=True, min_width=11)
    table.add_column("job", no_wrap=True, overflow="ellipsis", max_width=18)
    table.add_column("winner", no_wrap=True, min_width=9)
    table.add_column("outcome", no_wrap=True, min_width=9)
    table.add_column("$ auction", justify="right", no_wrap=True, min_width=9)
    for group in _by_session(rows):
        first = group[0]
        title = f"session {first['session_id']}" if first["session_id"] else "no session"
        table.add_row(Text(title, style="bold"), end_section=False)
        for index, row in enumerate(group):
            table.add_row(
                row["id"][:6],
                (row["started_at"] or "")[5:16].replace("T", " "),
                Text((row["job"] or "")[:40]),  # Text: a job's own brackets are not markup
                Text(row["winner"] or "—"),
                row["outcome"] or row["status"],
                f"{row['auction_usd']:.6f}",
                end_section=index == len(group) - 1,
            )
    out.print(table)
    out.print(Text(weights_status(memory, settings), style="dim"))


def _by_session(rows: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Newest session first (the order of ``rows``), each session's jobs oldest first (a
    conversation reads down); jobs recorded before sessions existed make one group."""
    groups: dict[str | None, list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(row.get("session_id"), []).append(row)
    return [list(reversed(group)) for group in groups.values()]


def _list_sessions(memory: AuctionMemory, limit: int, as_json: bool) -> None:
    found = memory.sessions(limit=limit)
    if as_json:
        print(json.dumps(found, default=str, indent=2))
        return
    table = Table(
        title="Sessions (sale-tui --resume ID, or do --session ID, follows one up)",
        box=box.SIMPLE_HEAD,
    )
    for column in ("id", "last job", "jobs", "first request", "repo"):
        table.add_column(column, no_wrap=True, overflow="ellipsis", max_width=40)
    for row in found:
        table.add_row(
            row["id"],
            (row["last_at"] or "")[5:16].replace("T", " "),
            str(row["jobs"]),
            Text(row["title"] or ""),
            Text(row["repo"] or ""),
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
        session = memory.session(auction_id)
        if session is not None:
            show_session(memory, session, as_json)
            return
        raise UsageError(
            f"no single auction or session matches '{auction_id}'",
            fix="use an id from `sale-tui history` (or `history --sessions`)",
        )
    bids = memory.scored_bids(row["id"])
    if as_json:
        executions = [
            {k: v for k, v in e.items() if k != "patch"} for e in memory.executions(row["id"])
        ]
        shown = {**row, "bids": [asdict(b) for b in bids], "executions": executions}
        print(json.dumps(shown, default=str, indent=2))
        return
    out.print(f"[bold]{row['kind']} job[/] {safe(row['job'])}")
    out.print(f"auction {row['id']} · {row['status']} · started {row['started_at']}")
    if row.get("session_id"):
        out.print(f"session {row['session_id']} (sale-tui show {row['session_id']}: all of it)")
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
    if row.get("plan_status"):
        out.print(f"\n[bold]plan {row['plan_status']} by the user[/]")
        if row.get("approved_plan"):
            out.print(row["approved_plan"], markup=False)
    for execution in memory.executions(row["id"]):
        out.print(execution_line(execution))
    if row.get("context"):
        out.print("\n[bold]context the prompts carried[/] (besides the repo summary)")
        out.print(row["context"], markup=False)


def undo_command(
    repo: Annotated[Path, typer.Option(help="The git repository.")] = Path(),
) -> None:
    """Revert the last job applied to this repo and record that as negative feedback."""
    from sale_tui.undoing import undo_last

    out.print(undo_last(_memory(), repo))
