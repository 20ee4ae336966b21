"""What the app needs from the world, in one place: the runner, the roster's readiness, the
sandbox, the memory and the repo. The real ones import the heavy modules (litellm, llama.cpp,
docker) only when called, from worker threads, so the first screen paints without them.
Tests hand the app scripted runners here: the model seam, nothing else replaced."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sale_tui.memory import AuctionMemory
    from sale_tui.runner import AuctionRunner


@dataclass(frozen=True)
class AgentStatus:
    name: str
    model: str
    price: float | None
    ready: bool
    detail: str
    fix: str | None = None
    bids_by_default: bool = True
    """Checked when the roster loads (SmolLM2 is listed, unchecked: ``roster.Agent``)."""


@dataclass(frozen=True)
class SandboxStatus:
    ready: bool
    detail: str
    fix: str | None = None


@dataclass(frozen=True)
class RepoStatus:
    root: Path | None
    """The repository's top folder, or None when the folder is not in a git repo."""
    detail: str
    dirty: bool = False
    test_command: str | None = None
    fix: str | None = None
    config_notice: str | None = None
    """Why the repo's .sale-tui.toml is not applied, and the command that applies it."""


@dataclass(frozen=True)
class Services:
    repo: Path
    make_runner: Callable[[list[str] | None], AuctionRunner]
    roster: Callable[[], list[AgentStatus]]
    sandbox: Callable[[], SandboxStatus]
    open_memory: Callable[[], AuctionMemory]
    repo_status: Callable[[Path], RepoStatus] = lambda path: repo_status(path)


def real_roster(repo: Path) -> list[AgentStatus]:
    from sale_tui.config import load_settings
    from sale_tui.roster import availability, build_roster

    roster = build_roster(load_settings(cwd=repo))
    statuses = []
    for agent in roster:
        available = availability(agent)
        statuses.append(
            AgentStatus(
                agent.name,
                agent.model,
                agent.price,
                available.ready,
                available.detail,
                available.fix,
                agent.bids_by_default,
            )
        )
    return statuses


def real_sandbox() -> SandboxStatus:
    from sale_tui.sandboxes import status

    found = status()
    if not found.get("daemon"):
        return SandboxStatus(False, str(found.get("detail", "Docker is not running")), None)
    if not found.get("built"):
        return SandboxStatus(
            False, f"image {found.get('image')} not built", "sale-tui sandbox build"
        )
    return SandboxStatus(True, f"Docker {found.get('docker_version')} · {found.get('image')}")


def real_memory(repo: Path) -> AuctionMemory:
    from sale_tui.config import load_settings
    from sale_tui.runner import open_memory

    return open_memory(load_settings(cwd=repo))


def real_runner(agent_names: list[str] | None, repo: Path) -> AuctionRunner:
    from sale_tui.runner import build_runner

    return build_runner(agent_names, repo)


def default_services(repo: Path) -> Services:
    """The real world, with the settings of ``repo`` (its config applies where trusted)."""
    return Services(
        repo,
        lambda names: real_runner(names, repo),
        lambda: real_roster(repo),
        real_sandbox,
        lambda: real_memory(repo),
    )


def repo_status(path: Path) -> RepoStatus:
    """The folder's repo: where, which branch, dirty or not, and its test command."""
    from sale_tui.config import repo_config, repo_config_notice
    from sale_tui.errors import SaleError
    from sale_tui.jobs import detect_test_command
    from sale_tui.repo import is_dirty, open_repo

    try:
        repo = open_repo(path)
    except SaleError as error:
        return RepoStatus(None, error.message, fix=error.fix)
    root = Path(repo.working_dir)
    try:
        branch = repo.active_branch.name
    except TypeError:  # detached HEAD
        branch = repo.head.commit.hexsha[:8]
    dirty = is_dirty(root)
    state = "uncommitted changes" if dirty else "clean"
    return RepoStatus(
        root,
        f"{root} · {branch} · {state}",
        dirty,
        detect_test_command(root),
        config_notice=repo_config_notice(repo_config(path)),
    )
