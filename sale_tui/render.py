"""Turning auction events into text lines, a table, or JSON: shared by the CLI and the TUI."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from typing import Any

from rich.markup import escape
from rich.table import Table
from rich.text import Text

from sale_tui.auction.events import (
    AgentWorking,
    AuctionEvent,
    AuctionFailed,
    AuctionStarted,
    BidDropped,
    BidReceived,
    BidScored,
    BudgetExcluded,
    JuryScored,
    MemoryConsulted,
    MemoryRetrieved,
    ProvisionalWinner,
    Refined,
    RefinementSkipped,
    ScoredBid,
    WinnerChosen,
)
from sale_tui.job_events import JobStarted
from sale_tui.untrusted_text import inert


def safe(value: object) -> str:
    """Untrusted text for a rich-markup line: inert, and never read as markup (a model's
    ``echo '[/]'`` crashed ``do``; ``[exit 0]`` vanished as a tag)."""
    return escape(inert(str(value)))


def _num(value: float | None, digits: int = 3) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def tokens_split(total: int, computed: int | None, cached: int | None) -> str:
    """``2,570 (1,180 computed, 1,390 cached)``; the total alone when the split is unknown
    (work recorded before it was kept, or no tokens at all)."""
    if computed is None or cached is None or not total:
        return f"{total:,}"
    return f"{total:,} ({computed:,} computed, {cached:,} cached)"


def execution_line(execution: dict[str, Any]) -> str:
    """``work by qwen-1.5b: success · tests passed · 2,310 (1,020 computed, 1,290 cached)
    tokens · $0.0000012 · verdict accepted · …`` (the split only where it was recorded)."""
    tests = {1: "passed", 0: "failed"}.get(execution["tests_passed"], "n/a")
    prompt, cached = execution.get("prompt_tokens"), execution.get("cached_tokens")
    computed = None
    if prompt is not None and cached is not None:
        computed = prompt - cached + (execution.get("generated_tokens") or 0)
    tokens = tokens_split(execution["tokens"] or 0, computed, cached)
    return (
        f"work by [bold]{safe(execution['agent'])}[/]: {execution['status']} · tests {tests} · "
        f"{tokens} tokens · ${execution['cost_usd'] or 0:.7f} · verdict "
        f"{execution['verdict'] or '—'} · {safe(execution['detail'] or '')}"
    )


def auction_tokens_line(row: dict[str, Any]) -> str:
    """An auction row's tokens (``AuctionMemory.auction``/``auctions``), split where known."""
    return tokens_split(
        int(row["auction_tokens"] or 0),
        row.get("auction_computed_tokens"),
        row.get("cached_tokens"),
    )


def event_to_json(event: AuctionEvent, **extra: Any) -> str:
    """One JSON line: ``{"event": "BidReceived", ...fields}``."""
    data = dataclasses.asdict(event)
    if isinstance(event, WinnerChosen):
        data["auction_tokens"] = event.auction_tokens
        data["auction_computed_tokens"] = event.usage.computed_tokens
        data["auction_cached_tokens"] = event.usage.cached_tokens
        data["auction_cost_usd"] = event.auction_cost_usd
    return json.dumps({"event": type(event).__name__, **extra, **data}, default=str)


def auction_tokens_of(event: WinnerChosen) -> str:
    usage = event.usage
    if not usage.total_tokens:  # an event made without its usage (a replay, a test's fixture)
        return f"{event.auction_tokens:,}"
    return tokens_split(event.auction_tokens, usage.computed_tokens, usage.cached_tokens)


