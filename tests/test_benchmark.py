"""`sale-tui bench run`: task sets, graders (code runs in the real Docker sandbox), the
resumable outcome table, the strategies read off it and the report. Scripted models."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from sale_tui.auction import AuctionAgent
from sale_tui.benchmark import run as bench
from sale_tui.benchmark.grading import f1, final_answer, grade_answer, grade_python, program
from sale_tui.benchmark.outcomes import Attempt, OutcomeStore
from sale_tui.benchmark.plots import plot
from sale_tui.benchmark.report import bootstrap, rows
from sale_tui.benchmark.strategies import route
from sale_tui.benchmark.tasks import HOTPOTQA, Task, from_jsonl, hotpotqa, humaneval, split
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
    own = tmp_path / "own.jsonl"
    own.write_text(
        json.dumps({"id": "a", "prompt": "def f():\n", "test": "assert f() == 1"})
        + "\n"
        + json.dumps({"id": "b", "prompt": "Capital of France?", "answers": ["Paris"]})
        + "\n"
    )
    tasks = from_jsonl(own)
    assert [(t.domain, t.grader) for t in tasks] == [("coding", "python"), ("research", "answer")]
    own.write_text('{"id": "r", "prompt": "Fix it", "grader": "repo", "repo": "/src/app"}\n')
    with pytest.raises(UsageError, match="test_command"):
        from_jsonl(own)  # a repo task needs its test command to be graded
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
    both = bench.run([SQUARE], agents, box, tmp_path, strategies=[*table_only, "sale"])
    pictures = plot(both, tmp_path)
    assert [p.name for p in pictures] == [
        "pass_vs_cost.svg", "pass_vs_cost.png", "small_wins.svg", "small_wins.png"
    ]  # fmt: skip
    drawn = (tmp_path / "pass_vs_cost.svg").read_text()
    assert all(name in drawn for name in ("oracle", "cascade", "sale", "coding (1 tasks)"))
    assert (tmp_path / "small_wins.png").read_bytes().startswith(b"\x89PNG")
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
    routed = run_sale("sale+memory", tasks, agents, store, tmp_path, orders=[0])
    assert sorted(r.task for r in routed) == ["sq", "t2"]
    assert all(r.overhead_tokens > 0 for r in routed)
    # the table's results; the small agent's failure escalates to the large one, as in `do`
    assert {r.task: (r.agents, r.passed) for r in routed} == {
        "sq": (("small",), True),
        "t2": (("small", "large"), True),
    }
    t2 = next(r for r in routed if r.task == "t2")
    assert t2.cost_usd == pytest.approx(0.011) and t2.tokens == 200  # both attempts paid for
    memory = AuctionMemory(tmp_path / "memory-sale+memory-0.db")
    outcomes = sorted(
        (e["agent"], e["status"]) for a in memory.auctions() for e in memory.executions(a["id"])
    )
    # what later auctions learn from, the escalation's outcome included
    assert outcomes == [("large", "success"), ("small", "failure"), ("small", "success")]
    assert small_wins(routed, "large") == {"0": [1.0, 1.0]}
    calls_before = len(agents[0].model.requests)  # type: ignore[attr-defined]
    again = run_sale("sale+memory", tasks, agents, store, tmp_path, orders=[0])
    assert again == routed and len(agents[0].model.requests) == calls_before  # type: ignore[attr-defined]
    two = run_sale("sale+memory", tasks, agents, store, tmp_path, orders=[0, 1])
    assert [r.order for r in two] == [0, 0, 1, 1]  # each order a whole stream
    assert (tmp_path / "memory-sale+memory-1.db").exists()  # with its own memory
    assert set(small_wins(two, "large")) == {"0", "1"}
    # each task counts once in the report, with its mean over the orders
    mixed = [
        replace(two[0], passed=True, score=1.0),
        replace(two[2], task=two[0].task, passed=False, score=0.0),
    ]
    (row,) = [r for r in rows({"sale+memory": mixed}, [SQUARE], "large") if r.group == "all"]
    assert row.tasks == 1 and row.pass_at_1 == 0.5 and row.mean_score == 0.5


@pytest.mark.usefixtures("with_minilm")
def test_with_training_tasks_sale_fits_its_weights_there_and_freezes_them(
    tmp_path: Path,
) -> None:
    from sale_tui.benchmark.sale import fit_on_training, run_sale
    from tests.auction_helpers import bidder

    # long plans: the large agent's costs it far more than the jury's preference gives back
    small_plan, large_plan = (" ".join(f"{who}{i}" for i in range(100)) for who in "sl")
    judge = {small_plan: 3.0, large_plan: 4.0}
    agents = [
        bidder("small", 0.1, plan=small_plan, scores=judge),
        bidder("large", 2.0, plan=large_plan, scores=judge),
    ]
    train = [Task(f"tr{i}", "coding", f"def f{i}(x):\n", "short", "python") for i in range(5)]
    test = [Task("te", "coding", "def g(x):\n", "short", "python")]
    store = OutcomeStore(tmp_path / "outcomes.json")
    for task in [*train, *test]:  # the small agent never succeeds, the large one always
        store.add(attempt(task.id, "small", False, 0.001))
        store.add(attempt(task.id, "large", True, 0.01))
    for folder in ("default", "fitted"):
        (tmp_path / folder).mkdir()
    (before,) = run_sale("sale", test, agents, store, tmp_path / "default", orders=[0])
    assert before.agents[0] == "small"  # the configured weights: cost decides (then escalates)
    weights, summary = fit_on_training(train, agents, store, tmp_path / "fitted")
    assert weights is not None
    assert summary["auctions"] == 5 and int(str(summary["tokens"])) > 0
    # the training auctions' track records already favour large after the first task
    assert float(str(summary["train_accuracy_before"])) < 1.0
    assert summary["train_accuracy_after"] == 1.0
    (after,) = run_sale(
        "sale", test, agents, store, tmp_path / "fitted", orders=[0], weights=weights
    )
    assert after.agents == ("large",)  # frozen weights from the training split
    memory = AuctionMemory(tmp_path / "fitted" / "memory-sale-0.db")
    assert memory.latest_fitted_weights() == replace(weights, memory=0.0)  # the paper's value


def test_split_keeps_training_tasks_out_of_the_test_stream() -> None:
    tasks = humaneval() + hotpotqa(HOTPOTQA)
    test, train = split(tasks, 5, 7, seed=2)
    assert sorted(t.domain for t in test) == ["coding"] * 5 + ["research"] * 5
    assert len(train) == 14 and not {t.id for t in test} & {t.id for t in train}
    assert (test, train) == split(tasks, 5, 7, seed=2)  # stable, so a run resumes
    assert split(tasks, 5, 7, seed=3)[0] != test
    every, none = split(tasks, None, 3, seed=0)
    assert len(every) == len(tasks) and none == []


def test_trained_routers_send_each_kind_of_task_to_the_agent_that_solves_it(
    tmp_path: Path,
) -> None:
    from sale_tui.benchmark.routers import pick, route_trained

    store = OutcomeStore(tmp_path / "outcomes.json")
    words = {"string": "reverse the string and join the words of the text",
             "math": "compute the prime factors and the modulo of the integer sum"}  # fmt: skip

    def tasks(kind: str, start: int, count: int) -> list[Task]:
        made = []
        for i in range(start, start + count):
            task = Task(f"{kind}{i}", "coding", f"{words[kind]} case {i}", "short", "python")
            store.add(attempt(task.id, "small", kind == "string", 0.001))
            store.add(attempt(task.id, "large", True, 0.01))
            made.append(task)
        return made

    train = tasks("string", 0, 6) + tasks("math", 0, 6)
    test = tasks("string", 10, 3) + tasks("math", 10, 3)
    for router in ("knn", "classifier"):
        routed = route_trained(router, train, test, ["small", "large"], store)
        chosen = {r.task: r.agents[0] for r in routed}
        assert chosen == {t.id: "small" if t.id.startswith("string") else "large" for t in test}
        assert all(r.passed and r.overhead_tokens == 0 for r in routed)
    assert pick([0.2, 0.7, 0.9]) == 1  # the cheapest likely one
    assert pick([0.0, 0.0, 0.0]) == 2  # nothing likely: the biggest
    assert pick([0.4, 0.1, 0.4]) == 2  # ties go to the dearer


@pytest.mark.sandbox
def test_routers_need_training_tasks(tmp_path: Path, box: DockerSandbox) -> None:
    agents = [AuctionAgent("a", 1.0, ScriptedModel("a", lambda r: RIGHT))]
    with pytest.raises(UsageError, match="unknown strategies: knn") as raised:
        bench.run([SQUARE], agents, box, tmp_path, strategies=["knn"])
    assert "--train" in (raised.value.fix or "")


def test_the_call_cache_replays_deterministic_calls_with_their_cost(tmp_path: Path) -> None:
    from sale_tui.benchmark.call_cache import CallCache

    model = ScriptedModel("a", lambda request: f"reply {len(model.requests)}", price_in=1.0)
    (agent,) = CallCache(tmp_path / "calls.db").wrap([AuctionAgent("a", 1.0, model)])
    ask = [{"role": "user", "content": "plan?"}]
    first = agent.model.complete(ask, temperature=0.0, max_tokens=5)
    again = agent.model.complete(ask, temperature=0.0, max_tokens=5)
    assert again == first and len(model.requests) == 1  # replayed, usage and $ included
    assert first.cost_usd > 0
    agent.model.complete(ask, temperature=0.0, max_tokens=6)  # other settings: a new call
    agent.model.complete(ask, temperature=0.7, max_tokens=5)  # not deterministic: never cached
    agent.model.complete(ask, temperature=0.7, max_tokens=5)
    assert len(model.requests) == 4
    (reopened,) = CallCache(tmp_path / "calls.db").wrap([AuctionAgent("a", 1.0, model)])
    assert reopened.model.complete(ask, temperature=0.0, max_tokens=5) == first  # a resumed run
    assert len(model.requests) == 4


@pytest.mark.sandbox
@pytest.mark.usefixtures("with_minilm")
def test_past_jobs_are_replayed_as_real_jobs_at_their_own_commit(
    tmp_path: Path, box: DockerSandbox
) -> None:
    from sale_tui.auction import Weights
    from sale_tui.benchmark.replay import past_jobs
    from tests.auction_helpers import bidder
    from tests.sandbox_helpers import FIX, git, make_repo, tree_state

    repo = make_repo(tmp_path / "repo")
    (repo / "test_calc.py").write_text(
        "import calc\n\ndef test_add():\n    assert calc.add(2, 3) == 5\n"
    )
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "a test that fails")
    buggy = git(repo, "rev-parse", "HEAD").strip()
    memory = AuctionMemory(tmp_path / "memory.db")
    for text, kind, executed in (
        ("Fix add()", "coding", True),
        ("Fix add()", "coding", True),  # asked twice: replayed once
        ("Only auctioned", "coding", False),
        ("Where is add defined?", "research", True),
    ):
        auction = memory.start_auction(
            memory.new_job(text, kind, str(repo), buggy), ["w"], Weights(), 100
        )
        if executed:
            memory.record_execution(auction, "w", "failure")
    (repo / "calc.py").write_text("def add(a, b):\n    return a + b\n")  # fixed since
    git(repo, "commit", "-qam", "fixed by hand")
    before = tree_state(repo)
    (task,) = past_jobs(memory)
    assert (task.prompt, task.grader, task.commit) == ("Fix add()", "repo", buggy)
    assert "pytest" in task.test_command
    agents = [bidder("lazy", 0.1), bidder("fixer", 1.0, actions=FIX)]
    report = bench.run(
        [task], agents, box, tmp_path / "out", strategies=["agent:lazy", "agent:fixer", "oracle"]
    )
    passed = {r["strategy"]: r["pass_at_1"] for r in report["rows"] if r["group"] == "all"}
    assert passed == {"agent:lazy": 0.0, "agent:fixer": 1.0, "oracle": 1.0}  # the old bug
    assert tree_state(repo) == before  # replays never touch the repo


@pytest.mark.usefixtures("with_minilm")
def test_sale_learned_stops_auctioning_once_the_memory_is_sure(tmp_path: Path) -> None:
    """The small agent passes every similar job for a tenth of the large one's cost: after
    enough of them the stream routes without bids (no overhead), and still escalates when the
    small agent's check fails."""
    from sale_tui.benchmark.sale import run_sale
    from sale_tui.config import Settings
    from tests.auction_helpers import bidder

    agents = [bidder("small", 0.1), bidder("large", 2.0)]
    tasks = [
        Task(f"t{i}", "coding", f"def add_{i}(a, b):\n    '''Add two numbers.'''\n", "s", "python")
        for i in range(12)
    ]
    store = OutcomeStore(tmp_path / "outcomes.json")
    for task in tasks:
        store.add(attempt(task.id, "small", task.id != "t11", 0.001))  # t11: it fails
        store.add(attempt(task.id, "large", True, 0.01))
    settings = Settings.model_validate({"auction": {"explore": 0.0}})
    routed = run_sale("sale+learned", tasks, agents, store, tmp_path, orders=[0], settings=settings)
    cache = json.loads((tmp_path / "auctions-sale+learned-0.json").read_text())
    by_memory = [task for task, done in cache.items() if done["routed"]]
    assert 0 < len(by_memory) < len(tasks)  # auctions first, then the memory decides
    assert all(cache[t]["tokens"] == 0 for t in by_memory)
    assert all(item.overhead_tokens == 0 for item in routed if item.task in by_memory)
    assert all(item.agents[0] == "small" for item in routed)
    failed = next(item for item in routed if item.task == "t11")
    assert failed.agents == ("small", "large") and failed.passed  # escalated
    # the paper's sale+memory on the same stream auctions every task
    paper = run_sale("sale+memory", tasks, agents, store, tmp_path, orders=[0], settings=settings)
    assert all(item.overhead_tokens > 0 for item in paper)


