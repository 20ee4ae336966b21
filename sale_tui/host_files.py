"""Files that change how the user's machine runs things, which a sandbox's patch may not write
without the user's explicit say-so (issue 18, probe 3: a patch adding ``.sale-tui.toml`` with
``network = true`` gave the next sandbox a network).

Writing ordinary code is the job; these files act on the host *by themselves*, the next time
sale-tui, git, a hook manager, direnv or an editor runs in the repo, before anyone has read
them. Each rule names what the file controls, for the line that asks. The same idea as Codex
CLI keeping ``.git`` and its own config read-only in a writable workspace.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import PurePosixPath

from sale_tui.paths import REPO_CONFIG_NAME

# (what a path component matches, what it controls). Checked on every component, so
# `src/.sale-tui.toml` (found from src/) and `.github/workflows/ci.yml` both count; case-blind,
# as the file systems of macOS and Windows are.
_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(re.escape(REPO_CONFIG_NAME), re.I), "sale-tui's config"),
    # .gitignore and .gitkeep change what git shows, not what runs: ordinary work
    (re.compile(r"\.git(?!ignore$|keep$).*", re.I), "git's settings: filters, submodules, CI"),
    (re.compile(r"\.(husky|githooks|lefthook(\.ya?ml)?)", re.I), "git hooks"),
    (
        re.compile(r"lefthook(-local)?\.ya?ml|\.pre-commit-config\.yaml|\.overcommit\.yml", re.I),
        "git hooks",
    ),
    (re.compile(r"\.envrc|\.?mise\.toml", re.I), "a shell hook that runs on cd"),
    (re.compile(r"\.(vscode|idea|cursor|devcontainer)", re.I), "an editor's tasks and settings"),
    (re.compile(r"\.claude|\.mcp\.json", re.I), "a coding agent's hooks and tools"),
)


def why_protected(path: str) -> str | None:
    """What ``path`` controls on the host, or None for an ordinary file."""
    for part in PurePosixPath(path).parts:
        for pattern, what in _RULES:
            if pattern.fullmatch(part):
                return what
    return None


def protected(paths: Iterable[str], allowed: Iterable[str] = ()) -> dict[str, str]:
    """Those of ``paths`` (a patch's, as git lists them) that are protected and that the user
    has not allowed by name, with what each controls."""
    allow = set(allowed)
    return {
        path: why
        for path in paths
        if path not in allow and (why := why_protected(path)) is not None
    }


def describe(found: dict[str, str]) -> str:
    """``.sale-tui.toml (sale-tui's config), .envrc (direnv, …)`` for a one-line message."""
    return ", ".join(f"{path} ({why})" for path, why in found.items())
