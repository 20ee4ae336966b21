"""The text action format as small models write it: pure parsing, no sandbox."""

from __future__ import annotations

import pytest

from sale_tui.agents.actions import Action, ActionError, parse
from sale_tui.agents.repeats import repeating
from sale_tui.agents.search_tool import clean_query, search_words


def test_a_whole_file_write_takes_the_fenced_block() -> None:
    reply = "Here it is.\nACTION: write solution.py:\n```python\ndef f():\n    return 1\n```\nDone."
    assert parse(reply) == Action("write", "solution.py", replace="def f():\n    return 1\n")
    # the language tag on its own line inside the block is not part of the file
    tagged = "ACTION: write a.py\n```\npython\nx = 1\n```"
    assert parse(tagged).replace == "x = 1\n"


def test_a_write_cut_off_before_its_closing_fence_is_refused() -> None:
    with pytest.raises(ActionError, match="no closing"):
        parse("ACTION: write a.py\n```\nx = 1\n")
    with pytest.raises(ActionError, match="inside a ``` block"):
        parse("ACTION: write a.py\nthen the whole new file")


def test_a_bare_code_block_writes_the_file_named_above_it_or_the_jobs_file() -> None:
    named = "The fix:\n**calc.py**\n```python\nx = 2\n```"
    assert parse(named) == Action("write", "calc.py", replace="x = 2\n")
    bare = "Sure:\n```python\nx = 3\n```"
    assert parse(bare, default_file="solution.py") == Action(
        "write", "solution.py", replace="x = 3\n"
    )
    with pytest.raises(ActionError, match="no action found"):
        parse(bare)  # no file to write it to: asked again, never guessed


def test_queries_are_read_as_models_type_them() -> None:
    assert clean_query('"congressional districts" in docs/') == ("congressional districts", "docs")
    assert clean_query("`def add(`") == ("def add(", ".")
    # a word after "in" may not be a folder: search() looks before it narrows (sandbox tests)
    assert clean_query("the value in use") == ("the value", "use")
    assert search_words("Which river flows through the capital?") == [
        "river",
        "flows",
        "through",
        "capital",
    ]


def test_cycles_of_any_length_are_found_and_counted() -> None:
    assert repeating(["a", "b", "c"], ["a", "b", "c"]) is None
    two = repeating(["x", "a", "b", "a", "b"], ["x", "view f", "edit f", "view f", "edit f"])
    assert two is not None and (two.length, two.times, two.steps) == (2, 2, ("view f", "edit f"))
    three = repeating(["a"] * 3, ["run t"] * 3)
    assert three is not None and (three.length, three.times) == (1, 3)


def test_a_description_copied_from_the_prompts_action_list_is_dropped() -> None:
    copied = 'ACTION: search "British publications"     find the lines holding most of these'
    assert parse(copied) == Action("search", '"British publications"')
    assert parse("ACTION: view a.py    show a file with line numbers").arg == "a.py"
