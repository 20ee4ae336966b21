"""Sessions of follow-ups, plan approval and project instructions: scripted models at the model
seam; the auction memory, the git repo and (where marked) the Docker sandbox are real."""

from __future__ import annotations

from pathlib import Path

import pytest

from sale_tui.config import Settings
from sale_tui.errors import RepoError, UsageError
from sale_tui.instructions import project_instructions
from sale_tui.job_events import PlanReady
from sale_tui.memory import AuctionMemory
from sale_tui.models.scripted import ScriptedModel
from sale_tui.pipeline import JobPipeline, JobRequest
from sale_tui.prompting import PromptLibrary
from sale_tui.runner import AuctionRunner
from sale_tui.sessions import pick_session, session_base, session_context
from tests.auction_helpers import bidder, role_of
from tests.sandbox_helpers import FIX, git, make_repo, tree_state

pytestmark = pytest.mark.usefixtures("with_minilm")

SUBTRACT = (
    "ACTION: view calc.py",
    "ACTION: write calc.py\n```\ndef add(a, b):\n    return a + b\n\n\n"
    "def subtract(a, b):\n    return a - b\n```",
    "ACTION: finish added subtract()",
)


def runner_for(tmp_path: Path, actions: tuple[str, ...]) -> AuctionRunner:
    """A cheap worker whose plan the jury prefers, and a pricier rival: a real auction."""
    memory = AuctionMemory(tmp_path / "memory.db")
    plan = "view calc.py, edit it, run the tests"
    judge = {plan: 5.0, "guess": 1.0}
    agents = [
        bidder("worker", 0.1, plan=plan, scores=judge, actions=actions),
        bidder("rival", 1.0, plan="guess", scores=judge),
    ]
    return AuctionRunner(Settings(), agents, memory, PromptLibrary())


def follow_up(
    runner: AuctionRunner, root: Path, text: str, *, new: bool = False, **options: object
) -> JobPipeline:
    """A job as the front ends start it: in the repo's latest session (or a new one)."""
    session_id, earlier, _ = pick_session(
        runner.memory, root, resume=None, continue_last=not new, title=text
    )
    request = JobRequest.for_repo(
        text,
        "coding",
        root,
        session_id=session_id,
        session_jobs=earlier,
        **{"with_uncommitted": False, **options},  # type: ignore[arg-type]
    )
    return JobPipeline(runner, request)


def prompts_of(runner: AuctionRunner, role: str) -> list[str]:
    model = runner.agents[0].model
    assert isinstance(model, ScriptedModel)
    return [r.prompt for r in model.requests if role_of(r) == role]


@pytest.mark.sandbox
def test_job_two_builds_on_job_ones_branch_and_sees_what_it_did(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "repo")
    runner = runner_for(tmp_path, (*FIX, *SUBTRACT))
    first = follow_up(runner, root, "Fix the bug in add()", new=True)
    assert first.request.base.startswith("master at ") or first.request.base.startswith("main at ")
    list(first.run())
    branch_one = first.apply("branch")
    before = tree_state(root)

    second = follow_up(runner, root, "Now also add a subtract() function")
    assert second.request.session_id == first.request.session_id
    assert f"branch {branch_one}" in second.request.base and "job 1's work" in second.request.base
    assert second.request.snapshot.head == git(root, "rev-parse", branch_one).strip()
    list(second.run())
    # job 1's fix was already in job 2's sandbox: job 2's diff only adds subtract()
    assert b"+def subtract" in second.patch and b"-    return a - b" not in second.patch
    # the session reached the bids and the work: the earlier request, its outcome, its diff
    for prompt in (prompts_of(runner, "bid")[-1], prompts_of(runner, "execute")[-1]):
        assert "Earlier jobs in this session" in prompt
        assert '1. "Fix the bug in add()"' in prompt and f"on branch {branch_one}" in prompt
        assert "+    return a + b" in prompt
    branch_two = second.apply("branch")
    assert git(root, "rev-parse", f"{branch_two}^").strip() == second.request.snapshot.head
    both = git(root, "show", f"{branch_two}:calc.py")
    assert "return a + b" in both and "def subtract" in both
    assert tree_state(root) == before  # branches only: the working tree is untouched
    with pytest.raises(RepoError, match="session's branch"):
        second.apply("worktree")  # job 2's patch is against job 1's commit, not the tree
    jobs = runner.memory.session_jobs(second.request.session_id or "")
    assert [j.text for j in jobs] == ["Fix the bug in add()", "Now also add a subtract() function"]
    assert jobs[1].applied_branch == branch_two and jobs[1].summary == "added subtract()"


