"""The user's git repository: the one home of gitpython.

For now: opening a repo with clear errors, and a compact, size-bounded summary (file tree,
README head, recent commits) that bidders see instead of the whole repository.
"""

from __future__ import annotations

from pathlib import Path

import git

from sale_tui.errors import UsageError

SUMMARY_FILES = 200
SUMMARY_README_LINES = 20
SUMMARY_COMMITS = 5
SUMMARY_MAX_CHARS = 4000


def open_repo(path: Path) -> git.Repo:
    try:
        repo = git.Repo(path, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError) as exc:
        raise UsageError(
            f"{path} is not inside a git repository",
            fix="run sale-tui in a git repo, or create one with `git init`",
        ) from exc
    if not repo.head.is_valid():
        raise UsageError(
            f"the git repository at {repo.working_dir} has no commits yet",
            fix="commit something first (git add -A && git commit -m init)",
        )
    return repo


def summarize(path: Path) -> str:
    """File tree (tracked files), README head and recent commits, at most ~4,000 chars."""
    repo = open_repo(path)
    files = repo.git.ls_files().splitlines()
    lines = [f"Files ({len(files)} tracked):"]
    lines += [f"  {name}" for name in files[:SUMMARY_FILES]]
    if len(files) > SUMMARY_FILES:
        lines.append(f"  … and {len(files) - SUMMARY_FILES} more")
    readme = next(
        (
            Path(repo.working_dir) / n
            for n in files
            if n.lower() in ("readme.md", "readme.rst", "readme.txt", "readme")
        ),
        None,
    )
    if readme is not None and readme.is_file():
        head = readme.read_text(errors="replace").splitlines()[:SUMMARY_README_LINES]
        lines += ["", f"{readme.name} (first lines):", *[f"  {line}" for line in head]]
    lines += ["", "Recent commits:"]
    for commit in repo.iter_commits(max_count=SUMMARY_COMMITS):
        summary = commit.summary
        text = summary.decode(errors="replace") if isinstance(summary, bytes) else summary
        lines.append(f"  {commit.hexsha[:8]} {text}")
    text = "\n".join(lines)
    return text if len(text) <= SUMMARY_MAX_CHARS else text[: SUMMARY_MAX_CHARS - 1] + "…"
