"""Probe 4 of issue 18: the host reads a repo's files (the summary every bidder and juror
receives, test-command detection) bounded in size and never through a link out of the repo.
Real git repos with the hostile links committed."""

from __future__ import annotations

import os
from pathlib import Path

from sale_tui.jobs import detect_test_command
from sale_tui.repo import summarize
from tests.sandbox_helpers import git, make_repo


def commit_all(repo: Path) -> None:
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "hostile")


def test_a_readme_linked_outside_the_repo_never_reaches_the_summary(tmp_path: Path) -> None:
    secret = tmp_path / "shadow"
    secret.write_text("root:$6$secret-hash:19000:0:99999:7:::\n")
    repo = make_repo(tmp_path / "repo")
    os.symlink(secret, repo / "README.md")
    commit_all(repo)
    summary = summarize(repo)
    assert "secret-hash" not in summary
    assert "README.md" in summary  # listed among the files, not read


def test_a_readme_linked_inside_the_repo_is_still_read(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    (repo / "docs").mkdir()
    (repo / "docs" / "intro.md").write_text("# calc\nAdds numbers.\n")
    os.symlink("docs/intro.md", repo / "README.md")
    commit_all(repo)
    assert "Adds numbers." in summarize(repo)


def test_a_huge_readme_is_read_only_in_part(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    (repo / "README.md").write_text("line\n" * 5_000_000)  # 25 MB
    commit_all(repo)
    summary = summarize(repo)
    assert summary.count("  line") == 20


def test_a_makefile_linked_to_a_device_is_not_read(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    os.symlink("/dev/zero", repo / "Makefile")
    commit_all(repo)
    assert detect_test_command(repo) is None  # before: read /dev/zero until MemoryError


def test_test_detection_does_not_walk_through_a_link_to_the_root(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    os.symlink("/", repo / "everything")
    commit_all(repo)
    assert detect_test_command(repo) is None  # before: `**` globbed the whole machine
    (repo / "tests").mkdir()
    (repo / "tests" / "test_calc.py").write_text("def test_ok():\n    pass\n")
    assert detect_test_command(repo) == "python3 -m pytest -q -p no:cacheprovider"
