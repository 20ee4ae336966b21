"""What the winner is asked to do, and how its model is best asked (from its roster entry)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Protocol


class Prompts(Protocol):
    """The prompt templates (``prompting.PromptLibrary``), as the loop and the draft use them."""

    def render(self, role: str, /, **variables: Any) -> str: ...


NO_PLAN = "No plan was made in advance: read the code, make the change, run the tests."
RESEARCH_PLAN = "No plan was made in advance: search the files, read the best hits, answer."
"""The plan of work chosen without bids (routed from memory, a benchmark attempt)."""

EditFormat = Literal["whole", "diff"]
"""How the prompt teaches changing a file: ``whole`` (write the whole file: what small models
get right) or ``diff`` (search/replace blocks, whole files for new or small ones)."""


@dataclass(frozen=True)
class AgentTask:
    job: str
    plan: str
    kind: str = "coding"
    test_command: str | None = None
    repo_summary: str = ""
    edit_format: EditFormat = "diff"
    read_only: tuple[str, ...] = ()
    """Files the agent may not change: the tests that decide the job (pipeline, jobs.py)."""
    stop_when_tests_pass: bool = False
    """End the run as finished when a change turns the job's failing tests green (aider's
    auto-test loop): small models that go on after that mostly undo working code."""
    draft_first: bool = False
    """Step 1 asks as one call would (``agents/draft.py``): the file to write, or the answer,
    from what the first turn shows, without the loop's rules and tool list."""
    drafts: int = 1
    """Candidate drafts a coding job may get (``draft_first``, tests failing before): while
    one leaves the tests failing, the next is sampled afresh from the same prompt."""
    context: str = ""
    """Project instructions and the session so far (``sessions.job_context``)."""


def task_for_agent(
    roster_entry: Any,
    job: str,
    plan: str,
    kind: str,
    test_command: str | None,
    repo_summary: str,
    read_only: tuple[str, ...] = (),
    context: str = "",
) -> AgentTask:
    """The task as this agent does it best. ``roster_entry``: the ``roster.Agent`` behind the
    model (``LiteLLMModel.agent``), or None for a model outside the roster (tests). An empty
    ``plan`` (the job was routed from memory, without bids) says so."""
    return AgentTask(
        job,
        plan.strip() or (NO_PLAN if kind == "coding" else RESEARCH_PLAN),
        kind,
        test_command,
        repo_summary,
        getattr(roster_entry, "edit_format", "diff"),
        read_only,
        bool(getattr(roster_entry, "stop_when_tests_pass", False)),
        bool(getattr(roster_entry, "draft_first", False)),
        int(getattr(roster_entry, "drafts", 1)),
        context,
    )