def test_the_base_follows_where_the_accepted_work_is(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "repo")
    memory = AuctionMemory(tmp_path / "memory.db")
    session = memory.new_session(str(root), "t")
    assert session_base(root, memory.session_jobs(session)).ref == "HEAD"
    # job 1's work as a branch, recorded the way the pipeline records it
    git(root, "checkout", "-qb", "sale/one")
    (root / "calc.py").write_text("def add(a, b):\n    return a + b\n")
    git(root, "commit", "-qam", "fix")
    commit = git(root, "rev-parse", "HEAD").strip()
    git(root, "checkout", "-q", "-")
    auction = record_job(memory, root, session, "Fix add()", branch="sale/one", commit=commit)
    base = session_base(root, memory.session_jobs(session))
    assert (base.ref, base.with_uncommitted) == (commit, False)
    git(root, "merge", "-q", "--ff-only", "sale/one")  # the user merged it: HEAD holds it
    merged = session_base(root, memory.session_jobs(session))
    assert merged.ref == "HEAD" and "holds job 1's work" in merged.label
    memory.mark_undone(memory.last_application(str(root))["id"], auction)  # type: ignore[index]
    assert "job 1" not in session_base(root, memory.session_jobs(session)).label


def test_a_deleted_branch_is_gone_and_a_moved_one_is_followed(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "repo")
    memory = AuctionMemory(tmp_path / "memory.db")
    session = memory.new_session(str(root), "t")
    git(root, "checkout", "-qb", "sale/one")
    (root / "new_module.py").write_text("X = 1\n")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "job one")
    commit = git(root, "rev-parse", "HEAD").strip()
    git(root, "checkout", "-q", "-")
    record_job(memory, root, session, "Add it", branch="sale/one", commit=commit)
    git(root, "checkout", "-q", "sale/one")  # the user adds a commit of their own on it
    (root / "new_module.py").write_text("X = 2\n")
    git(root, "commit", "-qam", "mine")
    tip = git(root, "rev-parse", "HEAD").strip()
    git(root, "checkout", "-q", "-")
    moved = session_base(root, memory.session_jobs(session))
    assert moved.ref == tip and f"at {tip[:8]}" in moved.label
    request = JobRequest.for_repo(
        "More", "coding", root, with_uncommitted=None, session_jobs=memory.session_jobs(session)
    )
    assert "new_module.py" in request.repo_summary  # the summary is of the tree it works on
    git(root, "branch", "-D", "sale/one")  # discarded: its commits linger until git gc
    gone = session_base(root, memory.session_jobs(session))
    assert gone.ref == "HEAD" and "is gone" in gone.label


def test_continue_skips_a_session_whose_first_job_never_ran(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "repo")
    memory = AuctionMemory(tmp_path / "memory.db")
    real = memory.new_session(str(root), "t")
    record_job(memory, root, real, "Fix add()")
    memory.new_session(str(root), "refused at the first question")
    assert pick_session(memory, root, resume=None, continue_last=True, title="t")[0] == real


def test_the_context_fits_the_smallest_agents_window(tmp_path: Path) -> None:
    from types import SimpleNamespace

    from sale_tui.jobs import context_budget

    small = SimpleNamespace(model=SimpleNamespace(agent=SimpleNamespace(context=4096)))
    hosted = SimpleNamespace(model=SimpleNamespace(agent=SimpleNamespace(context=128_000)))
    assert context_budget([small, hosted]) == 2457 and context_budget([hosted]) == 5000
    root = make_repo(tmp_path / "repo")
    (root / "AGENTS.md").write_text("rule\n" * 2000)
    memory = AuctionMemory(tmp_path / "memory.db")
    session = memory.new_session(str(root), "t")
    for n in range(20):
        record_job(memory, root, session, f"Job {n} " + "word " * 50, verdict="rejected")
    request = JobRequest.for_repo(
        "Next",
        "coding",
        root,
        with_uncommitted=True,
        session_jobs=memory.session_jobs(session),
        context_chars=2457,
    )
    assert len(request.context) <= 2457 + 2 and "Job 19" in request.context


