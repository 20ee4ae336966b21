"""Execution rows: a winner's work from its start to its end, the user's verdict on it, and
closing the rows of a run whose process was killed outright; mixed into ``AuctionMemory``."""

from __future__ import annotations

import os

import sqlite_utils

from sale_tui.memory.db import now
from sale_tui.protocols import Usage

PATCH_LIMIT_BYTES = 200_000
"""A bigger diff is kept cut (the applied patch is kept whole, in ``applications``)."""


class ExecutionRecords:
    db: sqlite_utils.Database

    def start_execution(self, auction_id: str, agent: str) -> int:
        """An execution begins: its row says ``running`` until ``record_execution`` ends it,
        so a run killed outright (SIGKILL, a lost machine) is found by ``reconcile``."""
        table = self.db.table("executions")
        table.insert(
            {"auction_id": auction_id, "agent": agent, "started_at": now(), "status": "running"}
        )
        return int(table.last_pk or 0)

    def record_execution(
        self,
        auction_id: str,
        agent: str,
        status: str,
        *,
        tests_passed: bool | None = None,
        tokens: int = 0,
        cost_usd: float = 0.0,
        detail: str = "",
        summary: str = "",
        patch: bytes | None = None,
        usage: Usage | None = None,
    ) -> int:
        """How an execution ended: fills in its ``running`` row, or adds one. ``summary``: the
        agent's own (its answer, for research); ``patch``: the work's diff; ``usage``: its
        tokens split into prompt, cached and generated (None: not known)."""
        table = self.db.table("executions")
        values = {
            "finished_at": now(),
            "status": status,
            "tests_passed": None if tests_passed is None else int(tests_passed),
            "tokens": tokens,
            "cost_usd": cost_usd,
            "detail": detail,
            "summary": summary,
            "patch": patch[:PATCH_LIMIT_BYTES] if patch else None,
            "prompt_tokens": usage.prompt_tokens if usage else None,
            "cached_tokens": usage.cached_tokens if usage else None,
            "generated_tokens": usage.completion_tokens if usage else None,
        }
        running = self.db.execute(
            "SELECT max(id) FROM executions WHERE auction_id = ? AND agent = ? "
            "AND status = 'running'",
            [auction_id, agent],
        ).fetchone()[0]
        if running is not None:
            table.update(running, values)
            return int(running)
        table.insert({"auction_id": auction_id, "agent": agent, "started_at": now(), **values})
        return int(table.last_pk or 0)

    def record_verdict(self, auction_id: str, verdict: str) -> None:
        """The user's verdict on the winner's work: accepted, rejected or undone."""
        self.db.execute(
            "UPDATE executions SET verdict = ? WHERE id = (SELECT max(id) FROM executions "
            "WHERE auction_id = ?)",
            [verdict, auction_id],
        )

    def reconcile(self) -> int:
        """Close the rows of runs whose sale-tui process is gone (killed outright, it could
        not say so): a ``running`` auction or execution becomes ``interrupted``. Returns how
        many rows changed."""
        rows = self.db.execute(
            "SELECT DISTINCT a.id, a.pid FROM auctions a LEFT JOIN executions e "
            "ON e.auction_id = a.id WHERE a.status = 'running' OR e.status = 'running'"
        ).fetchall()
        changed = 0
        for auction_id, pid in rows:
            if pid is None or pid == os.getpid() or _process_alive(pid):
                continue
            why = f"its sale-tui process ({pid}) ended without finishing (killed?)"
            with self.db.conn:
                changed += self.db.execute(
                    "UPDATE auctions SET status = 'interrupted', reason = ?, finished_at = ? "
                    "WHERE id = ? AND status = 'running'",
                    [why, now(), auction_id],
                ).rowcount
                changed += self.db.execute(
                    "UPDATE executions SET status = 'interrupted', detail = ?, finished_at = ? "
                    "WHERE auction_id = ? AND status = 'running'",
                    [why, now(), auction_id],
                ).rowcount
        return changed


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except PermissionError:
        return True  # another user's process has the pid now: leave the row alone
    except OSError:
        return False
    return True
