"""Probe 3 of issue 18: a patch from the sandbox that writes a file acting on the host by itself
(sale-tui's config, git's settings and hooks, direnv, an editor's tasks) is applied only when
the user names that file. The attack replayed: a sandbox command adds ``.sale-tui.toml`` with
``network = true`` and 16 GiB, and the next sandbox would have had a network.

Real git repos and patches made by git; the real CLI with real Docker for the replay."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from sale_tui.errors import RepoError
from sale_tui.host_files import why_protected
from sale_tui.repo import apply_patch, patch_paths, snapshot
from tests.conftest import run_cli
from tests.sandbox_helpers import git, make_repo, tree_state

HOSTILE_CONFIG = '[sandbox]\nnetwork = true\nmemory = "16g"\n'

PROTECTED = (
    ".sale-tui.toml",
    "src/.sale-tui.toml",  # found when sale-tui runs from src/
    ".SALE-TUI.TOML",  # the same file on macOS and Windows
    ".gitattributes",
    ".gitmodules",
    ".github/workflows/ci.yml",
    ".husky/pre-commit",
    ".pre-commit-config.yaml",
    ".envrc",
    "ü/.envrc",  # git quotes this name in a diff header
    ".vscode/tasks.json",
)


def patch_writing(repo: Path, tmp_path: Path, files: dict[str, str]) -> bytes:
    """The patch git makes for writing ``files`` in a copy of the repo (as the sandbox does)."""
    work = tmp_path / "work"
    shutil.copytree(repo, work)
    for name, text in files.items():
        (work / name).parent.mkdir(parents=True, exist_ok=True)
        (work / name).write_text(text)
    git(work, "add", "-A")
    return git(work, "diff", "--cached", "--binary").encode()


@pytest.mark.parametrize("name", PROTECTED)
def test_a_patch_writing_a_protected_file_is_refused_until_named(tmp_path: Path, name: str) -> None:
    repo = make_repo(tmp_path / "repo")
    patch = patch_writing(
        repo, tmp_path, {"calc.py": "def add(a, b):\n    return a + b\n", name: "x\n"}
    )
    assert name in patch_paths(repo, patch)  # as git itself reads the patch
    snap = snapshot(repo)
    before = tree_state(repo)
    with pytest.raises(RepoError) as refused:
        apply_patch(repo, patch, snap, mode="worktree")
    assert name in refused.value.message and f"--allow-protected {name}" in (
        refused.value.fix or ""
    )
    assert tree_state(repo) == before  # all or nothing: calc.py is not changed either
    with pytest.raises(RepoError):
        apply_patch(repo, patch, snap, mode="branch", branch="sale/x")
    assert not git(repo, "branch", "--list", "sale/x").strip()

    apply_patch(repo, patch, snap, mode="worktree", allow_protected=[name])
    assert (repo / name).read_text() == "x\n"


@pytest.mark.parametrize("name", [".envrc", "ü/.envrc", 'odd "name"/.envrc'])
def test_renaming_a_protected_file_away_counts_too(tmp_path: Path, name: str) -> None:
    repo = make_repo(tmp_path / "repo")
    (repo / name).parent.mkdir(parents=True, exist_ok=True)
    (repo / name).write_text("export SAFE=1\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "envrc")
    work = tmp_path / "work"
    shutil.copytree(repo, work)
    git(work, "mv", name, "envrc.txt")
    patch = git(work, "diff", "--cached", "-M", "--binary").encode()
    assert b"rename from" in patch
    assert set(patch_paths(repo, patch)) == {name, "envrc.txt"}
    with pytest.raises(RepoError, match=r"\.envrc"):
        apply_patch(repo, patch, snapshot(repo), mode="worktree")


def test_ordinary_files_are_not_protected() -> None:
    for name in ("calc.py", "docs/git.md", "src/github_client.py", "envrc.txt", "vscode.py"):
        assert why_protected(name) is None, name
    assert why_protected(".github/workflows/ci.yml") is not None


@pytest.mark.sandbox
def test_the_replayed_attack_gives_the_next_sandbox_no_network(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    write_both = (
        f"printf '{HOSTILE_CONFIG}' > .sale-tui.toml && "
        "printf 'def add(a, b):\\n    return a + b\\n' > calc.py"
    )
    ran = run_cli("sandbox", "run", "--repo", str(repo), "--apply", "worktree", write_both)
    assert ran.returncode == 0, ran.stderr
    assert "left out .sale-tui.toml" in ran.stderr
    assert "--allow-protected .sale-tui.toml" in ran.stderr
    assert not (repo / ".sale-tui.toml").exists()
    assert "a + b" in (repo / "calc.py").read_text()  # the rest of the work is applied

    git(repo, "checkout", "-q", "--", "calc.py")
    ran = run_cli(
        "sandbox", "run", "--repo", str(repo), "--apply", "worktree",
        "--allow-protected", ".sale-tui.toml", write_both,
    )  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    assert (repo / ".sale-tui.toml").read_text() == HOSTILE_CONFIG
    # Applied by name, it is still a repo file nobody has trusted: the next sandbox is sealed.
    ran = run_cli("sandbox", "run", "--repo", str(repo), "--head-only", "ls /sys/class/net")
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.split()[0] == "lo" and "eth0" not in ran.stdout
    assert "not trusted" in ran.stderr


def test_quoted_names_are_listed_shown_and_left_out_as_git_reads_them(tmp_path: Path) -> None:
    from sale_tui import patches

    repo = make_repo(tmp_path / "repo")
    odd = "\x01odd/conftest.py"  # git quotes it, and sorts it first
    patch = patch_writing(repo, tmp_path, {odd: "import os\n", "ü/.envrc": "x\n", "a.py": "1\n"})
    assert b'diff --git "a/\\001odd/conftest.py"' in patch
    assert [f.path for f in patches.split(patch)] == [odd, "a.py", "ü/.envrc"]
    assert patches.preamble(patch) == b""
    kept = patches.drop(patch, ["ü/.envrc"])
    assert [f.path for f in patches.split(kept)] == [odd, "a.py"]
    apply_patch(repo, kept, snapshot(repo), mode="worktree")
    assert (repo / odd).exists() and not (repo / "ü").exists()


def test_a_header_that_renames_without_saying_so_still_counts(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    (repo / ".envrc").write_text("export SAFE=1\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "envrc")
    work = tmp_path / "work"
    shutil.copytree(repo, work)
    git(work, "mv", ".envrc", "foo")
    real = git(work, "diff", "--cached", "-M", "--binary").encode()
    bare = b"".join(
        line for line in real.splitlines(keepends=True)
        if not line.startswith((b"similarity", b"rename "))
    )  # fmt: skip
    with pytest.raises(RepoError):  # refused as protected, or as a patch git cannot read
        apply_patch(repo, bare, snapshot(repo), mode="worktree")
    assert (repo / ".envrc").exists()
