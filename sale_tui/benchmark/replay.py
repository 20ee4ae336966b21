"""Real jobs as benchmark tasks: your past coding jobs from the auction memory, or ``repo``
tasks from a JSONL file.

A ``repo`` task is done the way ``sale-tui do`` does a job: the agent works through the same
agent loop in the Docker sandbox, on a snapshot of the repo at the job's commit (the code as it
was when you asked, not today's), and passes when the repo's test command exits 0 there. Your
tree is never touched. Every agent gets the job without a plan (there is no auction in the
outcome table), so SALE is judged on the same attempt as every other strategy.
"""

from __future__ import annotations

import time
from pathlib import Path

from sale_tui.agents import AgentLimits, AgentStopped, run_agent, task_for_agent
from sale_tui.auction import AuctionAgent
from sale_tui.benchmark.tasks import Task
from sale_tui.config import Settings
from sale_tui.jobs import detect_test_command, protected_tests
from sale_tui.memory import AuctionMemory
from sale_tui.prompting import PromptLibrary
from sale_tui.repo import snapshot, summarize
from sale_tui.sandboxes import SandboxLimits, Workspace
from sale_tui.sandboxes.environment import SandboxEnvironment

MAX_STEPS = 12


def past_jobs(memory: AuctionMemory) -> list[Task]:
    """Executed coding jobs whose repo is still here with a test command; each once."""
    tasks = []
    for job in memory.replayable_jobs():
        root = Path(job["repo"])
        test_command = detect_test_command(root) if (root / ".git").exists() else None
        if not test_command:
            continue  # moved, deleted, or nothing to grade by
        tasks.append(
            Task(
                id=f"job-{job['id']}",
                domain="coding",
                prompt=job["text"],
                bin="your jobs",
                grader="repo",
                repo=str(root),
                commit=job["sha"],
                test_command=test_command,
            )
        )
    return tasks


def solve_in_repo(
    task: Task, agent: AuctionAgent, settings: Settings | None = None
) -> tuple[bool, int, float, str]:
    """(tests passed, tokens, $, what happened) for one agent doing the job in the sandbox."""
    settings = settings or Settings()
    code = snapshot(Path(task.repo), ref=task.commit or "HEAD")
    job = task_for_agent(
        getattr(agent.model, "agent", None),
        task.prompt,
        "",  # no plan: the agent is told so
        "coding",
        task.test_command,
        summarize(code.root),
        protected_tests(code.paths(), task.prompt),
    )
    limits = SandboxLimits.from_config(settings.sandbox)
    started = time.perf_counter()
    with Workspace(code, f"replay-{agent.name}", settings.sandbox.image, limits) as work:
        stopped: AgentStopped | None = None
        for step in run_agent(
            job, agent.model, SandboxEnvironment(work), PromptLibrary(),
            AgentLimits(max_steps=MAX_STEPS),
        ):  # fmt: skip
            if isinstance(step, AgentStopped):
                stopped = step
        tests = work.run(task.test_command)
    assert stopped is not None  # run_agent always ends with AgentStopped
    detail = f"{stopped.reason} after {stopped.steps} steps, {time.perf_counter() - started:.0f} s"
    tail = tests.output.strip().splitlines()[-1:] if tests.output.strip() else []
    return tests.ok, stopped.tokens, stopped.cost_usd, "; ".join([detail, *tail])
