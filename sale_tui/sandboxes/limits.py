"""What a sandbox container may use, and what one command in it gave back."""

from __future__ import annotations

from dataclasses import dataclass

from sale_tui.config import SandboxConfig


@dataclass(frozen=True)
class SandboxLimits:
    network: bool = False
    memory: str = "1g"
    cpus: float = 1.0
    pids: int = 256
    work_size: str = "2g"
    """Size cap of the tmpfs that holds the repo snapshot and the agent's changes."""
    command_timeout_s: float = 120.0
    output_cap_bytes: int = 200_000

    @classmethod
    def from_config(cls, config: SandboxConfig, *, network: bool | None = None) -> SandboxLimits:
        """Limits from ``[sandbox]``; ``network`` overrides it for one job."""
        return cls(
            network=config.network if network is None else network,
            memory=config.memory,
            cpus=config.cpus,
            pids=config.pids,
            work_size=config.work_size,
            command_timeout_s=config.command_timeout_s,
            output_cap_bytes=config.output_cap_bytes,
        )


@dataclass(frozen=True)
class CommandResult:
    command: str
    exit_code: int
    output: str
    timed_out: bool
    truncated: bool
    seconds: float

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.timed_out
