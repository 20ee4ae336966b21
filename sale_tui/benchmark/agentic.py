"""Agentic task sets (``bench run --agentic``): each task becomes a small git repo that an agent
works on through the same loop, sandbox and verification as ``sale-tui do``.

- A HumanEval problem becomes ``solution.py`` (the stub: signature and docstring) and
  ``test_solution.py``, made of the docstring's own examples: what a user would have at run
  time. Only examples the reference solution passes are kept (checked in the sandbox), so a
  visible test never misleads. HumanEval's own tests are the hidden grade: they run after the
  work, in a fresh container holding the snapshot and the work's patch, and never reach the
  agent or the routing.
- A HotpotQA question becomes a ``docs/`` folder of its 10 paragraphs (its 2 supporting ones
  among 8 distractors), one sentence per line so answers can cite ``path:line``. The answer
  is graded by exact match and F1 against the reference, after its citations are taken out.

What a user sees (the visible tests pass; the answer's citations exist) is recorded as
``checks_passed``: the cascade escalates on that, never on the hidden grade.
"""

from __future__ import annotations

import doctest
import json
import re
import shlex
import subprocess
from dataclasses import replace
from pathlib import Path

from sale_tui.agents import AgentLimits, AgentStopped, run_agent, task_for_agent
from sale_tui.auction import AuctionAgent
from sale_tui.benchmark.grading import Grade, Runner, f1, normalise
from sale_tui.benchmark.tasks import Task, humaneval_problems
from sale_tui.config import Settings
from sale_tui.errors import RepoError
from sale_tui.jobs import detect_test_command, protected_tests, tests_written
from sale_tui.prompting import PromptLibrary
from sale_tui.repo import patch_paths, snapshot, summarize
from sale_tui.sandboxes import SandboxLimits, Workspace
from sale_tui.sandboxes.environment import SandboxEnvironment

MAX_STEPS = 12
AGENTIC = "agentic:"
"""Agentic tasks' ids: their outcomes never mix with the one-call ones in a cache."""
HIDDEN_CHECK = "/tmp/.hidden_check.py"
"""Outside the repo: the agent's container never has it, the verifying one runs it."""
_CITATION = re.compile(
    r"\(?\s*(?:see\s+)?(?<![\w/.-])(?:[\w.-]+/)*[\w.-]+\.\w+:\d+(?:-\d+)?\s*\)?[,;]?"
)
_LEAD_IN = re.compile(r"^(?:the\s+)?(?:short\s+)?answer(?:\s+is)?\s*[:\-]?\s*", re.IGNORECASE)


def _git(root: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=bench", "-c", "user.email=bench@localhost", *args],
        cwd=root,
        check=True,
        capture_output=True,
    )


def _commit(root: Path, files: dict[str, str]) -> None:
    root.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(content)
    _git(root, "init", "-q")
    _git(root, "add", "-A")
    _git(root, "commit", "-qm", "task")


def example_asserts(prompt: str, entry_point: str) -> list[str]:
    """``assert call == expected`` for each example the docstring gives: doctest ``>>>``
    lines, and the prose forms ``f(x) ➞ y``, ``f(x) == y``, ``f(x) => y``, ``f(x) -> y``."""
    found: list[str] = []
    try:
        examples = doctest.DocTestParser().get_examples(prompt)
    except ValueError:
        examples = []
    for example in examples:
        single = "\n" not in example.source.strip() + example.want.strip()
        if entry_point in example.source and example.want.strip() and single:
            found.append(f"assert {example.source.strip()} == {example.want.strip()}")
    prose = re.compile(
        rf"({re.escape(entry_point)}\(.*\))\s*(?:==|➞|=>|->|should return|returns?)\s*(.+?)\s*$"
    )
    for line in prompt.splitlines():
        match = prose.search(line.strip())
        if match and ">>>" not in line:
            # "f(x) -> 19 - 5 - 6 = 13": the worked example's result is the last part
            expected = re.split(r"\s=\s", match[2])[-1].rstrip(".")
            found.append(f"assert {match[1]} == {expected}")
    good = []
    for line in dict.fromkeys(found):
        try:
            compile(line, "<example>", "exec")
        except SyntaxError:
            continue
        good.append(line)
    return good


