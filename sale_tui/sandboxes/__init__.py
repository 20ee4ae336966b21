"""Sandboxes where winning agents work: the only package that imports docker."""

from sale_tui.sandboxes.docker_sandbox import CommandResult, DockerSandbox, SandboxLimits
from sale_tui.sandboxes.housekeeping import prune, status
from sale_tui.sandboxes.workspace import Workspace

__all__ = ["CommandResult", "DockerSandbox", "SandboxLimits", "Workspace", "prune", "status"]
