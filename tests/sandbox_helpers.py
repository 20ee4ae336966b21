"""Real throwaway git repos for sandbox and round-trip tests."""

from __future__ import annotations

import subprocess
from pathlib import Path


def git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
        cwd=root,
        check=True,
        capture_output=True,
        text=True,
    ).stdout


FIX = (
    "ACTION: view calc.py",
    "ACTION: edit calc.py\n<<<<<<< SEARCH\n    return a - b\n=======\n    return a + b\n"
    ">>>>>>> REPLACE",
    "ACTION: finish fixed add()",
)
"""A scripted agent's steps that fix ``make_repo``'s bug in add()."""


def make_repo(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "calc.py").write_text("def add(a, b):\n    return a - b\n")
    (root / "old_name.py").write_text("VALUE = 1\n" * 20)
    (root / "doomed.txt").write_text("delete me\n")
    (root / "run.sh").write_text("#!/bin/sh\necho hi\n")
    (root / "logo.bin").write_bytes(bytes(range(256)) * 4)
    (root / ".gitignore").write_text("secret.env\nbuild/\n")
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "init")
    return root


def tree_state(root: Path) -> dict[str, tuple[bytes, bool]]:
    """Every tracked-or-untracked, not-ignored file: (content, executable bit)."""
    names = git(root, "ls-files", "-co", "--exclude-standard").splitlines()
    state = {}
    for name in names:
        path = root / name
        if path.exists():
            state[name] = (path.read_bytes(), bool(path.stat().st_mode & 0o100))
    return state