def event_line(event: AuctionEvent) -> str | None:
    """A one-line rich-markup description, or None for events not worth a line."""
    match event:
        case AuctionStarted():
            return f"[bold]auction[/] among {safe(', '.join(event.agents))} · {event.kind} job"
        case BidReceived(bid=bid) | Refined(bid=bid):
            label = "bid   " if isinstance(event, BidReceived) else "refine"
            entropy = f"H={_num(bid.entropy, 2)}" + (
                f" ({safe(bid.entropy_kind)})" if bid.entropy_kind else " (no logprobs)"
            )
            return (
                f"  {label} [cyan]{safe(bid.agent)}[/] {bid.tokens} tokens · {entropy} · "
                f"${bid.cost_usd:.7f}"
            )
        case BidDropped():
            return f"  [red]dropped[/] {safe(event.agent)} ({event.round}): {safe(event.reason)}"
        case JuryScored():
            return None
        case AgentWorking():
            return f"  [dim]{safe(event.agent)} is {safe(event.doing)}…[/]"
        case BidScored(scored=scored):
            jury = " ".join(f"{safe(j)}={_num(s, 1)}" for j, s in scored.jury.items())
            return (
                f"  score [cyan]{safe(scored.agent)}[/] ({scored.bid.round}) jury {jury} · "
                f"C={_num(scored.cost)} V={_num(scored.value)} → {_num(scored.score)}"
            )
        case BudgetExcluded():
            return f"  [yellow]over budget[/] {safe(event.agent)}: {safe(event.reason)}"
        case ProvisionalWinner(scored=scored):
            return f"[bold]provisional winner[/] {safe(scored.agent)} (score {_num(scored.score)})"
        case MemoryConsulted():
            records = " · ".join(f"{safe(r.agent)} {safe(r.describe())}" for r in event.records)
            style = "bold magenta" if event.outcome == "routed" else "dim"
            return (
                f"  [{style}]memory[/] {records or 'knows no agent yet'} → {safe(event.decision)}"
            )
        case MemoryRetrieved():
            return f"  memory: {len(event.pairs)} past plan pair(s) for {safe(event.agent)}"
        case RefinementSkipped():
            return f"  {safe(event.agent)} does not refine: {safe(event.reason)}"
        case WinnerChosen():
            return (
                f"[bold green]winner[/] {safe(event.winner.agent)} — {safe(event.reason)} · "
                f"auction {auction_tokens_of(event)} tokens, ${event.auction_cost_usd:.7f}"
            )
        case AuctionFailed():
            return f"[bold red]auction failed[/]: {safe(event.reason)}"
    return None


def bids_table(bids: Sequence[ScoredBid], winner: ScoredBid | None, jurors: Sequence[str]) -> Table:
    """Agent (★ winner, ↻ refined), price, bid tokens, entropy, passed/tried on similar past
    jobs, per-juror scores, C, V, score.

    Jurors are numbered columns (γ1, γ2, …) named in the caption, so the table fits 80 columns.
    """
    caption = "jurors: " + ", ".join(f"γ{i}={name}" for i, name in enumerate(jurors, 1))
    table = Table(title="Bids (lowest C − V wins)", caption=caption)
    table.add_column("agent", no_wrap=True)
    for column in (
        "$/M",
        "tok",
        "H",
        "past",
        *[f"γ{i}" for i in range(1, len(jurors) + 1)],
        "C",
        "V",
        "C−V",
    ):
        table.add_column(column, justify="right", no_wrap=True)
    for scored in sorted(bids, key=lambda s: s.score):
        bid = scored.bid
        won = winner is not None and (scored.agent, bid.round) == (winner.agent, winner.bid.round)
        name = bid.agent + (" ↻" if bid.round == "refined" else "") + (" ★" if won else "")
        table.add_row(
            Text(name),  # a Text cell is never read as markup
            f"{bid.price:.3g}",
            str(bid.tokens),
            _num(bid.entropy, 2),
            f"{scored.track.passed}/{scored.track.tried}" if scored.track else "–",
            *[_num(scored.jury.get(j), 1) for j in jurors],
            _num(scored.cost, 2),
            _num(scored.value, 2),
            _num(scored.score, 2),
        )
    return table


def changed_tests_warning(paths: tuple[str, ...]) -> str:
    """The review's line for work that changed the job's tests (never a success)."""
    return (
        f"[red]⚠ the work changed the job's tests ({safe(', '.join(paths))}): "
        "not counted as a success[/]"
    )


def job_started_line(event: JobStarted) -> str:
    """``session 1a2b3c · job 2 · base: branch sale/… (job 1's work) · instructions: AGENTS.md``."""
    parts = [f"[bold]session[/] {safe(event.session_id or '—')}", f"job {event.number}"]
    parts.append(f"base: {safe(event.base)}")
    if event.instruction_files:
        parts.append(f"instructions: {safe(', '.join(event.instruction_files))}")
    return " · ".join(parts)


def job_event_line(event: object) -> str | None:
    """A one-line rich-markup description of a job's step, stop, test run or escalation."""
    from sale_tui.agents import AgentStopped, StepRan
    from sale_tui.job_events import Escalated, TestsRan

    match event:
        case StepRan(action=action, observation=observation):
            seen = observation.splitlines()[0][:70] if observation else ""
            return (
                f"  step {event.step} [cyan]{safe(action.tool if action else '?')}[/] "
                f"{safe((action.arg if action else '')[:60])} → {safe(seen)}"
            )
        case AgentStopped():
            return f"[bold]agent stopped[/]: {safe(event.reason)} after {event.steps} steps"
        case TestsRan():
            verdict = "[green]passed" if event.passed else "[red]failed"
            line = f"tests {verdict}[/] ({safe(event.command)})"
            if event.changed_tests:
                line += f"\n{changed_tests_warning(event.changed_tests)}"
            return line
        case Escalated():
            return (
                f"[yellow]escalated[/] {safe(event.from_agent)} → {safe(event.to_agent)}: "
                f"{safe(event.reason)}; a pricier agent tries in a fresh sandbox"
            )
    return None
