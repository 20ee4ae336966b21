"""The command line: ``sale-tui models``, ``models pull``, ``prompt``, ``config``.

Only presentation lives here. Heavy modules (litellm, llama.cpp) are imported inside the
commands that need them, never at import time, so ``--help`` and ``--version`` stay fast.
Every ``SaleError`` becomes one line on stderr and the error's exit code; Ctrl-C exits 130.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from sale_tui import __version__
from sale_tui.cli_auction import auction_command, calibrate_command
from sale_tui.cli_bench import bench_app
from sale_tui.cli_common import JsonFlag, err, load_cli_settings, out, settings_and_roster
from sale_tui.cli_do import do_command
from sale_tui.cli_history import history_command, show_command, undo_command
from sale_tui.cli_models import models_app
from sale_tui.cli_sandbox import sandbox_app
from sale_tui.cli_trust import trust_command
from sale_tui.errors import SaleError, UsageError
from sale_tui.stopping import request_stop
from sale_tui.untrusted_text import inert

app = typer.Typer(
    name="sale-tui",
    help="A terminal coding assistant that routes every job through a strategy auction. "
    "With no command, opens the TUI.",
    invoke_without_command=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
config_app = typer.Typer(
    help="Show the configuration and where it comes from.", no_args_is_help=True
)
app.add_typer(models_app, name="models")
app.command("do")(do_command)
app.command("auction")(auction_command)
app.command("calibrate")(calibrate_command)
app.command("history")(history_command)
app.command("show")(show_command)
app.command("undo")(undo_command)
app.command("trust")(trust_command)
app.add_typer(config_app, name="config")
app.add_typer(bench_app, name="bench")
app.add_typer(sandbox_app, name="sandbox")


def _version(value: bool) -> None:
    if value:
        print(f"sale-tui {__version__}")
        raise typer.Exit()


ContinueFlag = Annotated[
    bool,
    typer.Option(
        "--continue", "-c", help="Go on with this repo's latest session (its jobs build on it)."
    ),
]
ResumeOption = Annotated[
    str | None,
    typer.Option(
        "--resume", "-r", help="Go on with a session: its id, or nothing to choose from a list."
    ),
]
PICK = "?"
"""``--resume`` given without an id (``main`` fills it in): list the sessions and ask."""


@app.callback()
def _root(
    ctx: typer.Context,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show version.")
    ] = False,
    continue_last: ContinueFlag = False,
    resume: ResumeOption = None,
) -> None:
    """sale-tui: agents bid with short plans; the best value for its cost does the job."""
    if ctx.invoked_subcommand is None:
        _open_tui(ctx, Path(), continue_last, resume)


@app.command("tui")
def tui_command(
    ctx: typer.Context,
    repo: Annotated[Path, typer.Option(help="The git repository to work on.")] = Path(),
    continue_last: ContinueFlag = False,
    resume: ResumeOption = None,
) -> None:
    """Open the TUI (also what `sale-tui` alone does): job, live auction, review, history."""
    _open_tui(ctx, repo, continue_last, resume)


def _open_tui(ctx: typer.Context, repo: Path, continue_last: bool, resume: str | None) -> None:
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        # no terminal (a pipe, CI): the full-screen app cannot run; say what can
        typer.echo(ctx.find_root().get_help())
        err.print('\n(the TUI needs a terminal; `sale-tui do "…"` runs a job without one)')
        return
    from sale_tui.tui.app import run_app

    session_id = _session_to_resume(repo, continue_last, resume)
    run_app(repo.resolve(), session_id)


def _session_to_resume(repo: Path, continue_last: bool, resume: str | None) -> str | None:
    """The session the TUI goes on with: checked here, so a wrong id is one line, not an app
    that opens and fails."""
    if not continue_last and resume is None:
        return None
    from sale_tui.cli_common import ask
    from sale_tui.repo import open_repo
    from sale_tui.runner import open_memory
    from sale_tui.sessions import pick_session

    root = Path(open_repo(repo.resolve()).working_dir)
    memory = open_memory(load_cli_settings())
    if resume == PICK:
        found = memory.sessions(str(root), limit=10, with_jobs=True)
        if not found:
            raise UsageError(f"no session in {root} yet", fix="run a job first (sale-tui)")
        for number, row in enumerate(found, 1):
            when = (row["last_at"] or "")[:16].replace("T", " ")
            out.print(
                f"{number:>2}. {row['id']} · {when} · {row['jobs']} job(s) · {row['title']}",
                markup=False,
            )
        answer = str(ask("Which session?", default="1")).strip()
        if not answer.isdigit() or not 1 <= int(answer) <= len(found):
            raise UsageError(f"no session number '{answer}'", fix="give a number from the list")
        return str(found[int(answer) - 1]["id"])
    if resume:
        return pick_session(memory, root, resume=resume, continue_last=False, title="")[0]
    latest = memory.latest_session(str(root))
    if latest is None:
        err.print("no session to continue in this repo: the first job starts one")
        return None
    return str(latest["id"])


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

    settings, roster = settings_and_roster()
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
    from sale_tui.config import field_docs

    if doc:
        table = Table("key", "default", "meaning")
        for key, default, description in field_docs():
            table.add_row(key, default, description)
        out.print(table)
        return
    settings = load_cli_settings()
    data = settings.model_dump(mode="json")
    if as_json:
        print(json.dumps(data, indent=2))
    else:
        out.print_json(data=data)


@config_app.command("path")
def config_path() -> None:
    """Print where the config files, the data and the model cache live."""
    from sale_tui import paths, trust
    from sale_tui.config import repo_config

    out.print(f"user config : {paths.user_config_file()}")
    found = repo_config()
    state = {
        "trusted": "trusted",
        "untrusted": "not trusted, ignored: `sale-tui trust`",
        "changed": "changed since trusted, ignored: `sale-tui trust`",
        "unreadable": "ignored: not a plain file of the repo",
    }
    out.print(
        f"repo config : {found.path} ({state[found.state]})"
        if found
        else "repo config : (none: create .sale-tui.toml)",
        markup=False,
    )
    out.print(f"trust store : {trust.store_path()}")
    out.print(f"data        : {paths.data_dir()}")
    out.print(f"model cache : {paths.models_dir()}")


def _resume_without_id(args: list[str]) -> list[str]:
    """``--resume`` / ``-r`` with no id after it (the last word, or an option next) means "let
    me choose" (as in Claude Code): click needs a value, so give it the marker."""
    out_args = list(args)
    for index, word in enumerate(out_args):
        if word == "--":
            break
        following = out_args[index + 1] if index + 1 < len(out_args) else None
        if word in ("--resume", "-r") and (following is None or following.startswith("-")):
            out_args[index] = f"--resume={PICK}"
    return out_args


