"""`sale-tui bench run`: task sets, graders (code runs in the real Docker sandbox), the
resumable outcome table, the strategies read off it and the report. Scripted models."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from sale_tui.auction import AuctionAgent
from sale_tui.benchmark import run as bench
from sale_tui.benchmark.grading import f1, final_answer, grade_answer, grade_python, program
from sale_tui.benchmark.outcomes import Attempt, OutcomeStore
from sale_tui.benchmark.report import bootstrap
from sale_tui.benchmark.strategies import route
from sale_tui.benchmark.tasks import HOTPOTQA, Task, from_jsonl, hotpotqa, humaneval, sample
from sale_tui.errors import UsageError
from sale_tui.memory import AuctionMemory
from sale_tui.models.scripted import Request, ScriptedModel
from sale_tui.sandboxes import DockerSandbox

SQUARE = Task("sq", "coding", "def square(x):\n", "short", "python",
              test="assert square(3) == 9\n", entry_point="square")  # fmt: skip
RIGHT = "```python\ndef square(x):\n    return x * x\n```"
WRONG = "```python\ndef square(x):\n    return x + x\n```"


@pytest.fixture(scope="module")
def box() -> Iterator[DockerSandbox]:
    with DockerSandbox("bench-test") as sandbox:
        yield sandbox


def test_task_sets_load_with_bins_and_sample_stably(tmp_path: Path) -> None:
    coding = humaneval()
    assert len(coding) == 164 and {t.bin for t in coding} == {"short", "medium", "long"}
    assert all(t.test.rstrip().endswith(f"check({t.entry_point})") for t in coding)
    research = hotpotqa(HOTPOTQA)
    assert len(research) == 100 and {t.bin for t in research} == {"easy", "medium", "hard"}
    assert all(len(t.context) == 994 and t.answers for t in research)  # the whole corpus
    from sale_tui.benchmark.outcomes import search

    found = search(research[0])
    assert any(p.startswith(("Lilu (mythology):", "Alû:")) for p in found), found
    mixed = sample(coding + research, 5, seed=1)
    assert [t.id for t in mixed] == [t.id for t in sample(coding + research, 5, seed=1)]
    assert sorted(t.domain for t in mixed) == ["coding"] * 5 + ["research"] * 5
    own = tmp_path / "own.jsonl"
    own.write_text(
        json.dumps({"id": "a", "prompt": "def f():\n", "test": "assert f() == 1"})
        + "\n"
        + json.dumps({"id": "b", "prompt": "Capital of France?", "answers": ["Paris"]})
        + "\n"
    )
    tasks = from_jsonl(own)
    assert [(t.domain, t.grader) for t in tasks] == [("coding", "python"), ("research", "answer")]
    own.write_text('{"prompt": "no id"}\n')
    with pytest.raises(UsageError, match=r"own\.jsonl:1"):
        from_jsonl(own)


@pytest.mark.sandbox
def test_python_grading_runs_in_the_sandbox(box: DockerSandbox) -> None:
    assert grade_python(SQUARE, RIGHT, box, "right").passed
    wrong = grade_python(SQUARE, WRONG, box, "wrong")
    assert not wrong.passed and "AssertionError" in wrong.detail
    body_only = "    return x * x\n"  # a completion without the signature
    assert "def square(x):\n    return x * x" in program(SQUARE, body_only)
    assert grade_python(SQUARE, body_only, box, "body").passed
    looping = grade_python(SQUARE, "def square(x):\n    while True: pass\n", box, "loop")
    assert not looping.passed


def test_answers_by_exact_match_and_f1() -> None:
    task = Task("q", "research", "Who?", "easy", "answer", answers=("Ada Lovelace", "Lovelace"))
    assert grade_answer(task, "Thinking...\nAnswer: ada lovelace.").passed
    partial = grade_answer(task, "Answer: Ada King, Countess of Lovelace")
    assert not partial.passed and 0 < partial.score < 1
    assert f1("the cat", "a cat") == 1.0 and f1("dog", "cat") == 0.0
    assert final_answer("a\nb\n") == "b"


def attempt(task: str, agent: str, passed: bool, cost: float, answer: str = "x") -> Attempt:
    return Attempt(task, agent, passed, float(passed), 100, cost, 1.0, f"answer: {answer}")


def test_strategies_on_one_table(tmp_path: Path) -> None:
    store = OutcomeStore(tmp_path / "outcomes.json")
    tasks = [
        SQUARE,
        Task("t2", "coding", "", "long", "python"),
        Task("t3", "coding", "", "long", "python"),
    ]
    for task, (small_ok, large_ok) in zip(
        tasks, [(True, True), (False, True), (False, False)], strict=True
    ):
        store.add(attempt(task.id, "small", small_ok, 0.001))
        store.add(attempt(task.id, "large", large_ok, 0.01))
    by_price = ["small", "large"]
    again = OutcomeStore(tmp_path / "outcomes.json")  # what a resumed run reads
    assert again.get("t2", "large") == store.get("t2", "large")
    oracle = route("oracle", tasks, by_price, again)
    assert [r.agents for r in oracle] == [("small",), ("large",), ("small",)]
    cascade = route("cascade", tasks, by_price, again)
    assert [r.agents for r in cascade] == [("small",), ("small", "large"), ("small", "large")]
    assert cascade[1].passed and cascade[1].cost_usd == pytest.approx(0.011)
    assert sum(r.passed for r in route("agent:small", tasks, by_price, again)) == 1
    assert sum(r.passed for r in route("largest", tasks, by_price, again)) == 2
    assert len(route("random", tasks, by_price, again, seed=3)) == 3
    low, high = bootstrap([True, False, True, True])
    assert 0 <= low <= 0.75 <= high <= 1


@pytest.mark.sandbox
@pytest.mark.usefixtures("with_minilm")
def test_a_run_solves_each_pair_once_resumes_and_reports(
    tmp_path: Path, box: DockerSandbox
) -> None:
    calls: list[str] = []

    def agent(name: str, price: float, reply: str) -> AuctionAgent:
        def respond(request: Request) -> str:
            calls.append(name)
            return reply

        model = ScriptedModel(name, respond, price_in=price, price_out=price)
        return AuctionAgent(name, price, model)

    agents = [agent("small", 0.1, WRONG), agent("large", 2.0, RIGHT)]
    table_only = ["agent:small", "agent:large", "largest", "random", "cascade", "oracle"]
    report = bench.run([SQUARE], agents, box, tmp_path, seed=0, strategies=table_only)
    assert sorted(calls) == ["large", "small"]
    by = {(r["group"], r["strategy"]): r for r in report["rows"]}
    assert by[("all", "agent:small")]["pass_at_1"] == 0.0
    assert (
        by[("all", "largest")]["pass_at_1"] == 1.0 and by[("all", "largest")]["largest_share"] == 1
    )
    assert by[("all", "oracle")]["cost_vs_largest"] == pytest.approx(1.0)
    assert by[("all", "cascade")]["cost_usd"] > by[("all", "largest")]["cost_usd"]
    assert by[("coding/short", "cascade")]["tasks"] == 1
    saved = json.loads((tmp_path / "results.json").read_text())
    assert saved["largest"] == "large" and saved["rows"] == report["rows"]
    bench.run([SQUARE], agents, box, tmp_path, seed=0, strategies=table_only)  # resumed
    assert len(calls) == 2  # nothing solved twice
    with_sale = bench.run([SQUARE], agents, box, tmp_path, seed=0, strategies=["sale"])
    (sale_row,) = [r for r in with_sale["rows"] if r["group"] == "all"]
    assert sale_row["strategy"] == "sale" and len(calls) > 2  # an auction ran: bids, jury
    with pytest.raises(UsageError, match="unknown strategies"):
        bench.run([SQUARE], agents, box, tmp_path, strategies=["magic"])


@pytest.mark.usefixtures("with_minilm")
def test_sale_routes_by_real_auctions_learns_outcomes_and_resumes(tmp_path: Path) -> None:
    from sale_tui.benchmark.sale import run_sale, small_wins
    from tests.auction_helpers import bidder

    judge = {"small plan": 4.0, "large plan": 3.0}  # the jury prefers the cheap agent's plan
    agents = [
        bidder("small", 0.1, plan="small plan", scores=judge),
        bidder("large", 2.0, plan="large plan", scores=judge),
    ]
    tasks = [SQUARE, Task("t2", "coding", "def g():\n", "long", "python")]
    store = OutcomeStore(tmp_path / "outcomes.json")
    for task, small_ok in ((SQUARE, True), (tasks[1], False)):
        store.add(attempt(task.id, "small", small_ok, 0.001))
        store.add(attempt(task.id, "large", True, 0.01))
    routed = run_sale("sale+memory", tasks, agents, store, tmp_path, seed=0)
    assert sorted(r.task for r in routed) == ["sq", "t2"]
    assert all(r.agents == ("small",) and r.overhead_tokens > 0 for r in routed)
    assert {r.task: r.passed for r in routed} == {"sq": True, "t2": False}  # the table's result
    memory = AuctionMemory(tmp_path / "memory-sale+memory-0.db")
    outcomes = sorted(e["status"] for a in memory.auctions() for e in memory.executions(a["id"]))
    assert outcomes == ["failure", "success"]  # what later auctions learn from
    assert small_wins(routed, "large") == [1.0, 1.0]
    calls_before = len(agents[0].model.requests)  # type: ignore[attr-defined]
    again = run_sale("sale+memory", tasks, agents, store, tmp_path, seed=0)
    assert again == routed and len(agents[0].model.requests) == calls_before  # type: ignore[attr-defined]
