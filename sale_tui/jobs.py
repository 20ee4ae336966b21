"""Facts about a job that the front ends need before the auction: its kind and the tests."""

from __future__ import annotations

import re
from pathlib import Path

from sale_tui import repo_files

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


def infer_kind(job: str) -> str:
    """``research`` for questions about the code, ``coding`` for changes to it."""
    if _QUESTION.search(job) and not _CHANGE.match(job.strip()):
        return "research"
    return "coding"


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
