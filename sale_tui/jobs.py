"""Facts about a job that the front ends need before the auction: its kind and the tests."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sale_tui import repo_files
from sale_tui.errors import UsageError

_QUESTION = re.compile(
    r"^\s*(where|what|why|how|which|who|when|does|do|is|are|can|explain|describe|summari[sz]e|"
    r"list|find out|tell me)\b|\?\s*$",
    re.IGNORECASE,
)
_CHANGE = re.compile(
    r"\b(fix|add|implement|change|refactor|rename|remove|delete|update|write|create|make|"
    r"replace|convert|support|optimi[sz]e|speed up)\b",
    re.IGNORECASE,
)


MAX_JOB_BYTES = 32_000
"""The longest job text: every bid, every juror and every refinement reads it whole (a 120 KB
job billed 770,000 auction tokens), and it must leave the smaller agents' context room to plan.
Longer detail belongs in a file of the repo, named in the job."""


def job_problem(text: str, largest_context: int | None = None) -> UsageError | None:
    """Why ``text`` cannot be a job (with the fix), or None. With ``largest_context`` (tokens,
    the roster's largest window), a job may also take at most a quarter of it: the rest is
    the prompt, the repo summary, past plans and the bid itself."""
    if not text.strip():
        return UsageError("the job is empty", fix='say what to do, e.g. "Fix the failing test"')
    size = len(text.encode("utf-8", errors="replace"))
    tokens = size // 4  # the usual estimate for English and code
    fix = "put the detail in a file of the repo and name that file in the job"
    if size > MAX_JOB_BYTES:
        return UsageError(
            f"the job is {size // 1000} KB (about {tokens:,} tokens), over the "
            f"{MAX_JOB_BYTES // 1000} KB a job may be: every bid and every juror reads it whole",
            fix=fix,
        )
    if largest_context and tokens > largest_context // 4:
        return UsageError(
            f"the job is about {tokens:,} tokens, over a quarter of the largest context among "
            f"the agents ({largest_context:,} tokens): no agent would have room to plan",
            fix=fix + ", or add an agent with a larger context",
        )
    return None


def job_problem_for(text: str, agents: Iterable[Any]) -> UsageError | None:
    """``job_problem`` against the context windows of these auction agents (the runner's)."""
    windows = [getattr(getattr(a.model, "agent", None), "context", None) for a in agents]
    return job_problem(text, max((w for w in windows if w), default=None))


MAX_CONTEXT_CHARS = 5000
"""Project instructions and the session so far, together, at most (2,000 + 3,000)."""
CONTEXT_SHARE = 0.2
"""Of the smallest agent's window: the repo summary, the job, the plans and the steps need the
rest (at ~3 characters per token, as code and diffs run)."""


def context_budget(agents: Iterable[Any]) -> int:
    """Characters the instructions and the session may take in every prompt: a fifth of the
    smallest known context window (2,457 for a 4,096-token local model), at most 5,000."""
    windows = [getattr(getattr(a.model, "agent", None), "context", None) for a in agents]
    known = [w for w in windows if w]
    if not known:
        return MAX_CONTEXT_CHARS
    return min(MAX_CONTEXT_CHARS, int(min(known) * CONTEXT_SHARE * 3))


def infer_kind(job: str) -> str:
    """``research`` for questions about the code, ``coding`` for changes to it."""
    if _QUESTION.search(job) and not _CHANGE.match(job.strip()):
        return "research"
    return "coding"


# Tests as the object of the work ("add tests for …", "fix the test for …", "edit
# test_api.py"), not as its measure ("so the tests pass", "fix the failing test"): only the
# first kind may change them.
_TEST_JOB = re.compile(
    r"\b(add|write|create|update|change|rewrite|edit|fix|remove|delete|rename|refactor|extend|"
    r"correct|improve)\s+(?:(?:a|an|the|some|more|new|unit|missing|existing|these|those|its|"
    r"our|my|this)\s+){0,3}(tests?|specs?|test\s+cases?|test\s+suite|test_\w+\.py|\w+_test\.py|"
    r"conftest\.py)\b(?!\s+(?:pass|passes|passing)\b)",
    re.IGNORECASE,
)
COLLECTION_CONFIG = ("conftest.py", "pytest.ini")
"""Files that decide which tests run and how: a patch may not add or change them either."""


def is_test_file(path: Path) -> bool:
    """A file that decides whether tests pass: test modules, conftest.py, anything in a
    tests/ or test/ folder."""
    name = path.name
    return (
        (name.startswith("test_") and name.endswith(".py"))
        or name.endswith("_test.py")
        or name == "conftest.py"
        or any(part in ("tests", "test") for part in path.parts[:-1])
    )


def is_about_tests(job: str) -> bool:
    """Whether the job asks for work on the tests themselves (then they are not protected)."""
    return _TEST_JOB.search(job[:MAX_JOB_BYTES]) is not None


def protected_tests(paths: Iterable[str], job: str) -> tuple[str, ...]:
    """Of the snapshot's ``paths``, the test files an agent may not change for this job: all
    of them, unless the job asks for work on tests (then none: the user reviews the patch)."""
    if is_about_tests(job):
        return ()
    return tuple(sorted(p for p in paths if is_test_file(Path(p))))


def tests_written(written: Iterable[str], read_only: Iterable[str]) -> tuple[str, ...]:
    """Of the paths a patch writes, those that change the job's tests: a read-only test file,
    or test-collection config (a new conftest.py can skip every test)."""
    protected = set(read_only)
    return tuple(p for p in written if p in protected or Path(p).name in COLLECTION_CONFIG)


def detect_test_command(root: Path) -> str | None:
    """How to run the repo's tests inside the sandbox, or None when there are none to find."""
    files = list(repo_files.walk(root))
    has_python_tests = any(
        (f.name.startswith("test_") and f.suffix == ".py" and f.parts[0] in (f.name, "tests"))
        or f.name.endswith("_test.py")
        for f in files
    )
    if has_python_tests or Path("pytest.ini") in files:
        return "python3 -m pytest -q -p no:cacheprovider"
    makefile = repo_files.read_text(root, "Makefile")
    if makefile is not None and "\ntest:" in makefile:
        return "make test"
    return None
