"""Probe 2 of issue 18: a target that is not a work tree (a bare repo with commits, or a path
inside a repo's git directory) is refused by every command that reads or writes a repo, before
anything is written; a patch never lands in a git directory (where hooks/ would run on the host).
Real git repos, the real CLI."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.sandbox_helpers import git, make_repo


@pytest.fixture
def bare(tmp_path: Path) -> Path:
    work = make_repo(tmp_path / "work")
    target = tmp_path / "bare.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(work), str(target)], check=True)
    return target


def files_under(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


COMMANDS = (
    ("sandbox", "run", "echo x > hooks/x", "--apply", "worktree"),
    ("auction", "Fix add()"),
    ("do", "Fix add()", "--apply", "worktree", "--yes"),
)


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0])
def test_a_bare_repo_is_refused_with_the_fix_and_left_untouched(
    bare: Path, command: tuple[str, ...]
) -> None:
    before = files_under(bare)
    name, *rest = command
    result = run_cli(name, *rest[:1], "--repo", str(bare), *rest[1:])
    assert result.returncode == 2, result.stdout + result.stderr
    assert "is a bare git repository" in result.stderr
    assert "git clone" in result.stderr  # the fix
    assert len(result.stderr.strip().splitlines()) == 1
    assert files_under(bare) == before
    assert not (bare / "hooks" / "x").exists()


def test_a_path_inside_the_git_directory_is_refused(tmp_path: Path) -> None:
    work = make_repo(tmp_path / "work")
    head = git(work, "rev-parse", "HEAD")
    result = run_cli("auction", "Fix add()", "--repo", str(work / ".git" / "hooks"))
    assert result.returncode == 2
    assert "inside the git directory" in result.stderr and str(work) in result.stderr
    assert git(work, "rev-parse", "HEAD") == head
