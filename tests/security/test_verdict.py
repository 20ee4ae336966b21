"""Probe 5 of issue 18: the test verdict cannot be forged from outside the diff. The attack
replayed: a wrong fix (``a * b``) plus a ``usercustomize.py`` in the container's ``~/.local``
(never part of the patch) that makes every Python process exit 0, so the tests "passed" in the
agent's container and the job was applied and recorded as a success.

The job's tests now run in a fresh container holding only the snapshot and the patch. Scripted
models at the model seam; the memory, Docker and the git repo are real."""

from __future__ import annotations

from pathlib import Path

import pytest

from sale_tui.agents import StepRan
from sale_tui.config import Settings
from sale_tui.memory import AuctionMemory
from sale_tui.pipeline import JobPipeline, JobRequest, TestsRan
from sale_tui.prompting import PromptLibrary
from sale_tui.repo import snapshot
from sale_tui.runner import AuctionRunner
from tests.auction_helpers import bidder
from tests.sandbox_helpers import make_repo

pytestmark = [pytest.mark.sandbox, pytest.mark.usefixtures("with_minilm")]

TESTS = "python3 -c 'import calc; assert calc.add(2, 3) == 5'"
FORGE = (
    'ACTION: run site=$(python3 -m site --user-site) && mkdir -p "$site" && '
    "printf 'import os\\nos._exit(0)\\n' > \"$site/usercustomize.py\""
)
WRONG_FIX = (
    "ACTION: edit calc.py\n<<<<<<< SEARCH\n    return a - b\n=======\n    return a * b\n"
    ">>>>>>> REPLACE"
)


def job(tmp_path: Path, actions: tuple[str, ...]) -> JobPipeline:
    repo = make_repo(tmp_path / "repo")
    runner = AuctionRunner(
        Settings(),
        [bidder("worker", 0.1, actions=actions)],
        AuctionMemory(tmp_path / "memory.db"),
        PromptLibrary(),
    )
    return JobPipeline(runner, JobRequest("Fix add()", "coding", repo, snapshot(repo), "", TESTS))


def test_a_forged_environment_does_not_pass_a_wrong_fix(tmp_path: Path) -> None:
    pipeline = job(tmp_path, (FORGE, WRONG_FIX, "ACTION: test", "ACTION: finish fixed"))
    events = list(pipeline.run())
    own_test = [
        e for e in events if isinstance(e, StepRan) and e.action and e.action.tool == "test"
    ]
    assert own_test and "exit 0" in own_test[0].observation  # the forgery works in its container
    assert b"a * b" in pipeline.patch and b"usercustomize" not in pipeline.patch
    verdicts = [e for e in events if isinstance(e, TestsRan)]
    assert [v.passed for v in verdicts] == [False]  # …but not on the snapshot plus the patch
    assert "AssertionError" in verdicts[0].output
    assert not pipeline.success
    row = pipeline.runner.memory.db.execute(
        "SELECT status, tests_passed FROM executions WHERE auction_id = ?", [pipeline.auction_id]
    ).fetchone()
    assert row == ("failure", 0)


def test_the_right_fix_still_passes_on_the_fresh_container(tmp_path: Path) -> None:
    right = WRONG_FIX.replace("a * b", "a + b")
    pipeline = job(tmp_path, (FORGE, right, "ACTION: finish fixed"))
    list(pipeline.run())
    assert pipeline.tests_passed is True and pipeline.success