def test_work_applied_to_the_working_tree_is_in_the_next_snapshot(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "repo")
    memory = AuctionMemory(tmp_path / "memory.db")
    session = memory.new_session(str(root), "t")
    patch = b"".join(
        [
            b"diff --git a/calc.py b/calc.py\n--- a/calc.py\n+++ b/calc.py\n",
            b"@@ -1,2 +1,2 @@\n def add(a, b):\n-    return a - b\n+    return a + b\n",
        ]
    )
    (root / "calc.py").write_text("def add(a, b):\n    return a + b\n")  # as git apply left it
    record_job(memory, root, session, "Fix add()", patch=patch)
    base = session_base(root, memory.session_jobs(session))
    assert base.with_uncommitted is True and "job 1's uncommitted changes" in base.label
    jobs = memory.session_jobs(session)
    request = JobRequest.for_repo(
        "Add subtract()", "coding", root, with_uncommitted=None, session_jobs=jobs
    )
    assert request.snapshot.with_uncommitted and request.base_in_worktree
    head_only = JobRequest.for_repo(
        "Add subtract()", "coding", root, with_uncommitted=False, session_jobs=jobs
    )
    assert not head_only.snapshot.with_uncommitted  # an explicit --head-only is respected
    git(root, "checkout", "--", "calc.py")  # the user threw the change away
    gone = session_base(root, memory.session_jobs(session))
    assert "no longer in the tree" in gone.label and gone.with_uncommitted is None


def test_the_context_names_every_outcome_and_stays_in_its_budget(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "repo")
    memory = AuctionMemory(tmp_path / "memory.db")
    session = memory.new_session(str(root), "t")
    record_job(memory, root, session, "Fix add()", verdict="rejected", patch=b"x", answer="README")
    record_job(memory, root, session, "Where is add defined?", kind="research", answer="calc.py:1")
    for n in range(30):
        record_job(memory, root, session, f"Rename thing {n} " + "word " * 40, verdict="rejected")
    jobs = memory.session_jobs(session)
    short = session_context(jobs[:2])
    assert "rejected by the user: not in the repo" in short
    assert "README" not in short  # what a failed agent said is not passed on
    assert "Answer: calc.py:1" in short
    long = session_context(jobs, budget=1500)
    assert len(long) <= 1500 and "Rename thing 29" in long  # the newest job always stays
    assert "Fix add()" not in long  # the oldest went first


def test_pick_session_resumes_continues_or_refuses_with_the_fix(tmp_path: Path) -> None:
    root, other = make_repo(tmp_path / "a"), make_repo(tmp_path / "b")
    memory = AuctionMemory(tmp_path / "memory.db")
    first, _, new = pick_session(memory, root, resume=None, continue_last=True, title="t")
    assert new  # nothing to continue: a new session
    record_job(memory, root, first, "Fix add()")
    again, jobs, new = pick_session(memory, root, resume=None, continue_last=True, title="t")
    assert (again, [j.text for j in jobs], new) == (first, ["Fix add()"], False)
    assert pick_session(memory, root, resume=None, continue_last=False, title="t")[0] != first
    assert pick_session(memory, root, resume=first[:5], continue_last=False, title="t")[0] == first
    with pytest.raises(UsageError, match="no session 'zzz'"):
        pick_session(memory, root, resume="zzz", continue_last=False, title="t")
    with pytest.raises(UsageError, match=r"is on .*, not ") as refused:
        pick_session(memory, other, resume=first, continue_last=False, title="t")
    assert refused.value.fix == f"run it there: --repo {root}"


@pytest.mark.sandbox
def test_work_on_the_sessions_uncommitted_changes_goes_to_the_working_tree_only(
    tmp_path: Path,
) -> None:
    root = make_repo(tmp_path / "repo")
    runner = runner_for(tmp_path, (*FIX, *SUBTRACT))
    first = follow_up(runner, root, "Fix the bug in add()", new=True)
    list(first.run())
    first.apply("worktree")
    second = follow_up(runner, root, "Now also add a subtract() function", with_uncommitted=None)
    assert second.request.base_in_worktree and "uncommitted changes" in second.request.base
    list(second.run())
    with pytest.raises(RepoError, match="a branch from HEAD would not hold it"):
        second.apply("branch")
    second.apply("worktree")
    both = (root / "calc.py").read_text()
    assert "return a + b" in both and "def subtract" in both


