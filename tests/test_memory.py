"""The auction memory on real SQLite files, with the real MiniLM embedder."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from sale_tui.auction import Job, Weights
from sale_tui.auction.events import WinnerChosen
from sale_tui.config import Settings
from sale_tui.memory import AuctionMemory
from sale_tui.memory.db import MIGRATIONS, open_database
from sale_tui.prompting import PromptLibrary
from sale_tui.runner import AuctionRunner
from tests.auction_helpers import bidder

pytestmark = pytest.mark.usefixtures("with_minilm")


def scripted_runner(
    memory: AuctionMemory,
    plans: dict[str, str] | None = None,
    scores: dict[str, float] | None = None,
) -> AuctionRunner:
    plans = plans or {"small": "small plan", "large": "big plan"}
    scores = scores or {plans["large"]: 5.0, plans["small"]: 1.0}
    agents = [
        bidder("small", 0.1, plan=plans["small"], scores=scores),
        bidder("large", 2.0, plan=plans["large"], scores=scores),
    ]
    return AuctionRunner(Settings(), agents, memory, PromptLibrary())


def run(runner: AuctionRunner, text: str) -> list:  # type: ignore[type-arg]
    return list(runner.run(Job(text, "coding", "repo summary")))


def test_migrations_create_the_schema_once(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    db = open_database(path)
    assert {
        "jobs",
        "auctions",
        "bids",
        "jury_scores",
        "executions",
        "embeddings",
        "fitted_weights",
        "_migrations",
    } <= set(db.table_names())
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    applied = [r["name"] for r in db.table("_migrations").rows]
    assert applied == [m.__name__ for m in MIGRATIONS]
    again = open_database(path)
    assert [r["name"] for r in again.table("_migrations").rows] == applied


def test_a_migration_interrupted_half_way_runs_again(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    conn = sqlite3.connect(path)
    conn.execute(
        "CREATE TABLE jobs (id TEXT PRIMARY KEY, created_at TEXT, text TEXT, kind TEXT, repo TEXT)"
    )  # the first step of m001, then a crash
    conn.commit()
    conn.close()
    db = open_database(path)
    assert "bids" in db.table_names()
    assert db.execute("SELECT count(*) FROM _migrations").fetchone()[0] == len(MIGRATIONS)


def test_several_openers_of_a_new_file_at_once_all_succeed(tmp_path: Path) -> None:
    """The TUI opens the memory from several threads at start; two CLIs may start together.
    Before the fix, 3 of 4 simultaneous openers failed with "database is locked"."""
    import threading

    errors: list[BaseException] = []
    for attempt in range(10):
        path = tmp_path / f"m{attempt}.db"
        start = threading.Barrier(4)

        def open_it(path: Path = path, start: threading.Barrier = start) -> None:
            start.wait()
            try:
                open_database(path)
            except BaseException as exc:  # collected, asserted below
                errors.append(exc)

        threads = [threading.Thread(target=open_it) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        names = [r["name"] for r in open_database(path).table("_migrations").rows]
        assert names == [m.__name__ for m in MIGRATIONS]  # each migration recorded once
    assert errors == []


def test_every_step_of_an_auction_is_stored(tmp_path: Path) -> None:
    memory = AuctionMemory(tmp_path / "m.db")
    runner = scripted_runner(memory)
    events = run(runner, "Fix the failing test in parser.py")
    result = events[-1]
    assert isinstance(result, WinnerChosen)
    (auction,) = memory.auctions()
    assert auction["status"] == "won" and auction["winner"] == result.winner.agent
    assert auction["job"] == "Fix the failing test in parser.py"
    assert json.loads(auction["weights"])["cost"] == 0.5
    assert auction["bid_tokens"] + auction["jury_tokens"] == result.auction_tokens
    bids = list(memory.db.query("SELECT * FROM bids ORDER BY agent"))
    assert [(b["agent"], b["status"]) for b in bids] == [("large", "won"), ("small", "scored")]
    assert all(b["score"] == pytest.approx(b["cost_term"] - b["value_term"]) for b in bids)
    assert json.loads(bids[0]["jury"]) == {"small": 5.0, "large": 5.0}
    assert memory.db.execute("SELECT count(*) FROM jury_scores").fetchone()[0] == 4
    assert memory.db.execute("SELECT count(*) FROM embeddings").fetchone()[0] == 1


def test_an_interrupted_auction_is_kept_and_marked(tmp_path: Path) -> None:
    memory = AuctionMemory(tmp_path / "m.db")
    events = scripted_runner(memory).run(Job("Add a --verbose flag", "coding", ""))
    next(events)  # started
    next(events)  # the first agent is writing its bid
    next(events)  # the first bid is in
    events.close()  # what Ctrl-C does to a consumer's generator
    (auction,) = memory.auctions()
    assert auction["status"] == "interrupted"
    assert memory.db.execute("SELECT count(*) FROM bids").fetchone()[0] == 1


def test_plan_pairs_come_from_similar_jobs_and_prefer_own_plans(tmp_path: Path) -> None:
    memory = AuctionMemory(tmp_path / "m.db")
    runner = scripted_runner(memory, {"small": "guess and patch", "large": "read test then fix"})
    run(runner, "Fix the failing unit test for the date parser")
    other = scripted_runner(memory, {"small": "x plan", "large": "y plan"})
    other.agents = [
        bidder("mid", 0.5, plan="mid plan", scores={"y plan": 5.0}),
        bidder("large", 2.0, plan="y plan", scores={"y plan": 5.0}),
    ]
    run(other, "Fix the failing unit test for the time zone parser")
    # an unrelated job is below the similarity floor: none of its plans are shown
    run(other, "Bake a sourdough loaf with rye flour")
    pairs = memory.plan_pairs("The date parsing test fails, please repair it", "small", k=8)
    assert len(pairs) == 2
    first = pairs[0]
    assert first.job == "Fix the failing unit test for the date parser"
    assert (first.losing_agent, first.losing_plan) == ("small", "guess and patch")
    assert (first.winning_agent, first.winning_plan) == ("large", "read test then fix")
    assert first.similarity > pairs[1].similarity
    # "small" took part only in the first job: its pair outranks a more similar foreign one
    own_first = memory.plan_pairs("Fix the failing unit test for the time zone parser", "small", 8)
    assert own_first[0].losing_agent == "small"
    assert own_first[1].job == "Fix the failing unit test for the time zone parser"
    assert len(memory.plan_pairs("Fix a failing parser test", "small", k=1)) == 1


def test_outcomes_label_the_pairs(tmp_path: Path) -> None:
    memory = AuctionMemory(tmp_path / "m.db")
    run(scripted_runner(memory), "Fix the flaky network test")
    (auction,) = memory.auctions()
    memory.record_execution(auction["id"], "large", "success", tests_passed=True)
    assert memory.plan_pairs("Fix the flaky test", "small", 8)[0].outcome == "success"
    memory.record_verdict(auction["id"], "undone")
    # undone work is no winning plan, and nobody else's work passed: no pair at all
    assert memory.plan_pairs("Fix the flaky test", "small", 8) == []


def test_failed_and_running_auctions_give_no_pairs(tmp_path: Path) -> None:
    memory = AuctionMemory(tmp_path / "m.db")
    job_id = memory.new_job("Fix the bug", "coding")
    memory.start_auction(job_id, ["a"], Weights(), 256)
    assert memory.plan_pairs("Fix the bug", "a", 8) == []


WRITER = textwrap.dedent("""
    import sys
    from pathlib import Path
    from sale_tui.auction import Weights
    from sale_tui.memory import AuctionMemory
    memory = AuctionMemory(Path(sys.argv[1]))
    for i in range(int(sys.argv[2])):
        job = memory.new_job(f"{sys.argv[3]} job {i}", "coding")
        auction = memory.start_auction(job, ["a", "b"], Weights(), 256)
        memory.record_execution(auction, "a", "success")
    print("done")