def main() -> None:
    """Console-script entry point.

    Typer's standalone mode already turns usage errors into exit 2 and Ctrl-C into exit 130;
    what is left is our own error tree, printed as one unwrapped line a script can grep.
    """
    import signal
    import sqlite3

    # `timeout`, service managers and a closed terminal send TERM or HUP: the same clean-up as
    # Ctrl-C (the container removed, the records closed), not a death that leaves both behind.
    def terminate(signum: int, frame: object) -> None:
        request_stop()  # calls in other threads (the TUI's job, the auction's pool) end too
        raise KeyboardInterrupt

    for name in ("SIGTERM", "SIGHUP"):
        number = getattr(signal, name, None)
        if number is not None and signal.getsignal(number) is not signal.SIG_IGN:  # nohup
            signal.signal(number, terminate)
    try:
        app(args=_resume_without_id(sys.argv[1:]))
    except SaleError as exc:
        print(f"error: {inert(exc.one_line())}", file=sys.stderr)
        sys.exit(exc.exit_code)
    except sqlite3.DatabaseError as exc:  # damage found past the open check, mid-query
        print(
            f"error: the auction memory is damaged ({inert(str(exc))}) — move the file aside "
            "(memory.db in the data folder, `sale-tui config path`; sale-tui starts a new one) "
            "or restore it from a backup",
            file=sys.stderr,
        )
        sys.exit(3)
