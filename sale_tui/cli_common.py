"""What every command module shares: the consoles, the --json flag, settings + roster."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

if TYPE_CHECKING:
    from sale_tui.config import Settings
    from sale_tui.roster import Agent

out = Console(highlight=False)
err = Console(stderr=True, highlight=False)

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


_announced: set[Path] = set()


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
