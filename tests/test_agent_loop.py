"""The execution loop with scripted replies at the model seam, in a real sandbox on a real repo."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sale_tui.agents import AgentStopped, AgentTask, StepRan
from sale_tui.models.scripted import ScriptedModel
from sale_tui.repo import snapshot
from sale_tui.sandboxes import Workspace
from sale_tui.sandboxes.environment import SandboxEnvironment
from tests.agent_helpers import run_steps, script
from tests.sandbox_helpers import make_repo

pytestmark = pytest.mark.sandbox

TASK = AgentTask(
    job="Fix add() so that 2 + 3 == 5",
    plan="view, edit, test",
    test_command="python3 -c 'import calc; assert calc.add(2, 3) == 5'",
)


@pytest.fixture
def env(tmp_path: Path) -> Iterator[SandboxEnvironment]:
    with Workspace(snapshot(make_repo(tmp_path / "repo")), "loop") as ws:
        yield SandboxEnvironment(ws)


def run(
    model: ScriptedModel, env: SandboxEnvironment, task: AgentTask = TASK, **limits: float
) -> list[StepRan | AgentStopped]:
    return run_steps(model, env, task, **limits)


def test_view_edit_test_finish_fixes_the_bug(env: SandboxEnvironment) -> None:
    model = script(
        "Let me look.\nACTION: view calc.py",
        "The bug is the minus.\nACTION: edit calc.py\n<<<<<<< SEARCH\n    return a - b\n"
        "=======\n    return a + b\n>>>>>>> REPLACE",
        "ACTION: test",
        "ACTION: finish replaced - by + in add(); the test passes",
    )
    events = run(model, env)
    steps = [e for e in events if isinstance(e, StepRan)]
    assert [s.action.tool for s in steps if s.action] == ["view", "edit", "test", "finish"]
    # the small repo's files are in the first turn: viewing one again is answered shortly
    assert (
        "calc.py:\n```\ndef add(a, b):\n    return a - b\n```"
        in (model.requests[0].messages[1]["content"])
    )
    assert steps[0].observation.startswith("calc.py has not changed since it was shown above")
    assert "ACTION: edit calc.py" in steps[0].observation
    assert steps[1].observation.startswith("Edited calc.py")
    assert steps[2].observation.startswith("Tests PASSED")
    final = events[-1]
    assert isinstance(final, AgentStopped) and final.reason == "finished"
    assert final.summary.startswith("replaced - by +")
    assert final.tokens == sum(s.tokens for s in steps) and final.cost_usd > 0
    assert b"+    return a + b" in env.workspace.patch()
    system = model.requests[0].messages[0]["content"]
    assert "view, edit, test" in system and "ACTION: edit" in system  # the winning plan


def test_garbage_and_failed_edits_come_back_as_feedback(env: SandboxEnvironment) -> None:
    model = script(
        "I would probably fix the code.",
        "ACTION: dance",
        "ACTION: edit calc.py\n<<<<<<< SEARCH\n    return a * b\n=======\n    return 0\n"
        ">>>>>>> REPLACE",
        "ACTION: finish gave up",
    )
    steps = [e for e in run(model, env) if isinstance(e, StepRan)]
    assert steps[0].action is None and "no action found" in steps[0].observation
    assert "unknown action 'dance'" in steps[1].observation
    assert "SEARCH text was not found" in steps[2].observation
    assert "return a - b" in steps[2].observation  # the closest line, as a hint
    assert env.workspace.patch() == b""  # nothing was changed


def test_new_files_and_shell_commands(env: SandboxEnvironment) -> None:
    model = script(
        "ACTION: edit tests/test_new.py\n<<<<<<< SEARCH\n=======\ndef test_x():\n    pass\n"
        ">>>>>>> REPLACE",
        "ACTION: run ls tests && sh run.sh",
        "ACTION: search def add",
        "ACTION: finish added a test",
    )
    steps = [e for e in run(model, env) if isinstance(e, StepRan)]
    assert steps[0].observation.startswith("Created tests/test_new.py (2 lines).\n\nTests FAILED")
    assert "test_new.py" in steps[1].observation and "hi" in steps[1].observation
    assert "calc.py:1: def add" in steps[2].observation
    assert b"new file mode" in env.workspace.patch()


@pytest.mark.parametrize(
    ("limits", "reason"),
    [
        ({"max_steps": 3}, "max_steps"),
        ({"max_tokens": 50}, "max_tokens"),
        ({"budget_usd": 1e-5}, "budget"),
        ({"wall_time_s": 0.0}, "wall_time"),
    ],
)
def test_every_limit_stops_the_run_with_its_reason(
    env: SandboxEnvironment, limits: dict[str, float], reason: str
) -> None:
    model = script(*[f"ACTION: run echo working {i}" for i in range(10)])
    final = run(model, env, **limits)[-1]
    assert isinstance(final, AgentStopped) and final.reason == reason
    assert final.steps <= limits.get("max_steps", 10)


def test_a_provider_error_stops_the_run_cleanly(env: SandboxEnvironment) -> None:
    final = run(script("ACTION: run true", RuntimeError("rate limited for good")), env)[-1]
    assert isinstance(final, AgentStopped) and final.reason == "model_error"
    assert "rate limited" in final.detail and final.steps == 1


def test_a_command_that_hangs_is_killed_and_reported(env: SandboxEnvironment) -> None:
    env.workspace.limits = env.workspace.limits  # unchanged: use a short per-call timeout below
    outcome = env.run("sleep 20", timeout_s=1)
    assert outcome.timed_out and not outcome.ok


def test_edits_survive_copied_line_numbers_and_wrong_indentation(
    env: SandboxEnvironment,
) -> None:
    # what the real Qwen models wrote: view's "  2| " prefixes, and 4 extra spaces of indent
    model = script(
        "ACTION: edit calc.py\n<<<<<<< SEARCH\n   1| def add(a, b):\n   2|     return a - b\n"
        "=======\n   1| def add(a, b):\n   2|     return a + b\n>>>>>>> REPLACE",
        "ACTION: edit calc.py\n<<<<<<< SEARCH\n        return a + b\n"
        "=======        return a + b + 0\n>>>>>>> REPLACE",
        "ACTION: test",
        "ACTION: finish done",
    )
    steps = [e for e in run(model, env) if isinstance(e, StepRan)]
    assert steps[0].observation.startswith(
        "Edited calc.py: replaced 2 line(s) (indentation adjusted).\n\nTests PASSED"
    )
    assert "indentation adjusted" in steps[1].observation
    assert env.read("calc.py") == "def add(a, b):\n    return a + b + 0\n"
    assert steps[2].observation.startswith("Tests PASSED")


def test_swapped_search_and_replace_blocks_are_named_not_applied(
    env: SandboxEnvironment,
) -> None:
    # what Qwen-0.5B wrote on the demo job: the fixed code as SEARCH, the current code as REPLACE
    model = script(
        "ACTION: edit calc.py\n<<<<<<< SEARCH\n    def add(a, b):\n        return a + b\n"
        "=======\n    def add(a, b):\n        return a - b\n>>>>>>> REPLACE",
        "ACTION: finish gave up",
    )
    steps = [e for e in run(model, env) if isinstance(e, StepRan)]
    assert "blocks look swapped" in steps[0].observation
    assert env.workspace.patch() == b""


def test_an_agent_repeating_itself_is_stopped_as_stuck(env: SandboxEnvironment) -> None:
    model = script("ACTION: view calc.py", *["ACTION: run echo again"] * 5)
    events = run(model, env)
    final = events[-1]
    assert isinstance(final, AgentStopped) and final.reason == "stuck"
    assert final.steps == 4  # one view, then three identical replies
    # the repeats are not piled up in the transcript (small models copy them): the last
    # request holds the reply once, with a note that it was sent again
    last = model.requests[-1].messages
    assert [m["content"] for m in last].count("ACTION: run echo again") == 1
    assert "going in circles: the same step (run echo again) 2 times" in last[-1]["content"]
