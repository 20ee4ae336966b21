"""``sale-tui auction``: run the strategy auction for a job and show it live (no execution)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich import box
from rich.table import Table

from sale_tui.cli_common import JsonFlag, err, out
from sale_tui.errors import UsageError

if TYPE_CHECKING:
    from collections.abc import Generator

    from sale_tui.auction.events import AuctionEvent, ScoredBid
    from sale_tui.runner import AuctionRunner

bench_app = typer.Typer(
    help="Benchmarks that measure this machine and this roster.", no_args_is_help=True
)

KINDS = ("coding", "research")


def stream_auction(
    runner: AuctionRunner,
    events: Generator[Any, None, None],
    as_json: bool,
    *,
    stop_at_winner: bool = False,
) -> tuple[AuctionEvent | None, list[ScoredBid]]:
    """Print an auction's events live (lines or JSON); return the last event and scored bids.

    The generator is closed on Ctrl-C too, so the runner marks the auction interrupted before
    the process exits (130), instead of whenever the generator is collected.
    ``stop_at_winner``: return at the auction's last event and leave the generator open (``do``
    goes on with the same job's execution events).
    """
    from sale_tui.auction.events import AuctionFailed, BidScored, WinnerChosen
    from sale_tui.render import event_line, event_to_json

    final: AuctionEvent | None = None
    scored: list[ScoredBid] = []
    try:
        for event in events:
            if as_json:
                print(event_to_json(event, auction_id=runner.auction_ids[-1]), flush=True)
            else:
                line = event_line(event)
                if line:
                    out.print(line)
            if isinstance(event, BidScored):
                scored.append(event.scored)
            if isinstance(event, WinnerChosen | AuctionFailed):
                final = event
                if stop_at_winner:
                    return final, scored
    except BaseException:
        events.close()
        raise
    return final, scored


def auction_command(
    job: Annotated[str, typer.Argument(help="The job: a coding change or a question.")],
    kind: Annotated[str, typer.Option(help="coding or research.")] = "coding",
    agents: Annotated[
        str | None, typer.Option(help="Comma-separated agent names (default: the whole roster).")
    ] = None,
    budget: Annotated[
        float | None, typer.Option(help="$ cap for this job (auction + estimated execution).")
    ] = None,
    refine: Annotated[
        bool, typer.Option(help="Let cheaper agents refine their bids from memory.")
    ] = True,
    repo: Annotated[Path, typer.Option(help="The git repository the job is about.")] = Path(),
    as_json: Annotated[bool, typer.Option("--json", help="Emit JSON lines.")] = False,
) -> None:
    """Run the strategy auction for a job and show who would do it and why (no execution)."""
    from sale_tui.auction import Job
    from sale_tui.auction.events import AuctionFailed, WinnerChosen
    from sale_tui.render import bids_table
    from sale_tui.repo import summarize
    from sale_tui.runner import build_runner

    if kind not in KINDS:
        raise UsageError(f"unknown job kind '{kind}'", fix="use --kind coding or --kind research")
    names = [n.strip() for n in agents.split(",") if n.strip()] if agents else None
    summary = summarize(repo.resolve())
    runner = build_runner(names)
    final, scored = stream_auction(
        runner,
        runner.run(
            Job(job, kind, summary), budget_usd=budget, refine=refine, repo=str(repo.resolve())
        ),
        as_json,
    )
    if not as_json and scored:
        winner = final.winner if isinstance(final, WinnerChosen) else None
        out.print(bids_table(scored, winner, [a.name for a in runner.agents]))
        out.print(f"[dim]auction {runner.auction_ids[-1]} saved in {runner.memory.path}[/]")
    if isinstance(final, AuctionFailed):
        sys.exit(1)


def calibrate_command(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Fit and report, save nothing.")
    ] = False,
    heldout: Annotated[
        float,
        typer.Option(
            min=0.05, max=0.9, help="Share of tasks held out to measure routing accuracy."
        ),
    ] = 0.25,
    seed: Annotated[int, typer.Option(help="Seed of the train/held-out split.")] = 0,
    as_json: JsonFlag = False,
) -> None:
    """Fit the auction weights to recorded outcomes (min-max LP) and report routing accuracy."""
    from dataclasses import asdict

    from sale_tui.calibrate import calibrate as run_calibration
    from sale_tui.config import load_settings
    from sale_tui.runner import open_memory, weights_from

    settings = load_settings()
    memory = open_memory(settings)
    result = run_calibration(memory, weights_from(settings, memory), heldout=heldout, seed=seed)
    if not dry_run:
        memory.save_fitted_weights(
            result.weights,
            records=result.tasks,
            train_accuracy=result.train_after,
            heldout_accuracy=result.heldout_after,
            baseline_heldout_accuracy=result.heldout_before,
        )
    if as_json:
        print(json.dumps({**asdict(result), "saved": not dry_run}, default=str))
        return
    w = result.weights
    out.print(
        f"{result.tasks} tasks with known outcomes ({result.heldout_tasks} held out); "
        f"worst training loss {result.worst_loss:.3f}"
    )
    out.print(
        f"routing accuracy  train {result.train_before:.0%} → {result.train_after:.0%}  "
        f"held-out {result.heldout_before:.0%} → {result.heldout_after:.0%}"
    )
    jurors = ", ".join(f"{name}={value:.3f}" for name, value in (w.jurors or {}).items())
    out.print(f"weights: w_cost={w.cost:.3f} w_entropy={w.entropy:.3f} jurors: {jurors}")
    out.print(
        "saved: later auctions use these weights" if not dry_run else "dry run: nothing saved"
    )


@bench_app.command("memory")
def bench_memory(
    jobs: Annotated[
        list[int] | None,
        typer.Argument(help="Memory sizes to measure (past jobs). Default: 1000 10000 100000."),
    ] = None,
    repeats: Annotated[int, typer.Option(min=5, help="Timed retrievals per size.")] = 100,
    as_json: JsonFlag = False,
) -> None:
    """Retrieval latency of k=8 plan pairs as the auction memory grows."""
    from dataclasses import asdict

    from sale_tui.memory.bench import measure

    with err.status("building synthetic memories and timing retrieval…"):
        results = measure(jobs or [1000, 10000, 100000], repeats=repeats)
    if as_json:
        print(json.dumps([asdict(r) for r in results], indent=2))
        return
    table = Table(
        "past jobs",
        "build s",
        "full p50 ms",
        "full p95 ms",
        "search p50 ms",
        "search p95 ms",
        title="plan_pairs(k=8) latency (full = embed query too)",
    )
    for r in results:
        table.add_row(
            f"{r.jobs:,}",
            f"{r.build_s}",
            f"{r.full_p50_ms}",
            f"{r.full_p95_ms}",
            f"{r.search_p50_ms}",
            f"{r.search_p95_ms}",
        )
    out.print(table)


@bench_app.command("sandbox")
def bench_sandbox(
    files: Annotated[int, typer.Option(min=1, help="Files in the synthetic repo.")] = 5000,
    runs: Annotated[int, typer.Option(min=5, help="Timed `true` round trips.")] = 50,
    as_json: JsonFlag = False,
) -> None:
    """Container create-to-ready, exec round trip and snapshot time for a large repo."""
    from dataclasses import asdict

    from sale_tui.sandboxes.bench import measure

    with err.status(f"building a {files}-file repo and timing the sandbox…"):
        result = measure(files, runs)
    if as_json:
        print(json.dumps(asdict(result)))
        return
    table = Table("what", "time", title=f"Sandbox speed ({files}-file repo)")
    table.add_row(
        "snapshot of HEAD (git archive)",
        f"{result.snapshot_head_s:.3f} s ({result.snapshot_mb} MB)",
    )
    table.add_row("snapshot with uncommitted changes", f"{result.snapshot_worktree_s:.3f} s")
    table.add_row("create-to-ready, 3-file repo", f"{result.ready_small_s:.3f} s")
    table.add_row(f"create-to-ready, {files}-file repo", f"{result.ready_large_s:.3f} s")
    table.add_row("exec round trip p50 / p95", f"{result.exec_p50_ms} / {result.exec_p95_ms} ms")
    out.print(table)


@bench_app.command("tui")
def bench_tui(
    runs: Annotated[int, typer.Option(min=1, help="Fresh processes to time.")] = 5,
    repo: Annotated[Path, typer.Option(help="The repo the app opens on.")] = Path(),
    as_json: JsonFlag = False,
) -> None:
    """Time from launch to the TUI's first screen, and to the start-up checks done."""
    from dataclasses import asdict

    from sale_tui.tui.bench import measure

    with err.status(f"starting the TUI {runs} times…"):
        result = measure(repo.resolve(), runs)
    if as_json:
        print(json.dumps(asdict(result)))
        return
    table = Table("what", "value", title=f"TUI start-up (80×24, median of {runs} fresh processes)")
    table.add_row(
        "launch → first screen painted",
        f"{result.first_paint_s:.2f} s (max {result.first_paint_max_s:.2f} s)",
    )
    table.add_row("launch → repo, Docker and roster checked", f"{result.checks_done_s:.2f} s")
    table.add_row("peak RSS at first paint", f"{result.rss_at_paint_mb:.0f} MB")
    table.add_row("peak RSS after the checks", f"{result.rss_after_checks_mb:.0f} MB")
    out.print(table)


