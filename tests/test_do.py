"""`sale-tui do` end to end: real llama.cpp models, real Docker, a real repo, real memory.

SmolLM2 is a plumbing model: these tests assert on the flow, events, exit codes, what reaches
the repo and what the memory keeps, never on the quality of its work.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from sale_tui.memory import AuctionMemory
from sale_tui.memory.db import open_database
from tests.conftest import run_cli
from tests.sandbox_helpers import git, make_repo, tree_state
from tests.test_calibrate import fill_world

pytestmark = [pytest.mark.local_model, pytest.mark.sandbox]

ROSTER = """
[auction]
max_bid_tokens = 32

[[agents]]
name = "tiny"
model = "sale-local/smollm2-135m"
price_in = 0.001
price_out = 0.001
"""


@pytest.fixture
def home(isolated_home: Path, with_smollm: Path, with_minilm: Path) -> Path:
    isolated_home.mkdir(parents=True, exist_ok=True)
    (isolated_home / "config.toml").write_text(ROSTER)
    return isolated_home


def test_do_json_end_to_end_leaves_the_repo_alone(home: Path, tmp_path: Path) -> None:
    # 8 earlier outcomes in the memory: this job's makes 9, and the refit is due after it
    fill_world(AuctionMemory(home / "data" / "memory.db"), 8)
    (home / "config.toml").write_text(ROSTER.replace("[auction]", "[auction]\nrefit_every = 9"))
    repo = make_repo(tmp_path / "repo")
    (repo / "test_calc.py").write_text(
        "from calc import add\n\ndef test_add():\n    assert add(2, 3) == 5\n"
    )
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "test")
    before = tree_state(repo)
    result = run_cli(
        "do",
        "Fix add() so that test_calc passes",
        "--repo",
        str(repo),
        "--json",
        "--apply",
        "no",
        "--max-steps",
        "2",
    )
    assert result.returncode in (0, 1), result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]  # valid JSON lines
    names = [e["event"] for e in events]
    for expected in (
        "AuctionStarted",
        "BidReceived",
        "WinnerChosen",
        "StepRan",
        "AgentStopped",
        "TestsRan",
        "JobFinished",
        "WeightsRefitted",
    ):
        assert expected in names
    # one agent: its bid is the only one, so no jury is asked
    assert "JuryScored" not in names
    won = next(e for e in events if e["event"] == "WinnerChosen")
    assert "the only bid left" in won["reason"]
    finished, refit = events[-2:]
    assert finished["event"] == "JobFinished"
    assert refit["event"] == "WeightsRefitted" and refit["outcomes"] == 9
    assert result.returncode == (0 if finished["success"] else 1)
    tests_ran = next(e for e in events if e["event"] == "TestsRan")
    assert tests_ran["passed"] is finished["tests_passed"]
    assert set(finished["seconds"]) == {"auction", "execution", "tests"}
    assert all(s >= 0 for s in finished["seconds"].values())
    assert finished["auction_tokens"] > 0 and finished["execution_tokens"] > 0
    # the work's tokens split as the auction's are: computed + read from llama.cpp's cache
    assert (
        finished["execution_computed_tokens"] + finished["execution_cached_tokens"]
        == finished["execution_tokens"]
    )
    assert (
        finished["auction_computed_tokens"] + finished["auction_cached_tokens"]
        == finished["auction_tokens"]
    )
    assert tree_state(repo) == before  # --apply no: nothing reached the repo
    db = open_database(home / "data" / "memory.db")
    execution = db.execute(
        "SELECT agent, status, tests_passed, prompt_tokens - cached_tokens + generated_tokens, "
        "cached_tokens FROM executions WHERE agent = 'tiny'"
    ).fetchone()
    assert execution[0] == "tiny"
    assert execution[1] == ("success" if finished["success"] else "failure")
    assert execution[3:] == (
        finished["execution_computed_tokens"],
        finished["execution_cached_tokens"],
    )
    fits = db.execute("SELECT trigger, outcomes, adopted FROM fitted_weights").fetchall()
    assert fits == [("auto", 9, int(refit["adopted"]))]


def test_ctrl_c_during_execution_leaves_no_container_and_an_unchanged_repo(
    home: Path, tmp_path: Path, with_smollm: Path
) -> None:
    import docker

    repo = make_repo(tmp_path / "repo")
    # Whatever the agent does, the repo's tests take a minute, so the container is still
    # there when the interrupt arrives (the agent's own steps may all be over by then).
    (repo / "conftest.py").write_text("import time\n\ntime.sleep(60)\n")
    (repo / "test_calc.py").write_text(
        "from calc import add\n\ndef test_add():\n    assert add(2, 3) == 5\n"
    )
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "slow tests")
    before = tree_state(repo)
    head = git(repo, "rev-parse", "HEAD")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sale_tui",
            "do",
            "Fix add()",
            "--repo",
            str(repo),
            "--json",
            "--apply",
            "worktree",
            "--max-steps",
            "3",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "SALE_TUI_CACHE_DIR": str(with_smollm)},
    )
    assert process.stdout is not None
    auction_id = None
    for line in process.stdout:
        event = json.loads(line)
        auction_id = event.get("auction_id", auction_id)
        if event["event"] == "StepRan":  # the sandbox is up and the winner is working
            break
    assert auction_id is not None
    process.send_signal(signal.SIGINT)
    process.wait(timeout=90)
    assert process.returncode == 130, process.stderr.read() if process.stderr else ""
    client = docker.from_env()
    left = client.containers.list(all=True, filters={"label": f"sale-tui.sandbox.job={auction_id}"})
    assert left == []
    assert tree_state(repo) == before and git(repo, "rev-parse", "HEAD") == head
    db = open_database(home / "data" / "memory.db")
    assert db.execute("SELECT count(*) FROM auctions WHERE id = ?", [auction_id]).fetchone() == (1,)
    execution = db.execute(
        "SELECT status FROM executions WHERE auction_id = ?", [auction_id]
    ).fetchone()
    assert execution == ("interrupted",)


def test_do_continue_adds_a_follow_up_that_is_told_of_the_first_job(
    home: Path, tmp_path: Path
) -> None:
    repo = make_repo(tmp_path / "repo")
    common = ("--repo", str(repo), "--json", "--apply", "no", "--max-steps", "1", "--escalate", "0")
    first = run_cli("do", "Fix add() in calc.py", *common)
    second = run_cli("do", "--continue", "Also add subtract() to calc.py", *common)
    starts = []
    for result in (first, second):
        assert result.returncode in (0, 1), result.stderr
        events = [json.loads(line) for line in result.stdout.splitlines()]
        starts.append(next(e for e in events if e["event"] == "JobStarted"))
    assert [s["number"] for s in starts] == [1, 2]
    assert starts[0]["session_id"] == starts[1]["session_id"]
    assert starts[1]["base"].split(" at ")[0] in ("master", "main")  # job 1 was not applied
    db = open_database(home / "data" / "memory.db")
    rows = db.execute("SELECT session_id, context FROM jobs ORDER BY created_at").fetchall()
    assert {row[0] for row in rows} == {starts[0]["session_id"]}
    assert '1. "Fix add() in calc.py" (coding)' in rows[1][1]  # what job 2's prompts carried


def test_do_refuses_a_dirty_tree_without_a_choice(home: Path, tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    (repo / "calc.py").write_text("changed\n")
    result = run_cli("do", "Fix add()", "--repo", str(repo))
    assert result.returncode == 2 and "--with-uncommitted" in result.stderr


def test_do_without_docker_is_exit_3(home: Path, tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    result = run_cli(
        "do", "Fix add()", "--repo", str(repo), env={"DOCKER_HOST": f"unix://{tmp_path}/none.sock"}
    )
    assert result.returncode == 3 and "sandbox status" in result.stderr


def test_do_outside_a_repo_is_exit_2(home: Path, tmp_path: Path) -> None:
    result = run_cli("do", "Fix add()", "--repo", str(tmp_path))
    assert result.returncode == 2 and "git init" in result.stderr


def test_kind_inference() -> None:
    from sale_tui.jobs import infer_kind

    assert infer_kind("Where is the retry logic implemented?") == "research"
    assert infer_kind("How are tokens validated") == "research"
    assert infer_kind("Fix the failing test in parser.py") == "coding"
    assert infer_kind("Add a --verbose flag") == "coding"
