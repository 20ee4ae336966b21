"""Project instructions: what a repo tells every agent that works on it (``AGENTS.md``, the
convention Codex CLI, aider and others read; ``CLAUDE.md``; ``.sale-tui/instructions.md``).
They reach the bids, the jury and the execution prompts, cut to a budget so that a small
model's context still holds the job, the repo summary and the plan."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sale_tui import repo_files

FILES = ("AGENTS.md", "CLAUDE.md", ".sale-tui/instructions.md")
BUDGET_CHARS = 2000
"""About 500 tokens: an eighth of a 4,096-token window, all files together."""


@dataclass(frozen=True)
class Instructions:
    files: tuple[str, ...]
    """The files whose text is in ``text``, in the order above."""
    text: str
    """Their text as the prompts get it, with a header per file; empty when there are none."""
    cut: bool
    """True when the files were longer than the budget and the text says where it was cut."""


def project_instructions(root: Path, budget: int = BUDGET_CHARS) -> Instructions:
    """The repo's instruction files (top folder only; never through a link out of the repo)."""
    found = []
    for name in FILES:
        text = repo_files.read_text(root, name)
        if text and text.strip():
            found.append((name, text.strip()))
    if not found:
        return Instructions((), "", False)
    blocks, names, left, cut = [], [], budget, False
    for name, text in found:
        if left <= 0:
            cut = True
            break
        if len(text) > left:
            text, cut = text[:left].rstrip() + f"\n… (cut: {name} goes on)", True
        blocks.append(f"Project instructions ({name}):\n{text}")
        names.append(name)
        left -= len(text)
    return Instructions(tuple(names), "\n\n".join(blocks), cut)
