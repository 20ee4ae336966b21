"""`sale-tui history` and `sale-tui show` read the real memory file a run left behind."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sale_tui.auction import Job
from sale_tui.config import Settings
from sale_tui.memory import AuctionMemory
from sale_tui.prompting import PromptLibrary
from sale_tui.runner import AuctionRunner
from tests.auction_helpers import bidder
from tests.conftest import run_cli

pytestmark = pytest.mark.usefixtures("with_minilm")


@pytest.fixture
def memory(isolated_home: Path) -> AuctionMemory:
    memory = AuctionMemory(isolated_home / "data" / "memory.db")
    judge = {"big plan": 5.0}
    agents = [
        bidder("small", 0.1, plan="small plan", scores=judge),
        bidder("large", 2.0, plan="big plan", scores=judge),
    ]
    runner = AuctionRunner(Settings(), agents, memory, PromptLibrary())
    list(runner.run(Job("Fix the failing parser test", "coding", "")))
    list(runner.run(Job("Where is the retry logic?", "research", "")))
    return memory


def test_history_lists_auctions_newest_first(memory: AuctionMemory) -> None:
    result = run_cli("history", "--json")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert [r["job"] for r in rows] == ["Where is the retry logic?", "Fix the failing parser test"]
    assert all(r["winner"] == "large" and r["status"] == "won" for r in rows)
    table = run_cli("history", env={"COLUMNS": "100"})
    assert "Fix the failing" in table.stdout and "large" in table.stdout
    assert json.loads(run_cli("history", "--json", "--agent", "small").stdout) == []
    found = json.loads(run_cli("history", "--json", "--search", "parser").stdout)
    assert [r["job"] for r in found] == ["Fix the failing parser test"]
    assert json.loads(run_cli("history", "--json", "--since", "2999-01-01").stdout) == []


def test_show_explains_one_auction_by_id_prefix(memory: AuctionMemory) -> None:
    auction_id = memory.auctions()[0]["id"]
    result = run_cli("show", auction_id[:6], "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["id"] == auction_id and data["winner"] == "large"
    # the newest auction (research) had only a coding job in memory: refinement pairs keep to
    # the kind of job, so nobody refined
    assert sorted((b["bid"]["agent"], b["bid"]["round"]) for b in data["bids"]) == [
        ("large", "original"),
        ("small", "original"),
    ]
    text = run_cli("show", auction_id, env={"COLUMNS": "100"}).stdout
    assert "large ★" in text and "winning plan" in text and "big plan" in text
    # the three token figures: computed + cached = all prompt and output tokens
    assert data["prompt_tokens"] + data["generated_tokens"] == data["auction_tokens"] > 0
    assert data["auction_computed_tokens"] + data["cached_tokens"] == data["auction_tokens"]
    assert 0 < data["cached_tokens"] < data["prompt_tokens"]
    assert (
        f"({data['auction_computed_tokens']:,} computed, {data['cached_tokens']:,} cached)" in text
    )


def test_the_work_tokens_are_split_where_recorded(memory: AuctionMemory) -> None:
    from sale_tui.protocols import Usage

    newest, oldest = (row["id"] for row in memory.auctions())
    # 1,200 prompt tokens of which 900 read from the cache, 150 generated
    memory.record_execution(newest, "large", "success", tokens=1350, usage=Usage(1200, 150, 900))
    memory.record_execution(oldest, "large", "success", tokens=500)  # recorded before m008
    rows = {r["id"]: r for r in json.loads(run_cli("history", "--json").stdout)}
    assert (rows[newest]["work_tokens"], rows[newest]["work_computed_tokens"]) == (1350, 450)
    assert rows[newest]["work_cached_tokens"] == 900
    assert rows[oldest]["work_tokens"] == 500 and rows[oldest]["work_computed_tokens"] is None
    shown = json.loads(run_cli("show", newest, "--json").stdout)
    [execution] = shown["executions"]
    assert (execution["prompt_tokens"], execution["cached_tokens"]) == (1200, 900)
    assert execution["generated_tokens"] == 150
    text = run_cli("show", newest, env={"COLUMNS": "160"}).stdout
    assert "work by large: success" in text and "1,350 (450 computed, 900 cached) tokens" in text
    assert "500 tokens" in run_cli("show", oldest, env={"COLUMNS": "160"}).stdout
    overhead = memory.overhead()
    assert (overhead.execution_tokens, overhead.execution_cached_tokens) == (1850, 900)


def test_show_unknown_id_is_exit_2(memory: AuctionMemory) -> None:
    result = run_cli("show", "zzzz")
    assert result.returncode == 2 and "sale-tui history" in result.stderr


def test_history_groups_jobs_by_session_and_show_prints_a_whole_session(
    isolated_home: Path, tmp_path: Path
) -> None:
    from tests.sandbox_helpers import make_repo
    from tests.test_sessions import record_job

    repo = make_repo(tmp_path / "repo")
    memory = AuctionMemory(isolated_home / "data" / "memory.db")
    first = memory.new_session(str(repo), "Fix add()")
    diff = b"diff --git a/calc.py b/calc.py\n--- a/calc.py\n+++ b/calc.py\n@@ -1 +1 @@\n-a\n+b\n"
    record_job(memory, repo, first, "Fix add()", verdict="rejected", patch=diff)
    record_job(memory, repo, first, "Where is add?", kind="research", answer="calc.py:1")
    second = memory.new_session(str(repo), "Rename it")
    record_job(memory, repo, second, "Rename it", verdict="rejected")

    rows = json.loads(run_cli("history", "--json").stdout)
    assert [r["session_id"] for r in rows] == [second, first, first]
    assert rows[-1]["outcome"] == "rejected"  # the user's verdict, not the tests' "success"
    table = run_cli("history", env={"COLUMNS": "120"}).stdout
    assert table.index(f"session {second}") < table.index(f"session {first}")
    assert table.index("Fix add()") < table.index("Where is add?")  # a session reads down
    only = json.loads(run_cli("history", "--json", "--session", first[:6]).stdout)
    assert [r["job"] for r in only] == ["Where is add?", "Fix add()"]
    listed = json.loads(run_cli("history", "--sessions", "--json").stdout)
    assert [(s["id"], s["jobs"]) for s in listed] == [(second, 1), (first, 2)]

    shown = run_cli("show", first, env={"COLUMNS": "120"})
    assert shown.returncode == 0, shown.stderr
    text = shown.stdout
    assert "1. coding Fix add()" in text and "rejected by the user" in text
    assert "2. research Where is add?" in text and "answer: calc.py:1" in text
    assert "the next job starts from: master at" in text or "starts from: main at" in text
    assert f"do --session {first}" in text
    data = json.loads(run_cli("show", first, "--json").stdout)
    assert [j["outcome"] for j in data["jobs"]] == ["rejected", "accepted"]
    missing = run_cli("show", "zzzz")
    assert missing.returncode == 2 and "history --sessions" in missing.stderr


def test_resume_without_an_id_asks_for_one() -> None:
    from sale_tui.cli import PICK, _resume_without_id

    assert _resume_without_id(["--resume"]) == [f"--resume={PICK}"]
    assert _resume_without_id(["-r", "--repo", "x"]) == [f"--resume={PICK}", "--repo", "x"]
    assert _resume_without_id(["--resume", "abc"]) == ["--resume", "abc"]
    assert _resume_without_id(["do", "--", "-r"]) == ["do", "--", "-r"]
