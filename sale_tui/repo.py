"""The user's git repository: the one home of gitpython.

- ``open_repo`` / ``summarize``: clear errors, and the size-bounded summary bidders see.
- ``snapshot``: a tar of HEAD (``git archive``) or of HEAD plus uncommitted changes (tracked and
  untracked files that .gitignore does not exclude), which goes into the sandbox: the user's
  tree is never mounted.
- ``apply_patch``: the sandbox's ``git diff --binary`` back onto the repo, only if HEAD has not
  moved or the patch still applies cleanly; to the working tree (``git apply`` is all or
  nothing) or as a commit with trailers on a new branch, built in a temporary index so that the
  user's working tree and index are never touched.
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import tarfile
import tempfile
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import git

from sale_tui import host_files, patches, repo_files
from sale_tui.errors import RepoError, UsageError

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
    if repo.bare or repo.working_tree_dir is None:
        # A bare repo has no work tree: "applying to the worktree" would write into the git
        # directory itself (hooks/ included, which git runs on the host later).
        raise RepoError(
            f"{repo.git_dir} is a bare git repository (it has no work tree)",
            fix=f"clone it and run sale-tui in the clone: git clone {repo.git_dir} <folder>",
        )
    asked, git_dir = path.resolve(), Path(repo.git_dir).resolve()
    if asked == git_dir or git_dir in asked.parents:
        raise RepoError(
            f"{path} is inside the git directory {git_dir}, not the work tree",
            fix=f"run sale-tui in the work tree: {repo.working_tree_dir}",
        )
    if not repo.head.is_valid():
        raise UsageError(
            f"the git repository at {repo.working_dir} has no commits yet",
            fix="commit something first (git add -A && git commit -m init)",
        )
    return repo


def summarize(path: Path, ref: str = "HEAD") -> str:
    """File tree (tracked files), README head and recent commits, at most ~4,000 chars.
    ``ref``: another commit than HEAD's tree (a session's branch, which the sandbox holds)."""
    repo = open_repo(path)
    at_head = ref == "HEAD"
    files = repo.git.ls_files() if at_head else repo.git.ls_tree("-r", "--name-only", ref)
    files = files.splitlines()
    lines = [f"Files ({len(files)} tracked):"]
    lines += [f"  {name}" for name in files[:SUMMARY_FILES]]
    if len(files) > SUMMARY_FILES:
        lines.append(f"  … and {len(files) - SUMMARY_FILES} more")
    readme = next(
        (n for n in files if n.lower() in ("readme.md", "readme.rst", "readme.txt", "readme")),
        None,
    )
    # bounded, and never through a link out of the repo: this text goes to every bidder
    if readme is None:
        text = None
    elif at_head:
        text = repo_files.read_text(Path(repo.working_dir), readme)
    else:
        shown = _git(Path(repo.working_dir), "show", f"{ref}:{readme}")
        text = shown.stdout[: repo_files.READ_LIMIT_BYTES].decode(errors="replace")
    if readme is not None and text is not None:
        head = text.splitlines()[:SUMMARY_README_LINES]
        lines += ["", f"{readme} (first lines):", *[f"  {line}" for line in head]]
    lines += ["", "Recent commits:"]
    for commit in repo.iter_commits(ref, max_count=SUMMARY_COMMITS):
        summary = commit.summary
        text = summary.decode(errors="replace") if isinstance(summary, bytes) else summary
        lines.append(f"  {commit.hexsha[:8]} {text}")
    text = "\n".join(lines)
    return text if len(text) <= SUMMARY_MAX_CHARS else text[: SUMMARY_MAX_CHARS - 1] + "…"


@dataclass(frozen=True)
class Snapshot:
    root: Path
    head: str
    """HEAD's commit when the snapshot was taken."""
    tar: bytes
    files: int
    with_uncommitted: bool
    of_head: bool = True
    """False when taken at another commit (a session's branch): its work goes onto that
    commit, never onto the working tree of another one."""

    def paths(self) -> list[str]:
        """The regular files in the snapshot, relative to the repo root."""
        with tarfile.open(fileobj=io.BytesIO(self.tar)) as tar:
            return [member.name for member in tar.getmembers() if member.isfile()]


def is_dirty(path: Path) -> bool:
    return open_repo(path).is_dirty(untracked_files=True)


