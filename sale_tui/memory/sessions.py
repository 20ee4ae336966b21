"""Sessions: threads of jobs on one repo, each job's outcome as a later job of the session is
told it; mixed into ``AuctionMemory``. What a session's next job starts from and sees is
decided in ``sale_tui/sessions.py`` from these rows."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import sqlite_utils

from sale_tui.memory.db import now


@dataclass(frozen=True)
class SessionJob:
    """One job of a session, with its last execution and its last application."""

    job_id: str
    auction_id: str | None
    text: str
    kind: str
    created_at: str
    winner: str | None
    auction_status: str | None
    """``won``, ``failed``, ``interrupted`` or ``running``; None: no auction was stored."""
    agent: str | None
    """Who did the work: the winner, or the last agent escalated to."""
    status: str | None
    """The execution's ``success``, ``failure``, ``interrupted`` or ``error``; None: none ran."""
    verdict: str | None
    """The user's: ``accepted``, ``rejected`` or ``undone``."""
    tests_passed: bool | None
    summary: str
    """The agent's own summary (coding) or its answer (research)."""
    patch: bytes
    """The work's diff: what was applied, else what the execution produced."""
    applied_mode: str | None
    """``worktree`` or ``branch`` when the work reached the repo and was not undone."""
    applied_branch: str | None
    applied_commit: str | None
    plan_status: str | None

    @property
    def outcome(self) -> str:
        """What a user calls it: the verdict, else the execution's status, else the auction's."""
        return self.verdict or self.status or self.auction_status or "not run"


_JOBS = """
SELECT j.id, a.id, j.text, j.kind, j.created_at, a.winner, a.status, e.agent, e.status,
       e.verdict, e.tests_passed, coalesce(e.summary, ''), p.patch, e.patch, p.mode, p.branch,
       p.commit_sha, a.plan_status
FROM jobs j
LEFT JOIN auctions a ON a.job_id = j.id
LEFT JOIN executions e ON e.id = (SELECT max(id) FROM executions WHERE auction_id = a.id)
LEFT JOIN applications p ON p.id = (
    SELECT max(id) FROM applications WHERE auction_id = a.id AND undone_at IS NULL)
WHERE j.session_id = ?
ORDER BY j.created_at, j.rowid
"""

_SUMMARY = """
SELECT s.id, s.repo, s.title, s.created_at, count(j.id) AS jobs,
       coalesce(max(j.created_at), s.created_at) AS last_at
FROM sessions s LEFT JOIN jobs j ON j.session_id = s.id
"""


class SessionRecords:
    db: sqlite_utils.Database

    def new_session(self, repo: str, title: str) -> str:
        from sale_tui.memory.store import new_id

        session_id = new_id()
        self.db.table("sessions").insert(
            {"id": session_id, "repo": repo, "created_at": now(), "title": title[:200]}
        )
        return session_id

    def sessions(
        self, repo: str | None = None, limit: int = 20, *, with_jobs: bool = False
    ) -> list[dict[str, Any]]:
        """Sessions newest activity first: id, repo, title (the first request), created_at,
        the number of jobs and when the last one began. ``with_jobs``: leave out sessions
        whose first job never got stored (refused, or Ctrl-C at a question)."""
        where, params = ("WHERE s.repo = ?", [repo]) if repo else ("", [])
        having = "HAVING count(j.id) > 0" if with_jobs else ""
        return [
            dict(row)
            for row in self.db.query(
                f"{_SUMMARY} {where} GROUP BY s.id {having} "
                "ORDER BY last_at DESC, s.rowid DESC LIMIT ?",
                [*params, limit],
            )
        ]

    def session(self, ref: str) -> dict[str, Any] | None:
        """One session by id or unique id prefix."""
        rows = list(
            self.db.query(f"{_SUMMARY} WHERE s.id LIKE ? GROUP BY s.id LIMIT 2", [ref + "%"])
        )
        return dict(rows[0]) if len(rows) == 1 else None

    def latest_session(self, repo: str) -> dict[str, Any] | None:
        """The repo's session with the newest job: what ``--continue`` picks up."""
        found = self.sessions(repo, limit=1, with_jobs=True)
        return found[0] if found else None

    def session_jobs(self, session_id: str) -> list[SessionJob]:
        jobs = []
        for row in self.db.execute(_JOBS, [session_id]).fetchall():
            applied_patch, work_patch = row[12], row[13]
            jobs.append(
                SessionJob(
                    job_id=row[0],
                    auction_id=row[1],
                    text=row[2],
                    kind=row[3],
                    created_at=row[4],
                    winner=row[5],
                    auction_status=row[6],
                    agent=row[7],
                    status=row[8],
                    verdict=row[9],
                    tests_passed=None if row[10] is None else bool(row[10]),
                    summary=row[11],
                    patch=bytes(applied_patch or work_patch or b""),
                    applied_mode=row[14],
                    applied_branch=row[15],
                    applied_commit=row[16],
                    plan_status=row[17],
                )
            )
        return jobs

    def application(self, auction_id: str) -> dict[str, Any] | None:
        """Where the auction's work went (its latest application, undone or not)."""
        rows = list(
            self.db.query(
                "SELECT mode, branch, commit_sha, applied_at, undone_at FROM applications "
                "WHERE auction_id = ? ORDER BY id DESC LIMIT 1",
                [auction_id],
            )
        )
        return dict(rows[0]) if rows else None

    def last_agents(self, repo: str) -> list[str]:
        """The agents of the newest auction on this repo: the TUI ticks them again."""
        row = self.db.execute(
            "SELECT a.agents FROM auctions a JOIN jobs j ON j.id = a.job_id WHERE j.repo = ? "
            "ORDER BY a.started_at DESC LIMIT 1",
            [repo],
        ).fetchone()
        return list(json.loads(row[0] or "[]")) if row else []
