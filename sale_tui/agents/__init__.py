"""Execution agents: the winner's step loop over tools (pure: no I/O library imports)."""

from sale_tui.agents.loop import (
    AgentEvent,
    AgentLimits,
    AgentStopped,
    AgentTask,
    StepRan,
    run_agent,
)

__all__ = ["AgentEvent", "AgentLimits", "AgentStopped", "AgentTask", "StepRan", "run_agent"]