@pytest.mark.sandbox
def test_an_edited_plan_is_what_runs_and_the_memory_keeps_both(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "repo")
    runner = runner_for(tmp_path, FIX)
    pipeline = follow_up(runner, root, "Fix add()", new=True, approve_plan=True)
    events = pipeline.run()
    for event in events:
        if isinstance(event, PlanReady):
            assert event.plan == "view calc.py, edit it, run the tests"
            assert prompts_of(runner, "execute") == []  # nothing ran before the user's word
            pipeline.decide_plan("1. open calc.py 2. make add() add")
    assert pipeline.success
    assert "1. open calc.py 2. make add() add" in prompts_of(runner, "execute")[0]
    row = runner.memory.auction(pipeline.auction_id) or {}
    assert (row["plan_status"], row["approved_plan"]) == (
        "edited",
        "1. open calc.py 2. make add() add",
    )
    bids = runner.memory.scored_bids(pipeline.auction_id)
    assert bids[0].bid.text == "view calc.py, edit it, run the tests"  # the original is kept


def test_a_rejected_plan_runs_nothing(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "repo")
    runner = runner_for(tmp_path, FIX)
    pipeline = follow_up(runner, root, "Fix add()", new=True, approve_plan=True)
    for event in pipeline.run():
        if isinstance(event, PlanReady):
            pipeline.decide_plan(None)
    assert pipeline.stopped is None and pipeline.patch == b""
    assert prompts_of(runner, "execute") == []
    assert runner.memory.executions(pipeline.auction_id) == []
    assert (runner.memory.auction(pipeline.auction_id) or {})["plan_status"] == "rejected"
    assert pipeline.finished().plan_status == "rejected"


@pytest.mark.sandbox
def test_agents_md_reaches_the_bids_the_jury_and_the_work(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "repo")
    (root / "AGENTS.md").write_text("Always use tabs in calc.py.\n")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "instructions")
    runner = runner_for(tmp_path, FIX)
    pipeline = follow_up(runner, root, "Fix add()", new=True)
    assert pipeline.request.instruction_files == ("AGENTS.md",)
    list(pipeline.run())
    for role in ("bid", "jury", "execute"):
        assert "Project instructions (AGENTS.md):\nAlways use tabs" in prompts_of(runner, role)[0]
    stored = runner.memory.db.execute("SELECT context FROM jobs").fetchone()[0]
    assert "Always use tabs" in stored  # `show` prints what the prompts got


def test_instructions_are_cut_to_the_budget_and_say_so(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    (root / ".sale-tui").mkdir(parents=True)
    (root / "AGENTS.md").write_text("rule\n" * 1000)
    (root / ".sale-tui" / "instructions.md").write_text("more rules\n")
    found = project_instructions(root, budget=100)
    assert found.cut and found.files == ("AGENTS.md",)
    assert "… (cut: AGENTS.md goes on)" in found.text and len(found.text) < 200
    assert project_instructions(tmp_path).text == ""


def record_job(
    memory: AuctionMemory,
    root: Path,
    session: str,
    text: str,
    *,
    kind: str = "coding",
    branch: str | None = None,
    commit: str | None = None,
    patch: bytes = b"",
    verdict: str = "accepted",
    answer: str = "",
) -> str:
    """A job of the session as the pipeline leaves it in the memory: auction, execution,
    verdict and (when accepted) the application."""
    from sale_tui.auction.scoring import Weights
    from sale_tui.repo import Applied

    job = memory.new_job(text, kind, str(root), session_id=session)
    auction = memory.start_auction(job, ["worker"], Weights(), 64)
    memory.db.table("auctions").update(auction, {"status": "won", "winner": "worker"})
    memory.record_execution(
        auction, "worker", "success", tests_passed=True, summary=answer, patch=patch or None
    )
    if verdict == "accepted" and kind == "coding":
        mode = "branch" if branch else "worktree"
        applied = Applied(mode, "", branch, commit)  # type: ignore[arg-type]
        memory.record_application(auction, str(root), applied, patch or b"p")
    memory.record_verdict(auction, verdict)
    return auction
