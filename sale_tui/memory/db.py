"""Opening the auction memory: WAL mode, a busy timeout, and migrations in order.

Migrations are plain functions applied once each, in order, recorded in ``_migrations``
(the pattern of Simon Willison's ``llm``). Never edit a released migration: add a new one.

Consistency: the connection is in autocommit mode and every recorded step is one statement
(one row inserted or updated), so a crash between two steps leaves a valid database holding
every step before it. Migrations run together in one write transaction (concurrent openers of a
new file wait for it) and are idempotent (``if_not_exists``), so one interrupted half-way simply
runs again.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import sqlite_utils

from sale_tui.errors import SaleError

Migration = Callable[[sqlite_utils.Database], None]
BUSY_TIMEOUT_MS = 10_000


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")


def m001_initial(db: sqlite_utils.Database) -> None:
    db.table("jobs").create(
        {"id": str, "created_at": str, "text": str, "kind": str, "repo": str},
        pk="id",
        if_not_exists=True,
    )
    db.table("auctions").create(
        {
            "id": str,
            "job_id": str,
            "started_at": str,
            "finished_at": str,
            "status": str,
            "winner": str,
            "provisional": str,
            "reason": str,
            "agents": str,
            "weights": str,
            "max_bid_tokens": int,
            "pid": int,
            "bid_tokens": int,
            "jury_tokens": int,
            "refine_tokens": int,
            "bid_cost_usd": float,
            "jury_cost_usd": float,
            "refine_cost_usd": float,
        },
        pk="id",
        foreign_keys=[("job_id", "jobs", "id")],
        if_not_exists=True,
    )
    db.table("bids").create(
        {
            "id": int,
            "auction_id": str,
            "agent": str,
            "round": str,
            "text": str,
            "tokens": int,
            "price": float,
            "entropy": float,
            "entropy_kind": str,
            "cost_usd": float,
            "jury": str,
            "jury_notes": str,
            "cost_term": float,
            "value_term": float,
            "score": float,
            "status": str,
            "status_reason": str,
            "created_at": str,
        },
        pk="id",
        foreign_keys=[("auction_id", "auctions", "id")],
        if_not_exists=True,
    )
    db.table("jury_scores").create(
        {
            "id": int,
            "auction_id": str,
            "bidder": str,
            "juror": str,
            "round": str,
            "score": float,
            "note": str,
            "cost_usd": float,
            "tokens": int,
        },
        pk="id",
        foreign_keys=[("auction_id", "auctions", "id")],
        if_not_exists=True,
    )
    db.table("executions").create(
        {
            "id": int,
            "auction_id": str,
            "agent": str,
            "started_at": str,
            "finished_at": str,
            "status": str,
            "tests_passed": int,
            "verdict": str,
            "tokens": int,
            "cost_usd": float,
            "detail": str,
        },
        pk="id",
        foreign_keys=[("auction_id", "auctions", "id")],
        if_not_exists=True,
    )
    db.table("embeddings").create(
        {"job_id": str, "model": str, "dim": int, "vector": bytes},
        pk=("job_id", "model"),
        foreign_keys=[("job_id", "jobs", "id")],
        if_not_exists=True,
    )
    db.table("fitted_weights").create(
        {
            "id": int,
            "created_at": str,
            "weights": str,
            "records": int,
            "train_accuracy": float,
            "heldout_accuracy": float,
            "baseline_heldout_accuracy": float,
        },
        pk="id",
        if_not_exists=True,
    )
    db.table("auctions").create_index(["job_id"], if_not_exists=True)
    db.table("auctions").create_index(["started_at"], if_not_exists=True)
    db.table("bids").create_index(["auction_id"], if_not_exists=True)
    db.table("jury_scores").create_index(["auction_id"], if_not_exists=True)
    db.table("executions").create_index(["auction_id"], if_not_exists=True)


def m002_applications(db: sqlite_utils.Database) -> None:
    """Patches applied to the user's repo, so ``sale-tui undo`` can revert the last one."""
    db.table("applications").create(
        {
            "id": int,
            "auction_id": str,
            "repo": str,
            "mode": str,
            "branch": str,
            "commit_sha": str,
            "head_before": str,
            "patch": bytes,
            "applied_at": str,
            "undone_at": str,
        },
        pk="id",
        foreign_keys=[("auction_id", "auctions", "id")],
        if_not_exists=True,
    )
    db.table("applications").create_index(["repo"], if_not_exists=True)


def m003_job_commit(db: sqlite_utils.Database) -> None:
    """The commit a job's snapshot was taken at, so ``sale-tui bench run --tasks memory`` can
    replay the job on the same code."""
    if "commit_sha" not in db.table("jobs").columns_dict:
        db.table("jobs").add_column("commit_sha", str)


def m004_token_split(db: sqlite_utils.Database) -> None:
    """What an auction's tokens were: prompt tokens computed, prompt tokens read from a prompt
    cache, generated tokens. Auctions recorded before have none (read as unknown)."""
    columns = db.table("auctions").columns_dict
    for name in ("prompt_tokens", "cached_tokens", "generated_tokens"):
        if name not in columns:
            db.table("auctions").add_column(name, int)