def snapshot(path: Path, *, with_uncommitted: bool = False, ref: str = "HEAD") -> Snapshot:
    """``ref``: another commit than HEAD (a replayed job); never with uncommitted changes."""
    repo = open_repo(path)
    root = Path(repo.working_dir)
    try:
        head = repo.commit(ref).hexsha
    except (git.BadName, ValueError) as error:
        raise RepoError(
            f"{root} has no commit {ref}", fix="fetch it, or drop the job from the task set"
        ) from error
    if not with_uncommitted:
        data = subprocess.run(
            ["git", "archive", "--format=tar", head], cwd=root, capture_output=True, check=True
        ).stdout
        count = len(repo.git.ls_tree("-r", "--name-only", head).splitlines())
        return Snapshot(root, head, data, count, False, of_head=ref == "HEAD")
    names = repo.git.ls_files("-z", "--cached", "--others", "--exclude-standard").split("\0")
    buffer = io.BytesIO()
    count = 0
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name in sorted(set(filter(None, names))):
            full = root / name
            if not full.exists() and not full.is_symlink():
                continue  # deleted in the working tree: absent from the snapshot too
            info = tar.gettarinfo(str(full), arcname=name)
            info.uid = info.gid = 1000
            info.uname = info.gname = "sandbox"
            if info.isreg():
                with full.open("rb") as handle:
                    tar.addfile(info, handle)
            else:
                tar.addfile(info)
            count += 1
    return Snapshot(root, head, buffer.getvalue(), count, True)


@dataclass(frozen=True)
class Applied:
    mode: Literal["worktree", "branch"]
    head_before: str
    branch: str | None = None
    commit: str | None = None


def _git(
    root: Path, *args: str, patch: bytes | None = None, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        ["git", *args],
        cwd=root,
        input=patch,
        capture_output=True,
        env={**os.environ, **(env or {})},
        check=False,
    )


def _first_error(result: subprocess.CompletedProcess[bytes]) -> str:
    lines = result.stderr.decode(errors="replace").strip().splitlines()
    return lines[0] if lines else f"git exited {result.returncode}"


_RENAMED_FROM = re.compile(rb"^(?:rename|copy) from (.+)$", re.MULTILINE)


def patch_paths(root: Path, patch: bytes) -> list[str]:
    """Every path ``git apply`` would write or remove for this patch, as git parses it: the
    patch comes from the sandbox, so its text is not trusted to be parsed any other way
    (quoted names, odd bytes). ``--numstat`` names a renamed file by its new path only, so the
    old one is read from the ``rename from`` line; a line that only looks like one adds a
    path to check, never hides one. Raises ``RepoError`` for a broken patch."""
    listed = _git(root, "apply", "--numstat", "-z", "--binary", "-", patch=patch)
    if listed.returncode != 0:
        raise RepoError(f"the patch is not a valid git patch ({_first_error(listed)})")
    found: dict[str, None] = {}
    for token in listed.stdout.split(b"\0"):
        counts = token.split(b"\t", 2)
        if len(counts) == 3 and counts[2]:
            found[os.fsdecode(counts[2])] = None
    for match in _RENAMED_FROM.finditer(patch):
        found[os.fsdecode(patches.unquote(match.group(1)))] = None
    for section in patches.split(patch):  # both names of every `diff --git` line, too
        for name in patches.header_paths(section.header):
            found[name] = None
    return list(found)


def commit_message(title: str, trailers: Mapping[str, str]) -> str:
    body = "\n".join(f"{key}: {value}" for key, value in trailers.items())
    return f"{title.strip().splitlines()[0][:72]}\n\n{body}\n"


