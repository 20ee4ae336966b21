"""The loop small models can drive (issue 14): whole-file writes, the compile guard, read-only
tests, loop detection, the first turn, the bounded transcript, lenient search. Scripted
replies at the model seam; the sandbox, its files and its tests are real."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from sale_tui.agents import AgentStopped, AgentTask, StepRan
from sale_tui.models.scripted import ScriptedModel
from sale_tui.repo import snapshot
from sale_tui.sandboxes import Workspace
from sale_tui.sandboxes.environment import SandboxEnvironment
from tests.agent_helpers import run_steps, script
from tests.sandbox_helpers import git

pytestmark = pytest.mark.sandbox

STUB = 'def double(x):\n    """Return twice x."""\n    raise NotImplementedError\n'
TESTS = "from solution import double\n\n\ndef test_double():\n    assert double(2) == 4\n"
TASK = AgentTask(
    job="Implement double() in solution.py so that the tests pass.",
    plan="write it, check the tests",
    test_command="python3 -m pytest -q -p no:cacheprovider",
    edit_format="whole",
    read_only=("test_solution.py",),
)


def make_exercise(root: Path) -> Path:
    root.mkdir(parents=True)
    (root / "solution.py").write_text(STUB)
    (root / "test_solution.py").write_text(TESTS)
    (root / "INSTRUCTIONS.md").write_text("# Double\n\nWrite a function that doubles.\n")
    docs = root / "docs"
    docs.mkdir()
    (docs / "01-rivers.md").write_text("# Rivers\n\nThe Danube flows through Vienna.\n")
    (docs / "02-cities.md").write_text("# Cities\n\nVienna is the capital of Austria.\n")
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "exercise")
    return root


@pytest.fixture
def env(tmp_path: Path) -> Iterator[SandboxEnvironment]:
    with Workspace(snapshot(make_exercise(tmp_path / "ex")), "editing") as ws:
        yield SandboxEnvironment(ws)


def run(
    model: ScriptedModel, env: SandboxEnvironment, task: AgentTask = TASK, **limits: float
) -> list[StepRan | AgentStopped]:
    return run_steps(model, env, task, **limits)


def steps_of(events: list[StepRan | AgentStopped]) -> list[StepRan]:
    return [e for e in events if isinstance(e, StepRan)]


def test_the_first_turn_shows_the_exercise_and_a_whole_file_write_runs_the_tests(
    env: SandboxEnvironment,
) -> None:
    model = script(
        "I will write it.\nACTION: write solution.py\n```python\ndef double(x):\n"
        "    return 2 * x\n```",
        "ACTION: finish double() returns 2 * x; the tests pass",
    )
    events = run(model, env, replace(TASK, draft_first=True))
    # step 1 of a whole-file agent on a job naming one file: that file, asked as one call
    (draft,) = model.requests[0].messages
    opening = draft["content"]
    assert opening.endswith(
        "Reply with the whole new solution.py in one ```python block, nothing else."
    )
    assert "ACTION:" not in opening  # no tool list to get wrong on the first step
    # the file the job names, then the instructions; the tests are named, not shown
    named = opening.index("solution.py:\n```\ndef double")
    assert named < opening.index("INSTRUCTIONS.md:")
    assert "test_solution.py (read-only" not in opening
    assert "FAILED test_solution.py::test_double" in opening  # they fail before any change
    # the loop's own first turn (step 2 on) still shows the tests whole
    assert "test_solution.py (read-only: the job's tests):" in str(model.requests[1].messages)
    # from step 2 on, the loop's prompt, with the draft as its first step
    system = model.requests[1].messages[0]["content"]
    assert "ACTION: write <path>" in system and "<<<<<<< SEARCH" not in system  # whole-file
    assert "calc.py" not in system and "util.py" not in system  # no copyable example file
    assert "Read-only: test_solution.py" in system
    write = steps_of(events)[0]
    assert write.observation.startswith("Wrote solution.py (2 lines).\n\nTests PASSED")
    assert env.read("solution.py") == "def double(x):\n    return 2 * x\n"
    final = events[-1]
    assert isinstance(final, AgentStopped) and final.reason == "finished" and final.steps == 2
    # the file's old content gives way to the latest: the stub is no longer in the prompt
    assert "Return twice x" not in str(model.requests[1].messages)


def test_a_write_that_does_not_compile_is_refused_with_the_lines_around(
    env: SandboxEnvironment,
) -> None:
    model = script(
        "ACTION: write solution.py\n```\ndef double(x):\n    return 2 *\n```",
        "ACTION: write solution.py\n```\ndef double(x):\n    return 2 * x\n",  # cut off
        "ACTION: finish gave up",
    )
    steps = steps_of(run(model, env))
    assert steps[0].observation.startswith("Error: not written: solution.py would not compile.")
    assert "SyntaxError at line 2" in steps[0].observation
    assert ">  2|     return 2 *" in steps[0].observation
    assert "no closing ```" in steps[1].observation
    assert env.read("solution.py") == STUB and env.workspace.patch() == b""


def test_the_jobs_tests_are_read_only_to_write_and_edit(env: SandboxEnvironment) -> None:
    model = script(
        "ACTION: write test_solution.py\n```\ndef test_double():\n    pass\n```",
        "ACTION: edit ./test_solution.py\n<<<<<<< SEARCH\n    assert double(2) == 4\n=======\n"
        "    assert True\n>>>>>>> REPLACE",
        "ACTION: finish done",
    )
    steps = steps_of(run(model, env))
    for step in steps[:2]:
        assert "is one of the job's tests" in step.observation
    assert env.read("test_solution.py") == TESTS
    again = steps_of(run(script("ACTION: view test_solution.py", "ACTION: finish x"), env))[0]
    assert again.observation.endswith(
        "it is one of the job's tests (read-only): change the code it tests."
    )


def test_a_cycle_of_two_steps_is_named_then_stopped(env: SandboxEnvironment) -> None:
    bad_edit = (
        "ACTION: edit solution.py\n<<<<<<< SEARCH\n    return x\n=======\n    return 2 * x\n"
        ">>>>>>> REPLACE"
    )
    model = script(*["ACTION: view solution.py", bad_edit] * 5)
    events = run(model, env)
    steps = steps_of(events)
    assert "going in circles" not in steps[1].observation
    assert "the same 2 steps (view solution.py → edit solution.py) 2 times" in steps[3].observation
    final = events[-1]
    assert isinstance(final, AgentStopped) and final.reason == "stuck" and final.steps == 6


def test_edits_that_keep_failing_end_the_run_as_broken(env: SandboxEnvironment) -> None:
    attempts = [
        f"ACTION: edit solution.py\n<<<<<<< SEARCH\n    return {i}\n=======\n    pass\n"
        ">>>>>>> REPLACE"
        for i in range(6)
    ]
    final = run(script(*attempts), env)[-1]
    assert isinstance(final, AgentStopped) and final.reason == "broken_edit" and final.steps == 4


def test_prompts_stay_flat_as_the_job_goes_on(env: SandboxEnvironment) -> None:
    # every step's command prints a long, different output: the old loop re-sent all of it
    model = script(
        *[f"Step {i}, looking around.\nACTION: run seq {i} {i + 400}" for i in range(12)]
    )
    run(model, env, max_steps=12)
    sizes = [len(str(request.messages)) for request in model.requests]
    assert len(sizes) == 12
    assert sizes[-1] < sizes[3] * 1.3, sizes  # bounded: not growing with every step
    last = model.requests[-1].messages
    # old steps are notes on the user's side, never assistant turns a model could copy
    assert "\n\n[step 1: run seq 0 400] [exit 0]" in last[1]["content"]
    assert [m["role"] for m in last] == ["system", "user", "assistant", "user", "assistant", "user"]


def test_no_spelling_of_a_path_gets_past_the_read_only_tests(env: SandboxEnvironment) -> None:
    body = "```\ndef test_double():\n    pass\n```"
    model = script(
        f"ACTION: write /test_solution.py\n{body}",
        f"ACTION: write /work/test_solution.py\n{body}",
        f"ACTION: write docs/../test_solution.py\n{body}",
        "ACTION: write solution.py\n```\ndef double(x):\n    return 2 * x\n```",  # resets
        f"ACTION: write ../outside.py\n{body}",
        f"ACTION: write docs\n{body}",
        f"ACTION: write .git/config\n{body}",
        "ACTION: finish done",
    )
    steps = steps_of(run(model, env))
    for step in steps[:3]:
        assert "is one of the job's tests" in step.observation, step.observation
    assert "is not a file inside the repository" in steps[4].observation
    assert "is a folder" in steps[5].observation
    assert ".git belongs to the sandbox" in steps[6].observation
    assert env.read("test_solution.py") == TESTS
    assert b"test_solution" not in env.workspace.patch()


def test_a_stub_written_back_unchanged_is_pointed_out(env: SandboxEnvironment) -> None:
    model = script(
        "ACTION: write solution.py\n```\ndef double(x):\n    raise NotImplementedError\n```",
        "ACTION: finish done",
    )
    # visible tests that pass anyway (all a user may have): the stub is what tells
    steps = steps_of(run(model, env, replace(TASK, test_command="true")))
    assert "Line 2 still raises NotImplementedError" in steps[0].observation
    # and finishing on it is sent back once, like a finish while the tests fail
    assert steps[1].observation.startswith(
        "Not finished: solution.py line 2 still raises NotImplementedError"
    )


def test_a_whole_file_write_may_not_drop_a_function_the_file_has(
    env: SandboxEnvironment,
) -> None:
    env.write("solution.py", STUB + "\n\ndef helper():\n    return 1\n")
    model = script(
        "ACTION: write solution.py\n```\ndef double(x):\n    return 2 * x\n```",
        "ACTION: finish done",
    )
    steps = steps_of(run(model, env))
    assert "leaves out helper, which the file defines now" in steps[0].observation
    assert "def helper" in (env.read("solution.py") or "")


def test_a_research_job_cannot_write(env: SandboxEnvironment) -> None:
    research = AgentTask("Where is Vienna?", "look", "research")
    model = script(
        "docs/02-cities.md\n```\nVienna is in France.\n```",
        "ACTION: finish Austria (docs/02-cities.md:3)",
    )
    steps = steps_of(run(model, env, research))
    assert "a research job only reads" in steps[0].observation
    assert env.workspace.patch() == b""


def test_search_reads_queries_as_models_type_them(env: SandboxEnvironment) -> None:
    research = AgentTask("Which river flows through the capital of Austria?", "look", "research")
    model = script(
        'ACTION: search "capital of Austria" in docs/',
        "ACTION: search double(",
        "ACTION: search river capital vienna",
        "ACTION: view solution.py:2",
        "ACTION: view docs/02-citys.md",
        "ACTION: finish The Danube (docs/01-rivers.md:3), through Vienna (docs/02-cities.md:3).",
    )
    events = run(model, env, research)
    steps = steps_of(events)
    assert "docs/02-cities.md:3: Vienna is the capital of Austria." in steps[0].observation
    assert "solution.py:1: def double(x):" in steps[1].observation
    ranked = steps[2].observation.splitlines()
    assert ranked[0].startswith("No line holds 'river capital vienna' exactly")
    assert ranked[1].startswith("docs/02-cities.md:3:")  # two of the words, then one each
    assert steps[3].observation.startswith("solution.py (3 lines):")  # short: all of it
    assert '   2|     """Return twice x."""' in steps[3].observation
    assert "Similar files: docs/02-cities.md" in steps[4].observation
    final = events[-1]
    assert isinstance(final, AgentStopped) and final.reason == "finished"
    assert final.citations == ("docs/01-rivers.md:3", "docs/02-cities.md:3")
    opening = model.requests[0].messages[1]["content"]
    assert "Lines that best match the question's words:" in opening
    assert "docs/02-cities.md:3:" in opening
    # the best hits' files, numbered for citing, and the question again at the end
    assert "docs/02-cities.md (3 lines):\n   1| # Cities" in opening
    assert opening.index("The question: Which river") > opening.index("docs/02-cities.md (3")


def test_a_research_run_near_its_step_limit_is_told_to_answer(env: SandboxEnvironment) -> None:
    research = AgentTask("Where is Vienna?", "look", kind="research")
    model = script(
        "ACTION: search vienna",
        "ACTION: view docs/02-cities.md",
        "ACTION: finish Austria, but I cite nothing",
    )
    events = run(model, env, research, max_steps=3)
    steps = steps_of(events)
    assert "1 step left: your next reply must be `ACTION: finish" in steps[1].observation
    final = events[-1]
    # on the last step an uncited answer is kept (marked), not sent back into nothing
    assert isinstance(final, AgentStopped) and final.reason == "finished"
    assert final.summary.startswith("Austria") and final.citations == ()


def test_a_finish_while_the_tests_fail_is_sent_back_once(env: SandboxEnvironment) -> None:
    model = script(
        "ACTION: write solution.py\n```\ndef double(x):\n    return x\n```",
        "ACTION: finish done",
        "ACTION: finish done anyway",
    )
    events = run(model, env)
    steps = steps_of(events)
    assert "Tests FAILED" in steps[0].observation
    assert steps[1].observation.startswith("Not finished: the tests still fail")
    final = events[-1]
    assert isinstance(final, AgentStopped) and final.reason == "finished" and final.steps == 3


def test_a_failed_edit_does_not_forget_that_the_tests_fail(env: SandboxEnvironment) -> None:
    model = script(
        "ACTION: write solution.py\n```\ndef double(x):\n    return x\n```",
        "ACTION: edit solution.py\n<<<<<<< SEARCH\n    return y\n=======\n    pass\n"
        ">>>>>>> REPLACE",
        "ACTION: finish done",
    )
    steps = steps_of(run(model, env))
    assert "SEARCH text was not found" in steps[1].observation
    assert steps[2].observation.startswith("Not finished: the tests still fail")


def test_a_word_after_in_that_is_no_folder_stays_in_the_query(env: SandboxEnvironment) -> None:
    research = AgentTask("What is in use?", "look", "research")
    model = script("ACTION: search capital in use", "ACTION: finish none (docs/02-cities.md:3)")
    steps = steps_of(run(model, env, research))
    assert "No line holds 'capital in use' exactly" in steps[0].observation
    assert "docs/02-cities.md:3:" in steps[0].observation
