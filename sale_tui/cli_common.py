"""What every command module shares: the consoles, the --json flag, settings + roster."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.segment import Segment

from sale_tui.errors import UsageError
from sale_tui.untrusted_text import inert

if TYPE_CHECKING:
    from sale_tui.config import Settings
    from sale_tui.roster import Agent


class InertConsole(Console):
    """A console that writes every piece of text inert (untrusted_text.py), whatever printed
    it: sandbox output, a diff, a model's plan, a table cell. Rich's own cursor and style
    codes are segments of their own, so they still work. No emoji codes either: ``:x:`` in a
    command's output (``root:x:0:0``) stays as written."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(highlight=False, emoji=False, **kwargs)

    def _render_buffer(self, buffer: Iterable[Segment]) -> str:
        return super()._render_buffer(
            segment if segment.control else Segment(inert(segment.text), segment.style)
            for segment in buffer
        )


out = InertConsole()
err = InertConsole(stderr=True)

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
AuctionMode = Annotated[
    str | None,
    typer.Option(
        "--auction",
        help="auto: skip the auction when the memory is sure who should do the job; "
        "always; never (default: auction.mode, auto).",
    ),
]


def check_auction_mode(mode: str | None) -> str | None:
    from sale_tui.auction.routing import MODES

    if mode is not None and mode not in MODES:
        raise UsageError(f"unknown --auction '{mode}'", fix="use --auction auto, always or never")
    return mode


_announced: set[Path] = set()


def require_job(text: str, agents: Iterable[Any] = ()) -> None:
    """Refuse a job no auction should run: empty, too long to send to every call, or too
    long for every agent's context (``agents``: the runner's, once built)."""
    from sale_tui.jobs import job_problem_for

    problem = job_problem_for(text, agents)
    if problem is not None:
        raise problem


def ask(question: str, *, default: bool | str) -> bool | str:
    """A yes/no (``default`` a bool) or free answer; Ctrl-C there is an interrupt (exit 130),
    not "Aborted!" and exit 1. The question is made inert: it may name repo files."""
    try:
        if isinstance(default, bool):
            return typer.confirm(inert(question), default=default)
        return str(typer.prompt(inert(question), default=default))
    except typer.Abort as stopped:  # what typer's prompts raise on Ctrl-C
        raise KeyboardInterrupt from stopped


def announce_repo_config(folder: Path | None = None) -> None:
    """Say once per run, in one line on stderr, that the repo's config is not applied and how
    to apply it."""
    from sale_tui.config import repo_config, repo_config_notice

    config = repo_config(folder)
    notice = repo_config_notice(config)
    if notice and config is not None and config.path not in _announced:
        _announced.add(config.path)
        err.print(f"note: {notice}", markup=False, soft_wrap=True)


def load_cli_settings(folder: Path | None = None) -> Settings:
    """The settings for a command run on ``folder`` (default: the current one)."""
    from sale_tui.config import load_settings

    announce_repo_config(folder)
    return load_settings(cwd=folder)


def settings_and_roster(folder: Path | None = None) -> tuple[Settings, tuple[Agent, ...]]:
    from sale_tui.roster import build_roster

    settings = load_cli_settings(folder)
    return settings, build_roster(settings)