def apply_patch(
    path: Path,
    patch: bytes,
    snap: Snapshot,
    *,
    mode: Literal["worktree", "branch"],
    branch: str | None = None,
    title: str = "sale-tui job",
    trailers: Mapping[str, str] | None = None,
    allow_protected: Collection[str] = (),
) -> Applied:
    """Apply the sandbox's patch, all or nothing; raises ``RepoError`` with the fix. A patch
    that writes a file that acts on the host by itself (host_files.py) is refused unless the
    user named that file in ``allow_protected``."""
    repo = open_repo(path)
    root = Path(repo.working_dir)
    if not patch.strip():
        raise RepoError("the job produced no changes", fix="nothing to apply")
    protected = host_files.protected(patch_paths(root, patch), allow_protected)
    if protected:
        first = next(iter(protected))
        raise RepoError(
            f"the patch writes {host_files.describe(protected)}: files that act on your "
            "machine by themselves, so nothing was applied",
            fix=f"read them, then allow each by name (--allow-protected {first}), "
            "or leave them out",
        )
    if mode == "worktree" and not snap.of_head:
        raise RepoError(
            f"this job's work builds on commit {snap.head[:8]} (the session's branch), not on "
            "your working tree, so nothing was applied",
            fix="apply it to a branch, or check that branch out and run the job again",
        )
    # a snapshot of another commit (a session's branch) is applied onto that commit
    head = repo.head.commit.hexsha if snap.of_head else snap.head
    moved = head != snap.head
    if mode == "worktree":
        check = _git(root, "apply", "--check", "--binary", "-", patch=patch)
        if check.returncode != 0:
            why = "HEAD moved since the snapshot and " if moved else ""
            raise RepoError(
                f"{why}the patch does not apply to the working tree ({_first_error(check)})",
                fix="commit or stash your changes, or apply to a branch instead",
            )
        applied = _git(root, "apply", "--binary", "-", patch=patch)
        if applied.returncode != 0:  # git apply is atomic: nothing was written
            raise RepoError(f"git apply failed: {_first_error(applied)}")
        return Applied("worktree", head)
    name = branch or "sale/job"
    if repo.git.branch("--list", name):
        raise RepoError(f"branch {name} already exists", fix="delete it or choose another name")
    with tempfile.TemporaryDirectory() as folder:
        env = {"GIT_INDEX_FILE": str(Path(folder) / "index")}
        steps = [("read-tree", head), ("apply", "--cached", "--binary", "-")]
        for step in steps:
            result = _git(root, *step, patch=patch if step[0] == "apply" else None, env=env)
            if result.returncode != 0:
                why = "HEAD moved since the snapshot and " if moved else ""
                raise RepoError(
                    f"{why}the patch does not apply to HEAD ({_first_error(result)})",
                    fix="apply to the working tree, or run the job again",
                )
        tree = _git(root, "write-tree", env=env).stdout.decode().strip()
        message = commit_message(title, trailers or {})
        made = _git(root, "commit-tree", tree, "-p", head, "-m", message)
        if made.returncode != 0:
            raise RepoError(
                f"could not commit: {_first_error(made)}", fix="set git user.name and user.email"
            )
        commit = made.stdout.decode().strip()
    _git(root, "branch", name, commit)
    return Applied("branch", head, branch=name, commit=commit)


def where_head_is(path: Path) -> str:
    """``master at 1a2b3c4d`` (or ``detached at …``): where a job starting now starts."""
    repo = open_repo(path)
    head = repo.head.commit.hexsha[:8]
    return f"detached HEAD {head}" if repo.head.is_detached else f"{repo.active_branch} at {head}"


def in_head_history(path: Path, commit: str) -> bool:
    """Whether HEAD's history holds ``commit`` (the user merged it, or checked it out)."""
    root = Path(open_repo(path).working_dir)
    return _git(root, "merge-base", "--is-ancestor", commit, "HEAD").returncode == 0


def branch_tip(path: Path, branch: str) -> str | None:
    """The commit ``branch`` points at now, or None when there is no such branch."""
    root = Path(open_repo(path).working_dir)
    found = _git(root, "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}^{{commit}}")
    return found.stdout.decode().strip() or None if found.returncode == 0 else None


def in_worktree(path: Path, patch: bytes) -> bool:
    """Whether the working tree still holds this applied patch (it reverses cleanly)."""
    root = Path(open_repo(path).working_dir)
    return _git(root, "apply", "-R", "--check", "--binary", "-", patch=patch).returncode == 0


def undo(path: Path, patch: bytes, applied: Applied) -> None:
    """Revert an applied job: reverse the patch in the working tree, or drop its branch."""
    repo = open_repo(path)
    root = Path(repo.working_dir)
    if applied.mode == "worktree":
        check = _git(root, "apply", "-R", "--check", "--binary", "-", patch=patch)
        if check.returncode != 0:
            raise RepoError(
                f"the job's changes were edited since; cannot undo cleanly ({_first_error(check)})",
                fix="revert the files by hand",
            )
        _git(root, "apply", "-R", "--binary", "-", patch=patch)
        return
    name = applied.branch or ""
    if not repo.head.is_detached and repo.active_branch.name == name:
        raise RepoError(f"branch {name} is checked out", fix="check out another branch first")
    tip = _git(root, "rev-parse", "--verify", "--quiet", name).stdout.decode().strip()
    if tip and tip != applied.commit:
        raise RepoError(
            f"branch {name} has new commits since the job",
            fix=f"delete it yourself: git branch -D {name}",
        )
    if tip:
        _git(root, "branch", "-D", name)
