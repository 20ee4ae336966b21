"""Undo the last job applied to a repo, for ``sale-tui undo`` and the TUI's undo command."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sale_tui.errors import UsageError
from sale_tui.repo import Applied, open_repo, undo

if TYPE_CHECKING:
    from sale_tui.memory import AuctionMemory


def undo_last(memory: AuctionMemory, repo: Path) -> str:
    """Revert the repo's last applied (not undone) job and record it as negative feedback;
    returns what was done, in words. A ``RepoError`` says why it cannot be undone cleanly."""
    root = str(Path(open_repo(repo.resolve()).working_dir))
    last = memory.last_application(root)
    if last is None:
        raise UsageError(f"no applied job to undo in {root}", fix="see `sale-tui history`")
    applied = Applied(last["mode"], last["head_before"], last["branch"], last["commit_sha"])
    undo(Path(root), last["patch"], applied)
    memory.mark_undone(last["id"], last["auction_id"])
    where = (
        f"branch {applied.branch} deleted" if applied.mode == "branch" else "working tree restored"
    )
    return f"undone: auction {last['auction_id']} ({where}); recorded as negative feedback"