def _passing(asserts: list[str], program: str, box: Runner, name: str) -> list[str]:
    """The asserts the reference solution passes (run in the sandbox)."""
    checks = "\n".join(
        f"try:\n    {line}\n    print('ok', {i})\nexcept BaseException:\n    pass"
        for i, line in enumerate(asserts)
    )
    path = f"/tmp/examples_{name}.py"
    box.put_file(path, f"{program}\n\n{checks}\n".encode())
    result = box.run(f"python3 {path}", timeout_s=30)
    kept = {int(n) for n in re.findall(r"^ok (\d+)$", str(getattr(result, "output", "")), re.M)}
    return [line for i, line in enumerate(asserts) if i in kept]


def coding_repo(task: Task, canonical: str, folder: Path, box: Runner) -> Task:
    slug = re.sub(r"\W+", "_", task.id)
    root = folder / slug
    if not (root / ".git").exists():
        asserts = _passing(
            example_asserts(task.prompt, task.entry_point), task.prompt + canonical, box, slug
        )
        tests = [f"def test_example_{i}():\n    {line}\n" for i, line in enumerate(asserts, 1)]
        if not tests:  # no example to check: only that it exists (all a user would have)
            tests = [f"def test_exists():\n    assert callable({task.entry_point})\n"]
        visible = "from solution import *  # noqa: F403\n\n\n" + "\n\n".join(tests)
        stub = task.prompt.rstrip("\n") + "\n    raise NotImplementedError\n"
        _commit(root, {"solution.py": stub, "test_solution.py": visible})
    job = (
        f"Implement `{task.entry_point}` in solution.py so that it does what its docstring "
        "says; test_solution.py checks the docstring's examples."
    )
    return replace(task, id=f"{AGENTIC}{task.id}", prompt=job, grader="agentic", repo=str(root))


def _sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])", text.strip()) if s]


def research_repo(task: Task, titles: list[str], corpus: dict[str, str], folder: Path) -> Task:
    root = folder / re.sub(r"\W+", "_", task.id)
    if not (root / ".git").exists():
        files = {}
        for number, title in enumerate(titles, 1):
            slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:40] or "page"
            body = "\n".join(_sentences(corpus.get(title, "")))
            files[f"docs/{number:02d}-{slug}.md"] = f"# {title}\n\n{body}\n"
        _commit(root, files)
    return replace(task, id=f"{AGENTIC}{task.id}", grader="agentic", repo=str(root), context=())


def as_agentic(tasks: list[Task], folder: Path, box: Runner, hotpot: Path) -> list[Task]:
    """The same tasks as repos under ``folder`` (built once, then reused)."""
    problems = humaneval_problems()
    questions = {item["id"]: item for item in map(json.loads, (hotpot / "questions.jsonl").open())}
    corpus = {
        item["title"]: item["text"] for item in map(json.loads, (hotpot / "corpus.jsonl").open())
    }
    converted = []
    for task in tasks:
        if task.grader == "python" and task.id in problems:
            canonical = problems[task.id]["canonical_solution"]
            converted.append(coding_repo(task, canonical, folder, box))
        elif task.grader == "answer" and task.id in questions:
            titles = questions[task.id]["context_titles"]
            converted.append(research_repo(task, titles, corpus, folder))
        else:
            converted.append(task)  # JSONL and repo tasks are jobs already
    return converted


def _changes_tests(root: Path, patch: bytes, read_only: tuple[str, ...]) -> bool:
    if not patch.strip():
        return False
    try:
        written = patch_paths(root, patch)
    except RepoError:
        return True
    return bool(tests_written(written, read_only))