""")


def test_concurrent_writers_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    AuctionMemory(path)  # create and migrate once
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(path), "40", name],
            stdout=subprocess.PIPE,
            text=True,
            env=os.environ.copy(),
        )
        for name in ("first", "second", "third")
    ]
    assert [w.communicate(timeout=120)[0].strip() for w in writers] == ["done"] * 3
    db = open_database(path)
    assert db.execute("SELECT count(*) FROM jobs").fetchone()[0] == 120
    assert db.execute("SELECT count(*) FROM auctions").fetchone()[0] == 120
    assert db.execute("SELECT count(*) FROM executions").fetchone()[0] == 120
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


CRASHER = textwrap.dedent("""
    import os, signal, sys
    from pathlib import Path
    from sale_tui.auction import Weights
    from sale_tui.auction.events import Bid, BidReceived
    from sale_tui.memory import AuctionMemory
    memory = AuctionMemory(Path(sys.argv[1]))
    job = memory.new_job("Crash in the middle", "coding")
    auction = memory.start_auction(job, ["a", "b"], Weights(), 256)
    memory.record(auction, BidReceived(Bid("a", "original", "plan a", 2, 0.1, 0.5, "exact", 0.0)))
    print(auction, flush=True)
    os.kill(os.getpid(), signal.SIGKILL)  # no cleanup, no atexit, mid-auction
""")


def test_a_crash_between_writes_leaves_a_consistent_database(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    crashed = subprocess.run(
        [sys.executable, "-c", CRASHER, str(path)],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
    )
    assert crashed.returncode == -signal.SIGKILL
    auction_id = crashed.stdout.strip()
    db = open_database(path)
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert db.execute("PRAGMA foreign_key_check").fetchall() == []
    row = db.execute("SELECT status FROM auctions WHERE id = ?", [auction_id]).fetchone()
    assert row[0] == "running"  # inspectable: the auction and its first bid survived
    assert db.execute("SELECT agent FROM bids WHERE auction_id = ?", [auction_id]).fetchall() == [
        ("a",)
    ]


def test_a_failed_winner_is_no_winning_plan_and_pairs_keep_to_the_kind(tmp_path: Path) -> None:
    memory = AuctionMemory(tmp_path / "m.db")
    scores = {"small plan": 5.0, "big plan": 1.0}  # the jury prefers small: it wins
    run(scripted_runner(memory, scores=scores), "Fix the failing test in the date parser")
    (auction,) = memory.auctions()
    memory.record_execution(auction["id"], "small", "failure")
    # nobody's work passed: there is nothing to learn from this job
    assert memory.plan_pairs("Fix the date parser test", "small", 8) == []
    memory.record_execution(auction["id"], "large", "success")  # escalation passed
    (pair,) = memory.plan_pairs("Fix the date parser test", "small", 8, "coding")
    assert (pair.losing_agent, pair.losing_plan) == ("small", "small plan")
    assert (pair.winning_agent, pair.winning_plan) == ("large", "big plan")
    assert pair.outcome == "small failed, large passed"
    assert memory.plan_pairs("Fix the date parser test", "small", 8, "research") == []


def test_a_long_past_job_is_cut_in_its_pair(tmp_path: Path) -> None:
    memory = AuctionMemory(tmp_path / "m.db")
    long_job = "Fix the parser. " + "The parser must handle every date format. " * 40
    run(scripted_runner(memory), long_job)
    (pair,) = memory.plan_pairs("Fix the parser for every date format", "small", 8)
    assert len(pair.job) < 420 and pair.job.endswith("… (cut)")
