"""Execution agents: the winner's step loop over tools (pure: no I/O library imports)."""

from sale_tui.agents.loop import AgentEvent, AgentLimits, AgentStopped, StepRan, run_agent
from sale_tui.agents.task import AgentTask, task_for_agent

__all__ = [
    "AgentEvent",
    "AgentLimits",
    "AgentStopped",
    "AgentTask",
    "StepRan",
    "run_agent",
    "task_for_agent",
]
