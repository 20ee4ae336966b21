"""Building the real app for Pilot tests: scripted agents at the model seam; the memory file,
the Docker sandbox and the git repo are real."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path

from textual.pilot import Pilot
from textual.widgets import Static

from sale_tui.auction import AuctionAgent
from sale_tui.config import Settings
from sale_tui.memory import AuctionMemory
from sale_tui.prompting import PromptLibrary
from sale_tui.runner import AuctionRunner
from sale_tui.tui.app import SaleApp
from sale_tui.tui.services import AgentStatus, Services, real_sandbox, repo_status


def services_for(
    repo: Path,
    memory_path: Path,
    agents: Sequence[AuctionAgent],
    **overrides: object,
) -> Services:
    def make_runner(names: list[str] | None) -> AuctionRunner:
        chosen = [a for a in agents if names is None or a.name in names]
        return AuctionRunner(Settings(), chosen, AuctionMemory(memory_path), PromptLibrary())

    def roster() -> list[AgentStatus]:
        return [
            AgentStatus(a.name, f"scripted/{a.name}", a.price, True, "scripted") for a in agents
        ]

    parts: dict[str, object] = {
        "repo": repo,
        "make_runner": make_runner,
        "roster": roster,
        "sandbox": real_sandbox,
        "open_memory": lambda: AuctionMemory(memory_path),
        "repo_status": repo_status,
    }
    parts.update(overrides)
    return Services(**parts)  # type: ignore[arg-type]


async def wait_until(
    pilot: Pilot[None], condition: Callable[[], bool], timeout: float = 60
) -> None:
    """Let the app run until ``condition()`` holds (the worker posts as it goes)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("the app did not get there in time")
        await pilot.pause(0.05)


async def ready(pilot: Pilot[None]) -> None:
    """The start-up checks (repo, sandbox, roster) have landed."""
    app = pilot.app
    assert isinstance(app, SaleApp)
    await wait_until(pilot, lambda: app.sandbox is not None and app.repo is not None)
    await app.workers.wait_for_complete()
    await pilot.pause()


async def type_job(pilot: Pilot[None], text: str) -> None:
    area = pilot.app.query_one("#request")
    area.focus()
    area.load_text(text)  # type: ignore[attr-defined]
    await pilot.pause()


def text_of(widget: Static) -> str:
    """A widget's text as the user reads it; a highlighted diff (rich ``Syntax``) as its code,
    not the object's repr."""
    code = getattr(widget.content, "code", None)
    return code if isinstance(code, str) else str(widget.render())
