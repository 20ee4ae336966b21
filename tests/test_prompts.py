from __future__ import annotations

from pathlib import Path

import pytest

from sale_tui.auction.events import PlanPair
from sale_tui.errors import ConfigError
from sale_tui.prompting import PromptLibrary

SAMPLE = {
    "job": "JOB-TEXT",
    "kind": "coding",
    "repo_summary": "REPO-SUMMARY",
    "context": "SESSION-AND-INSTRUCTIONS",
    "max_tokens": 128,
    "plan": "PLAN-TEXT",
    "test_command": "TEST-COMMAND",
    "native_tools": False,
    "edit_format": "whole",
    "read_only": "tests/test_x.py",
    "files": "FILES-SHOWN",
    "path": "PATH-TO-WRITE",
    "language": "python",
    "question": "QUESTION-TEXT",
    "plans": [("A", "PLAN-TEXT")],
    "pairs": [PlanPair("PAST-JOB", "a", "LOSING-PLAN", "b", "WINNING-PLAN", "success", 0.5)],
}


def test_every_template_renders_with_exactly_its_declared_variables() -> None:
    library = PromptLibrary()
    roles = library.roles()
    assert {"bid", "jury", "refine"} <= set(roles)
    for role in roles:
        declared = library.declared_variables(role)
        assert declared, f"{role} declares no variables"
        text = library.render(role, **{name: SAMPLE[name] for name in declared})
        for name in declared:
            if isinstance(SAMPLE[name], str):
                assert SAMPLE[name] in text, f"{role} does not use {name}"
        for name in declared:  # each declared variable is really required
            partial = {n: SAMPLE[n] for n in declared if n != name}
            with pytest.raises(ConfigError, match="undefined"):
                library.render(role, **partial)


def test_user_override_wins(tmp_path: Path) -> None:
    (tmp_path / "jury.j2").write_text("{#- vars: plan -#}\nCustom jury for {{ plan }}")
    library = PromptLibrary(override_dir=tmp_path)
    assert library.render("jury", plan="X") == "Custom jury for X"
    assert library.source_of("jury") == tmp_path / "jury.j2"
    assert library.source_of("bid").parent.name == "prompts"


def test_missing_role_and_bad_syntax_are_config_errors(tmp_path: Path) -> None:
    library = PromptLibrary(override_dir=tmp_path)
    with pytest.raises(ConfigError, match="no prompt template"):
        library.render("nope")
    (tmp_path / "bid.j2").write_text("{% if %}")
    with pytest.raises(ConfigError, match=r"bid\.j2"):
        library.render("bid", job="x")


@pytest.mark.parametrize("role", ["execute_coding", "execute_research"])
def test_execution_prompts_describe_the_action_format_the_loop_expects(role: str) -> None:
    library = PromptLibrary()
    common = {k: SAMPLE[k] for k in ("job", "plan", "test_command", "repo_summary")}
    common |= {"edit_format": "diff", "read_only": "", "context": ""}  # the loop passes these
    text_format = library.render(role, **common, native_tools=False)
    native = library.render(role, **common, native_tools=True)
    assert "ACTION: finish" in text_format
    assert "ACTION:" not in native and "tool call" in native


def test_the_context_is_a_paragraph_of_its_own_and_absent_when_empty() -> None:
    """The project instructions and the session come as one paragraph; without them (no
    instructions, a session's first job) the prompt is what it was before they existed, so
    prompt caches and every measured token count stay valid."""
    library = PromptLibrary()
    roles = [r for r in library.roles() if "context" in library.declared_variables(r)]
    assert {"bid", "refine", "execute_coding", "execute_research", "execute_draft"} <= set(roles)
    for role in roles:
        values = {name: SAMPLE[name] for name in library.declared_variables(role)}
        with_context = library.render(role, **values)
        empty = library.render(role, **{**values, "context": ""})
        assert with_context.replace("SESSION-AND-INSTRUCTIONS\n\n", "") == empty, role
