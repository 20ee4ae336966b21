"""``sale-tui bench``: measure this machine (memory, sandbox, TUI) and this roster (run)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich import box
from rich.table import Table

from sale_tui.cli_common import JsonFlag, err, out
from sale_tui.errors import UsageError

bench_app = typer.Typer(
    help="Benchmarks that measure this machine and this roster.", no_args_is_help=True
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
        str,
        typer.Option(
            help="humaneval, hotpotqa, memory (your past coding jobs) and/or JSONL task files."
        ),
    ] = "humaneval,hotpotqa",
    limit: Annotated[int | None, typer.Option(min=1, help="Test tasks per domain.")] = 10,
    train: Annotated[
        int, typer.Option(min=0, help="Other tasks per domain the trained routers learn from.")
    ] = 10,
    seed: Annotated[int, typer.Option(help="Sampling and random-routing seed.")] = 0,
    orders: Annotated[
        int,
        typer.Option(
            min=1, help="Stream orders (seeds seed, seed+1, …) for sale+memory and sale+learned."
        ),
    ] = 3,
    agents: Annotated[str | None, typer.Option(help="Comma-separated agent names.")] = None,
    strategies: Annotated[
        str | None, typer.Option(help="Comma-separated (default: all). See the README.")
    ] = None,
    results: Annotated[
        Path, typer.Option("--out", help="Folder for the results, plots and caches.")
    ] = Path("bench-results"),
    agentic: Annotated[
        bool,
        typer.Option(
            "--agentic",
            help="Do each HumanEval/HotpotQA task as a repo job through the agent loop "
            "(visible example tests, hidden grade) instead of one model call.",
        ),
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Route a task stream through several strategies; pass@1, $, largest-agent share.

    Every agent solves every task once (cached in OUT/outcomes.json: run again to resume);
    strategies are compared on those same attempts."""
    from rich.progress import Progress

    from sale_tui.benchmark import run as bench
    from sale_tui.benchmark.plots import plot
    from sale_tui.benchmark.replay import past_jobs
    from sale_tui.benchmark.strategies import STREAMED
    from sale_tui.benchmark.tasks import HOTPOTQA, load, split
    from sale_tui.runner import build_runner
    from sale_tui.sandboxes import DockerSandbox

    names = [n.strip() for n in agents.split(",")] if agents else None
    runner = build_runner(names)
    everything = load(tasks.split(","), HOTPOTQA, lambda: past_jobs(runner.memory))
    if not everything:
        raise UsageError(
            "no tasks to run", fix="your memory has no replayable jobs yet: run sale-tui do first"
        )
    chosen, training = split(everything, limit, train, seed)
    wanted = [s.strip() for s in strategies.split(",")] if strategies else None
    streams = [seed + i for i in range(orders)]
    sale = [s for s in (wanted or bench.SALE_STRATEGIES) if s in bench.SALE_STRATEGIES]
    passes = sum(len(streams) if s in STREAMED else 1 for s in sale)
    with DockerSandbox("bench") as sandbox, Progress(console=err, transient=True) as bar:
        total = (len(chosen) + len(training)) * len(runner.agents)
        work = bar.add_task("solving", total=total)
        auctions = bar.add_task("auctions", total=len(chosen) * passes, visible=bool(sale))
        if agentic:
            from sale_tui.benchmark.agentic import as_agentic

            chosen = as_agentic(chosen, results / "repos", sandbox, HOTPOTQA)
            training = as_agentic(training, results / "repos", sandbox, HOTPOTQA)

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
            train=training,
            strategies=wanted,
            seed=seed,
            orders=streams,
            settings=runner.settings,
            progress=step,
            auction_progress=auctioned,
        )
    pictures = plot(report, results)
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
    _print_agent_runs(report.get("agent_runs", []))
    for streamed in STREAMED:
        by_order: dict[str, list[bool]] = {}
        for item in report["routed"].get(streamed, []):
            by_order.setdefault(str(item["order"]), []).append(item["passed"])
        if len(by_order) > 1:
            each = ", ".join(f"order {k}: {sum(v) / len(v):.2f}" for k, v in by_order.items())
            out.print(f"{streamed} is the mean of {len(by_order)} stream orders ({each})")
    err.print(
        f"L = the largest agent ({report['largest']}); ×L $ = cost relative to always-largest; "
        "L use = share of tasks it ran; ovh = tokens spent choosing.\n"
        f"saved: {results / 'results.json'}, plots {', '.join(str(p) for p in pictures)} "
        f"(outcomes cached in {results / 'outcomes.json'})"
    )


