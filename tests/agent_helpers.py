"""Scripted agents for the step-loop tests: replies at the model seam, everything else real."""

from __future__ import annotations

from collections.abc import Iterator

from sale_tui.agents import AgentLimits, AgentStopped, AgentTask, StepRan, run_agent
from sale_tui.models.scripted import Request, ScriptedModel
from sale_tui.prompting import PromptLibrary
from sale_tui.sandboxes.environment import SandboxEnvironment


def script(*replies: str | Exception) -> ScriptedModel:
    """A model that gives these replies in turn, then runs a harmless command."""
    queue: Iterator[str | Exception] = iter(replies)

    def respond(request: Request) -> str | Exception:
        return next(queue, "ACTION: run echo out of script")

    return ScriptedModel("agent", respond, price_in=1.0, price_out=1.0)


def run_steps(
    model: ScriptedModel, env: SandboxEnvironment, task: AgentTask, **limits: float
) -> list[StepRan | AgentStopped]:
    """Every event of one run of the loop."""
    return list(run_agent(task, model, env, PromptLibrary(), AgentLimits(**limits)))  # type: ignore[arg-type]