def m005_track_records(db: sqlite_utils.Database) -> None:
    """What the memory knew when an auction began: each agent's record on similar past jobs
    (JSON, on the auction and its value term's input on each bid) and whether the memory
    routed the job without bids (``routed``: ``memory``, ``auction`` or ``exploring``)."""
    auctions = db.table("auctions").columns_dict
    for name in ("track_records", "routed", "routed_reason"):
        if name not in auctions:
            db.table("auctions").add_column(name, str)
    bids = db.table("bids").columns_dict
    for name, kind in (("memory_passed", int), ("memory_tried", int), ("memory_rate", float)):
        if name not in bids:
            db.table("bids").add_column(name, kind)


def m006_sessions(db: sqlite_utils.Database) -> None:
    """Sessions: threads of jobs on one repo (``jobs.session_id``; a job recorded before has
    none). With them what a later job of the session is shown: the context its prompts got
    (``jobs.context``: project instructions, the session so far), the agent's own summary or
    answer and its patch on each execution, and the plan the user approved or edited
    (``auctions.plan_status``: approved, edited or rejected; ``approved_plan``: the text run)."""
    db.table("sessions").create(
        {"id": str, "repo": str, "created_at": str, "title": str},
        pk="id",
        if_not_exists=True,
    )
    db.table("sessions").create_index(["repo"], if_not_exists=True)
    additions = {
        "jobs": (("session_id", str), ("context", str)),
        "executions": (("summary", str), ("patch", bytes)),
        "auctions": (("plan_status", str), ("approved_plan", str)),
    }
    for table, columns in additions.items():
        present = db.table(table).columns_dict
        for name, kind in columns:
            if name not in present:
                db.table(table).add_column(name, kind)
    db.table("jobs").create_index(["session_id"], if_not_exists=True)


def m007_refits(db: sqlite_utils.Database) -> None:
    """Automatic refits: each fit says what started it (``trigger``: calibrate, auto or
    bench), how many outcomes the memory held then (``outcomes``: the next automatic refit
    counts from there), whether the auction uses it (``adopted``: an automatic fit that routes
    the held-out jobs worse than the weights in use is kept only as a record) and why
    (``reason``). Fits from before have none: they were all adopted."""
    present = db.table("fitted_weights").columns_dict
    for name, kind in (
        ("trigger", str),
        ("outcomes", int),
        ("adopted", int),
        ("heldout_tasks", int),
        ("reason", str),
    ):
        if name not in present:
            db.table("fitted_weights").add_column(name, kind)


def m008_execution_token_split(db: sqlite_utils.Database) -> None:
    """An execution's tokens split as an auction's are (m004): prompt tokens, those of them
    read from a prompt cache, generated tokens. Executions recorded before have none."""
    columns = db.table("executions").columns_dict
    for name in ("prompt_tokens", "cached_tokens", "generated_tokens"):
        if name not in columns:
            db.table("executions").add_column(name, int)


MIGRATIONS: list[Migration] = [
    m001_initial,
    m002_applications,
    m003_job_commit,
    m004_token_split,
    m005_track_records,
    m006_sessions,
    m007_refits,
    m008_execution_token_split,
]


def migrate(db: sqlite_utils.Database) -> list[str]:
    """Apply pending migrations; returns the names applied.

    One write transaction around it all: when several processes (or the TUI's threads) open a
    new file at once, one migrates and the others wait for it, then find nothing left to do.
    """
    db.execute("BEGIN IMMEDIATE")
    try:
        db.table("_migrations").create(
            {"name": str, "applied_at": str}, pk="name", if_not_exists=True
        )
        done = {row["name"] for row in db.table("_migrations").rows}
        applied = []
        for migration in MIGRATIONS:
            if migration.__name__ in done:
                continue
            migration(db)
            db.table("_migrations").insert({"name": migration.__name__, "applied_at": now()})
            applied.append(migration.__name__)
        db.execute("COMMIT")
    except BaseException:
        if db.conn.in_transaction:  # SQLite may have rolled back already (e.g. disk full)
            db.execute("ROLLBACK")
        raise
    return applied


def _enable_wal(db: sqlite_utils.Database) -> None:
    """Switch a new file to WAL. SQLite answers "locked" at once, without waiting out the busy
    timeout, when another connection is switching the same file: so wait here."""
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            db.enable_wal()
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def open_database(path: Path) -> sqlite_utils.Database:
    """Open (creating if needed) the memory at ``path``, in WAL mode, migrated."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(
            str(path), timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False, isolation_level=None
        )
        db = sqlite_utils.Database(conn)
        db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        db.execute("PRAGMA foreign_keys = ON")
        _enable_wal(db)
        migrate(db)
        return db
    except sqlite3.DatabaseError as exc:
        raise SaleError(
            f"cannot open the auction memory {path}: {exc}",
            fix="move the file aside (sale-tui starts a new one) or restore it from a backup; "
            "or point SALE_TUI_HOME elsewhere",
        ) from exc
