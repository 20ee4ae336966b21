"""How a job starts, and how a small model's ends: the job's tests run before the first step
(a failing one is named in the first turn); a small model's step 1 is a draft asked as one
call would ask it (``agents/draft.py``); the change that turns the tests green ends its run
(aider's auto-test loop). Scripted replies at the model seam; the sandbox, its files and its
tests are real."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from sale_tui.agents import AgentStopped, AgentTask, StepRan, task_for_agent
from sale_tui.agents.draft import drafted_answer
from sale_tui.repo import snapshot
from sale_tui.roster import Agent
from sale_tui.sandboxes import Workspace
from sale_tui.sandboxes.environment import SandboxEnvironment
from tests.agent_helpers import run_steps, script
from tests.test_agent_editing import TASK, make_exercise

pytestmark = pytest.mark.sandbox

WRITE = "ACTION: write solution.py\n```python\ndef double(x):\n    return 2 * x\n```"
SMALL = replace(TASK, stop_when_tests_pass=True, draft_first=True)


@pytest.fixture
def env(tmp_path: Path) -> Iterator[SandboxEnvironment]:
    with Workspace(snapshot(make_exercise(tmp_path / "ex")), "first-step") as ws:
        yield SandboxEnvironment(ws)


def test_the_first_turn_names_the_failing_tests_and_the_file_to_write(
    env: SandboxEnvironment,
) -> None:
    model = script("ACTION: view INSTRUCTIONS.md", "ACTION: finish done")
    run_steps(model, env, replace(SMALL, edit_format="diff"))  # no draft: the loop's prompt
    opening = model.requests[0].messages[1]["content"]
    assert "fail before any change" in opening
    assert "FAILED test_solution.py::test_double" in opening
    assert "Traceback" not in opening  # the summary, not the tracebacks
    assert "is the file to change" not in opening  # said only to whole-file agents


def test_a_whole_file_agent_is_told_last_which_file_to_write(env: SandboxEnvironment) -> None:
    model = script("no code here", "ACTION: finish done")
    run_steps(model, env, SMALL)
    assert len(model.requests[0].messages) == 1  # step 1: the draft
    step_2 = model.requests[1].messages[1]["content"]
    # small models follow what comes last: the one file to change, and how
    assert "solution.py is the file to change: reply with `ACTION: write solution.py`" in step_2
    assert "fail before any change" in step_2


def test_a_change_that_turns_the_tests_green_ends_a_small_models_run(
    env: SandboxEnvironment,
) -> None:
    model = script(WRITE, "ACTION: run rm solution.py")  # what it would have done next
    events = run_steps(model, env, SMALL)
    stopped = events[-1]
    assert isinstance(stopped, AgentStopped) and stopped.reason == "finished"
    assert stopped.steps == 1 and len(model.requests) == 1
    assert "the tests" in stopped.summary and "now pass" in stopped.summary
    assert env.read("solution.py") is not None  # the second reply never ran


def test_without_the_setting_the_agent_decides_when_it_is_done(
    env: SandboxEnvironment,
) -> None:
    model = script(WRITE, "ACTION: finish double() returns 2 * x")
    events = run_steps(model, env, TASK)
    assert [e.action.tool for e in events if isinstance(e, StepRan) and e.action] == [
        "write",
        "finish",
    ]
    assert isinstance(events[-1], AgentStopped) and events[-1].summary.startswith("double()")


def test_a_job_that_names_only_its_tests_changes_the_module_they_import(
    env: SandboxEnvironment,
) -> None:
    """The demo's job, "Fix the bug in add() so that test_calc.py passes": the test file is
    read-only, so the file to write is the one it imports (a 1.5B wrote README.md instead)."""
    model = script("```python\ndef double(x):\n    return 2 * x\n```")
    job = replace(SMALL, job="Make test_solution.py pass.")
    events = run_steps(model, env, job)
    assert len(model.requests[0].messages) == 1  # step 1 is the draft of solution.py
    assert "solution.py" in model.requests[0].messages[0]["content"]
    assert isinstance(events[-1], AgentStopped) and events[-1].reason == "finished"
    assert "Changed solution.py" in events[-1].summary


def test_a_finish_before_any_change_while_the_tests_fail_is_sent_back(
    env: SandboxEnvironment,
) -> None:
    model = script("ACTION: finish nothing to do", "ACTION: finish done")
    events = run_steps(model, env, replace(SMALL, edit_format="diff"))
    first = events[0]
    assert isinstance(first, StepRan) and "Not finished: the tests still fail" in first.observation
    assert isinstance(events[-1], AgentStopped) and events[-1].summary == "done"  # said once


def test_tests_that_already_pass_do_not_end_the_run(tmp_path: Path) -> None:
    model = script(WRITE, "ACTION: finish rewrote it")
    with Workspace(snapshot(green_exercise(tmp_path / "ex")), "tests-green") as ws:
        events = run_steps(model, SandboxEnvironment(ws), SMALL)
    assert "fail before any change" not in model.requests[0].messages[0]["content"]
    assert len(model.requests) == 2 and isinstance(events[-1], AgentStopped)
    assert events[-1].summary == "rewrote it"


def green_exercise(root: Path) -> Path:
    """The exercise already solved: a job on a green repo, where passing tests after a change
    prove nothing."""
    from tests.sandbox_helpers import git

    make_exercise(root)
    (root / "solution.py").write_text("def double(x):\n    return x + x\n")
    git(root, "commit", "-qam", "done already")
    return root


def test_the_same_file_sent_again_with_the_tests_green_ends_a_small_models_run(
    tmp_path: Path,
) -> None:
    # the 0.5B's way of saying it is done: it would send it until stopped as stuck
    model = script(WRITE, WRITE, "ACTION: run rm solution.py")
    with Workspace(snapshot(green_exercise(tmp_path / "ex")), "final-rewrite") as ws:
        env = SandboxEnvironment(ws)
        events = run_steps(model, env, SMALL)
        assert "return 2 * x" in (env.read("solution.py") or "")  # the third reply never ran
    stopped = events[-1]
    assert isinstance(stopped, AgentStopped) and stopped.reason == "finished"
    assert stopped.steps == 2 and len(model.requests) == 2
    assert stopped.summary.startswith("Changed solution.py and sent it again unchanged")


def test_the_same_file_sent_again_goes_on_while_the_tests_fail_or_nothing_changed(
    env: SandboxEnvironment, tmp_path: Path
) -> None:
    wrong = "ACTION: write solution.py\n```python\ndef double(x):\n    return 3 * x\n```"
    model = script(wrong, wrong, "ACTION: finish gave up")
    events = run_steps(model, env, replace(SMALL, draft_first=False))
    stopped = events[-1]
    assert isinstance(stopped, AgentStopped)  # the tests fail: not done at the second write
    assert stopped.steps > 2 and "sent it again unchanged" not in stopped.summary
    # a file sent back as it was, when the run has changed nothing: not done either
    same = "ACTION: write solution.py\n```python\ndef double(x):\n    return x + x\n```"
    model = script(same, "ACTION: finish nothing to do")
    with Workspace(snapshot(green_exercise(tmp_path / "green")), "unchanged") as ws:
        events = run_steps(model, SandboxEnvironment(ws), SMALL)
    assert len(model.requests) == 2 and events[-1].summary == "nothing to do"  # type: ignore[union-attr]


def test_a_write_that_leaves_the_stub_does_not_count_as_done(env: SandboxEnvironment) -> None:
    # the tests pass, but the job's file still raises NotImplementedError somewhere
    half = (
        "ACTION: write solution.py\n```python\ndef double(x):\n    return 2 * x\n\n\n"
        "def triple(x):\n    raise NotImplementedError\n```"
    )
    model = script(half, "ACTION: finish done")
    steps = [e for e in run_steps(model, env, SMALL, max_steps=3) if isinstance(e, StepRan)]
    assert len(steps) == 3  # the run went on, and its finish was sent back
    assert steps[1].observation.startswith("Not finished: solution.py line 6")


def test_the_task_takes_how_to_execute_from_the_roster_entry() -> None:
    small = Agent(
        "q", "local/q", 1.0, 1.0, 4096, True, edit_format="whole", stop_when_tests_pass=True
    )
    task = task_for_agent(small, "job", "plan", "coding", "pytest", "summary", ("t.py",))
    assert (task.edit_format, task.stop_when_tests_pass, task.read_only) == (
        "whole",
        True,
        ("t.py",),
    )
    outside = task_for_agent(None, "job", "plan", "coding", None, "")
    assert (outside.edit_format, outside.stop_when_tests_pass) == ("diff", False)


def test_without_draft_first_step_1_is_the_loops_own_prompt(env: SandboxEnvironment) -> None:
    model = script(WRITE, "ACTION: finish done")
    run_steps(model, env, replace(SMALL, draft_first=False))
    system, opening = (m["content"] for m in model.requests[0].messages)
    assert "ACTION: write <path>" in system and "Reply with the whole new" not in opening


def test_the_coding_draft_names_the_failing_tests_but_does_not_show_their_file(
    env: SandboxEnvironment,
) -> None:
    # shown the test file, the 0.5B copied it into the solution
    model = script(WRITE)
    run_steps(model, env, replace(SMALL, read_only=("test_solution.py",)))
    draft = model.requests[0].messages[0]["content"]
    assert "solution.py:\n```" in draft and "raise NotImplementedError" in draft
    assert "test_solution.py (read-only" not in draft and "def test_double" not in draft
    assert "FAILED test_solution.py::test_double" in draft  # which tests fail, still said


WRONG = "ACTION: write solution.py\n```python\ndef double(x):\n    return 3 * x\n```"


def test_a_draft_that_leaves_the_tests_failing_gets_a_fresh_sampled_candidate(
    env: SandboxEnvironment,
) -> None:
    model = script(WRONG, WRITE, "ACTION: run rm solution.py")
    events = run_steps(model, env, replace(SMALL, drafts=3))
    first, second = model.requests[:2]
    assert (first.temperature, first.seed) == (0.0, None)  # the first draft is greedy
    assert (second.temperature, second.seed) == (0.7, 1)
    assert second.messages == first.messages  # the same draft prompt, sampled afresh
    stopped = events[-1]
    assert isinstance(stopped, AgentStopped) and (stopped.reason, stopped.steps) == (
        "finished",
        2,
    )
    assert "2 * x" in (env.read("solution.py") or "")


def test_after_the_last_candidate_the_loop_takes_over(env: SandboxEnvironment) -> None:
    model = script(WRONG, WRONG.replace("3 *", "4 *"), WRITE)
    run_steps(model, env, replace(SMALL, drafts=2), max_steps=3)
    assert [len(r.messages) for r in model.requests[:2]] == [1, 1]  # two drafts
    step_3 = model.requests[2].messages
    assert step_3[0]["role"] == "system"  # the loop's own prompt, the drafts in its transcript
    assert "4 * x" in str(step_3) and model.requests[2].temperature == 0.0


def test_one_draft_by_default_outside_the_roster(env: SandboxEnvironment) -> None:
    model = script(WRONG, WRITE)
    run_steps(model, env, SMALL, max_steps=2)
    assert model.requests[1].messages[0]["role"] == "system"


RESEARCH = AgentTask("What is Vienna the capital of?", "look", "research", draft_first=True)


def test_a_research_draft_asks_for_a_few_words_and_cites_the_line_that_says_them(
    env: SandboxEnvironment,
) -> None:
    model = script("Answer: Austria")
    events = run_steps(model, env, RESEARCH)
    draft = model.requests[0].messages
    assert len(draft) == 1 and "a few words only" in draft[0]["content"]
    assert "docs/02-cities.md (3 lines):" in draft[0]["content"]  # the best file, numbered
    stopped = events[-1]
    assert isinstance(stopped, AgentStopped) and (stopped.reason, stopped.steps) == (
        "finished",
        1,
    )
    assert stopped.summary == "Austria (docs/02-cities.md:3)"
    assert stopped.citations == ("docs/02-cities.md:3",) and not stopped.bad_citations


def test_a_drafted_answer_no_shown_line_holds_is_not_taken(env: SandboxEnvironment) -> None:
    model = script("Answer: Germany", "ACTION: finish Austria (docs/02-cities.md:3)")
    events = run_steps(model, env, RESEARCH)
    first = events[0]
    assert isinstance(first, StepRan)
    assert first.observation.startswith('Not taken: no line of the files shown says "Germany"')
    step_2 = model.requests[1].messages
    assert [m["role"] for m in step_2[:2]] == ["system", "user"]  # the loop's own prompt
    assert "Not taken" in str(step_2)
    assert isinstance(events[-1], AgentStopped) and events[-1].steps == 2


def test_a_sentence_is_not_taken_as_the_short_answer(env: SandboxEnvironment) -> None:
    sentence = "Answer: Vienna is the capital city of Austria, on the Danube, as the files say"
    model = script(sentence, "ACTION: finish Austria (docs/02-cities.md:3)")
    events = run_steps(model, env, RESEARCH)
    assert isinstance(events[0], StepRan)
    assert "that is a sentence, not the short answer" in events[0].observation


def test_a_yes_or_no_cites_the_lines_the_question_is_about(env: SandboxEnvironment) -> None:
    question = replace(RESEARCH, job="Is Vienna the capital of Austria?")
    events = run_steps(script("Answer: Yes."), env, question)
    stopped = events[-1]
    assert isinstance(stopped, AgentStopped) and stopped.reason == "finished"
    assert stopped.summary == "Yes (docs/02-cities.md:3, docs/01-rivers.md:3)"


def test_without_draft_first_a_research_job_starts_with_the_loop(
    env: SandboxEnvironment,
) -> None:
    model = script("ACTION: finish Austria (docs/02-cities.md:3)")
    run_steps(model, env, replace(RESEARCH, draft_first=False))
    assert [m["role"] for m in model.requests[0].messages] == ["system", "user"]


@pytest.mark.parametrize(
    ("reply", "answer"),
    [
        ("Answer: Carry On", "Carry On"),
        ("Thinking.\nanswer: **6,960** (docs/03-x.md:4)", "6,960"),
        ("Barnaby Joyce\nbecause he was deputy", "Barnaby Joyce"),
        ("", ""),
    ],
)
def test_the_drafted_answer_is_its_answer_line(reply: str, answer: str) -> None:
    assert drafted_answer(reply) == answer