def short_answer(summary: str) -> str:
    """The answer without its citations and lead-in: what exact match is scored on."""
    text = summary.strip()[:2000]
    found = re.findall(r"answer\s*:\s*(.+)", text, flags=re.IGNORECASE)
    text = found[-1] if found else text.splitlines()[0] if text else ""
    text = _CITATION.sub(" ", text)
    text = _LEAD_IN.sub("", text.strip())
    text = re.split(r"\s+(?:\(|—|–|-\s|because|as\s|since\s)|[;:]|\.\s", text, maxsplit=1)[0]
    return text.strip(" .,;()")


def solve_agentic(
    task: Task, agent: AuctionAgent, settings: Settings | None = None
) -> tuple[Grade, bool, AgentStopped]:
    """The agent does the task as a ``do`` job (no auction: no plan); the hidden grade runs
    afterwards in a fresh container. (the grade, whether the user's checks passed, how the
    agent stopped)"""
    settings = settings or Settings()
    root = Path(task.repo)
    code = snapshot(root)
    kind = task.domain
    test_command = detect_test_command(root) if kind == "coding" else None
    roster_entry = getattr(agent.model, "agent", None)
    job = task_for_agent(
        roster_entry,
        task.prompt,
        "",  # no plan: the agent is told so
        kind,
        test_command,
        summarize(root),
        protected_tests(code.paths(), task.prompt) if kind == "coding" else (),
    )
    limits = SandboxLimits.from_config(settings.sandbox)
    image = settings.sandbox.image
    stopped: AgentStopped | None = None
    steps: list[dict[str, object]] = []
    with Workspace(code, f"agentic-{agent.name}", image, limits) as work:
        for event in run_agent(
            job, agent.model, SandboxEnvironment(work), PromptLibrary(),
            AgentLimits(max_steps=MAX_STEPS),
            native_tools=bool(getattr(roster_entry, "native_tools", False)),
        ):  # fmt: skip
            if isinstance(event, AgentStopped):
                stopped = event
            else:
                steps.append({"reply": event.reply, "observation": event.observation})
        patch = work.patch() if kind == "coding" else b""
    assert stopped is not None  # run_agent always ends with AgentStopped
    # beside the repos: what each agent did, for reading why a run failed
    transcripts = root.parent.parent / "transcripts"
    transcripts.mkdir(exist_ok=True)
    record = {"stopped": stopped.reason, "summary": stopped.summary, "steps": steps}
    (transcripts / f"{root.name}__{agent.name}.json").write_text(json.dumps(record, indent=1))
    if kind == "research":
        answer = short_answer(stopped.summary)
        exact = any(normalise(answer) == normalise(truth) for truth in task.answers)
        score = max((f1(answer, truth) for truth in task.answers), default=0.0)
        cited = bool(stopped.citations) and not stopped.bad_citations
        return Grade(exact, 1.0 if exact else score, f"answer: {answer[:120]}"), cited, stopped
    with Workspace(code, f"agentic-{agent.name}-verify", image, limits) as fresh:
        applied = fresh.apply(patch) if patch.strip() else None
        if applied is not None and not applied.ok:
            return Grade(False, 0.0, "the patch does not apply"), False, stopped
        visible = fresh.run(test_command or "true")
        changed_tests = _changes_tests(root, patch, job.read_only)
        fresh.box.put_file(  # type: ignore[union-attr]
            HIDDEN_CHECK, f"from solution import *\n\n{task.test}".encode()
        )
        hidden = fresh.run(f"PYTHONPATH=. python3 {shlex.quote(HIDDEN_CHECK)}", timeout_s=60)
    tail = hidden.output.strip().splitlines()[-1:] if not hidden.ok else []
    checks = visible.ok and not changed_tests  # as in `do`: changing the tests is no success
    return Grade(hidden.ok, float(hidden.ok), "; ".join(tail)[:200]), checks, stopped