def _print_agent_runs(runs: list[dict[str, Any]]) -> None:
    """Agentic tasks: each agent's own runs (pass@1, checks, tokens, time, steps, stops)."""
    if not runs:
        return
    table = Table(title="agent runs", box=box.SIMPLE_HEAD, title_justify="left")
    columns = ("group", "agent", "n", "pass@1", "95% CI", "checks", "tokens", "computed", "s")
    for name in (*columns, "steps"):
        table.add_column(name, justify="left" if name in ("group", "agent") else "right")
    table.add_column("stops")
    for run in runs:
        table.add_row(
            run["group"],
            run["agent"],
            str(run["tasks"]),
            f"{run['pass_at_1']:.2f}",
            f"{run['ci_low']:.2f}–{run['ci_high']:.2f}",
            f"{run['checks_passed']:.2f}",
            str(run["median_tokens"]),
            "—"
            if run.get("median_computed_tokens") is None
            else str(run["median_computed_tokens"]),
            f"{run['median_seconds']:.0f}",
            f"{run['median_steps']:g}",
            ", ".join(f"{k} {v}" for k, v in run["stops"].items()),
        )
    out.print(table)


@bench_app.command("auction")
def bench_auction(
    agents: Annotated[
        list[str] | None,
        typer.Option(
            help="A roster to auction among, comma-separated; give it once per roster. "
            "Default: qwen-0.5b,qwen-1.5b and smollm2,qwen-0.5b,qwen-1.5b."
        ),
    ] = None,
    designs: Annotated[
        str, typer.Option(help="Auction designs: v1 (before), lean, panel, short (64-token bids).")
    ] = "v1,lean",
    limit: Annotated[int, typer.Option(min=1, help="Jobs per domain (HumanEval, HotpotQA).")] = 5,
    seed: Annotated[int, typer.Option(help="The seeded split `bench run` uses.")] = 0,
    outcomes: Annotated[
        Path | None,
        typer.Option(help="An outcome table from `bench run`, for each juror's AUC."),
    ] = None,
    results: Annotated[Path, typer.Option("--out", help="Folder for the cache.")] = Path(
        "bench-auction"
    ),
    as_json: JsonFlag = False,
) -> None:
    """Tokens (computed / cached / generated), $, seconds and calls per auction, for each
    design side by side on the same jobs; with --outcomes, each juror's AUC."""
    from rich.progress import Progress

    from sale_tui.auction import AuctionSettings
    from sale_tui.benchmark import auction_cost
    from sale_tui.benchmark.tasks import HOTPOTQA, load, split
    from sale_tui.runner import build_runner

    chosen_designs = []
    for name in designs.split(","):
        if name.strip() not in auction_cost.DESIGNS:
            raise UsageError(
                f"unknown design '{name}'", fix=f"choose from {', '.join(auction_cost.DESIGNS)}"
            )
        chosen_designs.append(auction_cost.DESIGNS[name.strip()])
    rosters = []
    for names in agents or ["qwen-0.5b,qwen-1.5b", "smollm2,qwen-0.5b,qwen-1.5b"]:
        rosters.append(build_runner([n.strip() for n in names.split(",")]).agents)
    settings = build_runner(None).settings
    auction = AuctionSettings(max_bid_tokens=settings.auction.max_bid_tokens)
    tasks, _ = split(load(["humaneval", "hotpotqa"], HOTPOTQA), limit, 0, seed)
    passed = auction_cost.outcome_lookup(outcomes) if outcomes else None
    total = len(tasks) * len(rosters) * len(chosen_designs)
    with Progress(console=err, transient=True) as bar:
        work = bar.add_task("auctions", total=total)
        measured = auction_cost.measure(
            tasks,
            rosters,
            chosen_designs,
            auction,
            results,
            lambda key: bar.update(work, advance=1, description=key[:40]),
        )
    rows = auction_cost.summary(measured, passed)
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    table = Table(title="per auction (medians)", box=box.SIMPLE_HEAD, title_justify="left")
    for name in ("agents", "design", "jobs", "n", "computed", "cached", "generated", "$", "s"):
        table.add_column(name, justify="left" if name in ("agents", "design", "jobs") else "right")
    table.add_column("juror AUC")
    for row in rows:
        aucs = ", ".join(
            f"{juror} {'—' if auc is None else f'{auc:.2f}'}"
            for juror, auc in row["juror_auc"].items()
        )
        table.add_row(
            row["agents"],
            row["design"],
            row["domain"],
            str(row["auctions"]),
            f"{row['computed_tokens']:,.0f}",
            f"{row['cached_tokens']:,.0f}",
            f"{row['generated_tokens']:,.0f}",
            f"{row['cost_usd']:.7f}",
            f"{row['seconds']:.1f}",
            aucs,
        )
    out.print(table)
    err.print(f"cached in {results / 'auction-cost.json'} (run again to resume)")
