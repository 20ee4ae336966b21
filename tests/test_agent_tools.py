"""Native tool calls and research citations, with scripted replies in a real sandbox."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from sale_tui.agents import AgentLimits, AgentStopped, AgentTask, StepRan, run_agent
from sale_tui.agents.actions import ActionError
from sale_tui.agents.citations import check_citations
from sale_tui.agents.native_tools import from_tool_call, tool_schemas
from sale_tui.models.scripted import Request, Scripted, ScriptedModel
from sale_tui.prompting import PromptLibrary
from sale_tui.protocols import ToolCall
from sale_tui.repo import snapshot
from sale_tui.sandboxes import Workspace
from sale_tui.sandboxes.environment import SandboxEnvironment
from tests.sandbox_helpers import make_repo

CODING = AgentTask(
    job="Fix add() so that 2 + 3 == 5",
    plan="view, edit, test",
    test_command="python3 -c 'import calc; assert calc.add(2, 3) == 5'",
)
RESEARCH = AgentTask(job="What does add() do?", plan="view calc.py", kind="research")


def call(name: str, index: int = 0, **arguments: str) -> ToolCall:
    return ToolCall(f"call_{name}_{index}", name, json.dumps(arguments))


def script(*replies: Scripted | str) -> ScriptedModel:
    queue: Iterator[Scripted | str] = iter(replies)

    def respond(request: Request) -> Scripted | str:
        return next(queue, Scripted(tool_calls=(call("run", 99, command="echo extra"),)))

    return ScriptedModel("agent", respond, price_in=1.0, price_out=1.0)


@pytest.fixture
def env(tmp_path: Path) -> Iterator[SandboxEnvironment]:
    with Workspace(snapshot(make_repo(tmp_path / "repo")), "tools") as ws:
        yield SandboxEnvironment(ws)


def run(
    model: ScriptedModel, env: SandboxEnvironment, task: AgentTask, native: bool = True
) -> list[StepRan | AgentStopped]:
    return list(
        run_agent(task, model, env, PromptLibrary(), AgentLimits(max_steps=8), native_tools=native)  # type: ignore[arg-type]
    )


def test_tool_call_arguments_become_actions() -> None:
    edit = from_tool_call(call("edit", path="a.py", search="x = 1", replace="x = 2"))
    assert (edit.tool, edit.arg, edit.search, edit.replace) == ("edit", "a.py", "x = 1", "x = 2")
    assert from_tool_call(call("run", command=" ls ")).arg == "ls"
    assert from_tool_call(ToolCall("1", "test", "")).tool == "test"
    for bad, message in [
        (ToolCall("1", "dance", "{}"), "unknown tool 'dance'"),
        (ToolCall("1", "run", '{"command": '), "not valid JSON"),
        (ToolCall("1", "run", "[1]"), "JSON object"),
        (call("view"), "'view' needs 'path'"),
        (call("edit", path="a.py"), "edit needs"),
    ]:
        with pytest.raises(ActionError, match=message):
            from_tool_call(bad)
    names = [t["function"]["name"] for t in tool_schemas("research")]
    assert names == ["run", "view", "search", "finish"]  # research jobs cannot edit
    assert "edit" in [t["function"]["name"] for t in tool_schemas("coding")]


@pytest.mark.sandbox
def test_native_tool_calls_fix_the_bug_and_answer_every_call(env: SandboxEnvironment) -> None:
    model = script(
        Scripted(tool_calls=(call("view", path="calc.py"),)),
        Scripted(  # two calls in one reply: the first runs, the second is answered "not run"
            "Fixing it.",
            tool_calls=(
                call("edit", path="calc.py", search="    return a - b", replace="    return a + b"),
                call("run", 1, command="touch should_not_exist"),
            ),
        ),
        Scripted(tool_calls=(call("run", 2, command="{broken"),)),
        Scripted(tool_calls=(ToolCall("bad", "run", "{oops"),)),
        Scripted(tool_calls=(call("test"),)),
        Scripted(tool_calls=(call("finish", summary="add() adds; tests pass"),)),
    )
    events = run(model, env, CODING)
    steps = [e for e in events if isinstance(e, StepRan)]
    assert [s.action.tool if s.action else None for s in steps] == [
        "view",
        "edit",
        "run",
        None,
        "test",
        "finish",
    ]
    assert "not valid JSON" in steps[3].observation
    assert steps[4].observation.startswith("Tests PASSED")
    final = events[-1]
    assert isinstance(final, AgentStopped) and final.reason == "finished"
    assert env.read("should_not_exist") is None
    # Each request carried the tool schemas and no text stop sequence; the transcript answers
    # every tool call id, in order, as the providers require.
    assert all(r.tools for r in model.requests)
    last = model.requests[-1].messages
    assert "ACTION:" not in str(last[0]["content"])
    edit_turn = next(m for m in last if m.get("tool_calls") and len(m["tool_calls"]) == 2)
    position = last.index(edit_turn)
    answers = last[position + 1 : position + 3]
    assert [a["role"] for a in answers] == ["tool", "tool"]
    assert [a["tool_call_id"] for a in answers] == ["call_edit_0", "call_run_1"]
    assert answers[0]["content"].startswith("Edited calc.py")
    assert answers[1]["content"].startswith("Not run")


@pytest.mark.sandbox
def test_a_native_model_answering_in_text_is_told_to_call_a_tool(
    env: SandboxEnvironment,
) -> None:
    model = script("I think the bug is in calc.py.", "ACTION: finish nothing to do")
    steps = [e for e in run(model, env, CODING) if isinstance(e, StepRan)]
    assert steps[0].action is None and "no tool call found" in steps[0].observation
    assert steps[1].action is not None and steps[1].action.tool == "finish"  # text still works


@pytest.mark.sandbox
def test_citations_are_checked_against_the_repository(env: SandboxEnvironment) -> None:
    checked = check_citations(
        env, "add is at calc.py:1-2 and ./calc.py:2; see calc.py:9, nope.py:1 and calc.py:0"
    )
    assert checked.good == ("calc.py:1-2", "calc.py:2")
    assert checked.bad == (
        "calc.py:9 (calc.py has 2 lines)",
        "nope.py:1 (no such file)",
        "calc.py:0 (calc.py has 2 lines)",
    )
    assert not checked.ok and "do not exist" in checked.feedback()
    assert "cites no evidence" in check_citations(env, "it adds numbers").feedback()
    # the prose form models write (Qwen-1.5B: "`calc.py` on line 1")
    prose = check_citations(env, "defined in `calc.py` on line 1; see calc.py, lines 1 to 2")
    assert prose.good == ("calc.py:1", "calc.py:1-2") and prose.ok


@pytest.mark.sandbox
@pytest.mark.parametrize("native", [False, True])
def test_a_research_answer_without_good_citations_is_sent_back(
    env: SandboxEnvironment, native: bool
) -> None:
    def finish(answer: str) -> Scripted | str:
        return (
            Scripted(tool_calls=(call("finish", summary=answer),))
            if native
            else (f"ACTION: finish {answer}")
        )

    model = script(
        finish("add() subtracts."),
        finish("add() subtracts, see calc.py:7."),
        finish("add() returns a - b (calc.py:2)."),
    )
    events = run(model, env, RESEARCH, native)
    steps = [e for e in events if isinstance(e, StepRan)]
    assert "cites no evidence" in steps[0].observation
    assert "calc.py:7 (calc.py has 2 lines)" in steps[1].observation
    final = events[-1]
    assert isinstance(final, AgentStopped) and final.reason == "finished"
    assert final.citations == ("calc.py:2",) and final.bad_citations == ()


@pytest.mark.sandbox
def test_an_uncited_answer_is_accepted_after_two_returns_but_marked(
    env: SandboxEnvironment,
) -> None:
    model = script(*["ACTION: finish it subtracts"] * 2, "ACTION: finish it subtracts, calc.py:5")
    final = run(model, env, RESEARCH, native=False)[-1]
    assert isinstance(final, AgentStopped) and final.reason == "finished"
    assert final.citations == () and final.bad_citations == ("calc.py:5 (calc.py has 2 lines)",)
