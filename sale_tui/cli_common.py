"""What every command module shares: the consoles, the --json flag, settings + roster."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

if TYPE_CHECKING:
    from sale_tui.config import Settings
    from sale_tui.roster import Agent

out = Console(highlight=False)
err = Console(stderr=True, highlight=False)

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def settings_and_roster() -> tuple[Settings, tuple[Agent, ...]]:
    from sale_tui.config import load_settings
    from sale_tui.roster import build_roster

    settings = load_settings()
    return settings, build_roster(settings)