@pytest.mark.usefixtures("with_minilm")
def test_sale_refit_refits_the_weights_along_the_stream(tmp_path: Path) -> None:
    """``sale+refit`` is ``sale+learned`` with ``do``'s automatic refit: every
    ``refit_every`` outcomes the stream's memory gets a fit, adopted or kept as a record."""
    from sale_tui.benchmark.sale import run_sale
    from sale_tui.config import Settings
    from tests.auction_helpers import bidder

    agents = [bidder("small", 0.1), bidder("large", 2.0)]
    tasks = [
        Task(
            f"t{i}", "coding", f"def sub_{i}(a, b):\n    '''Subtract b from a.'''\n", "s", "python"
        )
        for i in range(12)
    ]
    store = OutcomeStore(tmp_path / "outcomes.json")
    for task in tasks:
        store.add(attempt(task.id, "small", int(task.id[1:]) % 3 != 0, 0.001))
        store.add(attempt(task.id, "large", True, 0.01))
    settings = Settings.model_validate(
        {"auction": {"explore": 1.0, "mode": "always", "refit_every": 4}}
    )
    routed = run_sale("sale+refit", tasks, agents, store, tmp_path, orders=[0], settings=settings)
    assert len(routed) == len(tasks)
    cache = json.loads((tmp_path / "auctions-sale+refit-0.json").read_text())
    refits = [done["refit"] for done in cache.values() if done["refit"]]
    assert refits and all(r["outcomes"] >= 4 for r in refits)
    memory = AuctionMemory(tmp_path / "memory-sale+refit-0.db")
    fit = memory.latest_fit()
    assert fit is not None and fit.trigger == "auto" and fit.adopted == refits[-1]["adopted"]