@bench_app.command("run")
def bench_run(
    tasks: Annotated[
        str, typer.Option(help="humaneval, hotpotqa and/or paths to JSONL task files.")
    ] = "humaneval,hotpotqa",
    limit: Annotated[int | None, typer.Option(min=1, help="Tasks per domain (sampled).")] = 10,
    seed: Annotated[int, typer.Option(help="Sampling and random-routing seed.")] = 0,
    agents: Annotated[str | None, typer.Option(help="Comma-separated agent names.")] = None,
    strategies: Annotated[
        str | None, typer.Option(help="Comma-separated (default: all). See the README.")
    ] = None,
    results: Annotated[
        Path, typer.Option("--out", help="Folder for outcomes.json and results.json.")
    ] = Path("bench-results"),
    as_json: JsonFlag = False,
) -> None:
    """Route a task stream through several strategies; pass@1, $, largest-agent share.

    Every agent solves every task once (cached in OUT/outcomes.json: run again to resume);
    strategies are compared on those same attempts."""
    from rich.progress import Progress

    from sale_tui.benchmark import run as bench
    from sale_tui.benchmark.tasks import HOTPOTQA, load, sample
    from sale_tui.runner import build_runner
    from sale_tui.sandboxes import DockerSandbox

    names = [n.strip() for n in agents.split(",")] if agents else None
    chosen = sample(load(tasks.split(","), HOTPOTQA), limit, seed)
    runner = build_runner(names)
    wanted = [s.strip() for s in strategies.split(",")] if strategies else None
    with DockerSandbox("bench") as sandbox, Progress(console=err, transient=True) as bar:
        work = bar.add_task("solving", total=len(chosen) * len(runner.agents))
        sale = [s for s in (wanted or bench.SALE_STRATEGIES) if s in bench.SALE_STRATEGIES]
        auctions = bar.add_task("auctions", total=len(chosen) * len(sale), visible=bool(sale))

        def step(attempt: Any) -> None:
            label = f"{attempt.agent} {attempt.task}" if attempt else "cached"
            bar.update(work, advance=1, description=label[:40])

        def auctioned(task_id: str) -> None:
            bar.update(auctions, advance=1, description=f"auction {task_id}"[:40])

        report = bench.run(
            chosen,
            runner.agents,
            sandbox,
            results,
            strategies=wanted,
            seed=seed,
            settings=runner.settings,
            progress=step,
            auction_progress=auctioned,
        )
    if as_json:
        print(json.dumps(report["rows"]))
        return
    # one table per group (all, each domain, each complexity bin), so each fits 80 columns
    for group in dict.fromkeys(row["group"] for row in report["rows"]):
        table = Table(title=f"{group}", box=box.SIMPLE_HEAD, title_justify="left")
        table.add_column("strategy", no_wrap=True)
        for name in ("n", "pass@1", "95% CI", "$", "×L $", "L use", "ovh"):
            table.add_column(name, justify="right", no_wrap=True)
        for row in (r for r in report["rows"] if r["group"] == group):
            relative = row["cost_vs_largest"]
            table.add_row(
                row["strategy"].removeprefix("agent:"),
                str(row["tasks"]),
                f"{row['pass_at_1']:.2f}",
                f"{row['ci_low']:.2f}–{row['ci_high']:.2f}",
                f"{row['cost_usd']:.6f}",
                "—" if relative is None else f"{relative:.2f}",
                f"{row['largest_share']:.0%}",
                f"{row['overhead_token_share']:.0%}",
            )
        out.print(table)
    err.print(
        f"L = the largest agent ({report['largest']}); ×L $ = cost relative to always-largest; "
        "L use = share of tasks it ran; ovh = tokens spent choosing.\n"
        f"saved: {results / 'results.json'} (outcomes cached in {results / 'outcomes.json'})"
    )
