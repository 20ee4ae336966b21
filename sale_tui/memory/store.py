"""Writing auction events and outcomes into SQLite, and reading plan pairs back."""

from __future__ import annotations

import dataclasses
import json
import os
import secrets
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sale_tui import paths
from sale_tui.auction.events import (
    AuctionEvent,
    AuctionFailed,
    Bid,
    BidDropped,
    BidReceived,
    BidScored,
    BudgetExcluded,
    JuryScored,
    MemoryConsulted,
    ProvisionalWinner,
    Refined,
    WinnerChosen,
)
from sale_tui.auction.scoring import Weights
from sale_tui.embedding import Embedder, get_embedder
from sale_tui.memory.costs import CostQueries
from sale_tui.memory.db import now, open_database
from sale_tui.memory.executions import ExecutionRecords
from sale_tui.memory.fits import FitRecords
from sale_tui.memory.history import HistoryQueries
from sale_tui.memory.index import VectorIndex
from sale_tui.memory.pairs import PlanPairs
from sale_tui.memory.sessions import SessionRecords
from sale_tui.memory.track import TrackRecords
from sale_tui.protocols import Usage


def default_path() -> Path:
    return paths.data_dir() / "memory.db"


def new_id() -> str:
    return secrets.token_hex(6)


class AuctionMemory(
    HistoryQueries,
    CostQueries,
    ExecutionRecords,
    FitRecords,
    TrackRecords,
    PlanPairs,
    SessionRecords,
):
    def __init__(self, path: Path | None = None, embedder: Embedder | None = None) -> None:
        self.path = path or default_path()
        self.db = open_database(self.path)
        self._embedder = embedder
        self._index: VectorIndex | None = None

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = get_embedder()
        return self._embedder

    @property
    def index(self) -> VectorIndex:
        if self._index is None:
            self._index = VectorIndex(self.db, self.embedder.name, self.embedder.dim)
        return self._index

    # -- writing -----------------------------------------------------------------------
    def new_job(
        self,
        text: str,
        kind: str,
        repo: str = "",
        commit: str = "",
        vector: Any = None,
        *,
        session_id: str | None = None,
        context: str = "",
    ) -> str:
        """Store a job and its embedding (``vector``: the text's, when the caller already
        embedded it), in its session, with the context its prompts get besides the repo."""
        job_id = new_id()
        self.db.table("jobs").insert(
            {
                "id": job_id,
                "created_at": now(),
                "text": text,
                "kind": kind,
                "repo": repo,
                "commit_sha": commit,
                "session_id": session_id,
                "context": context,
            }
        )
        if vector is None:
            vector = self.embedder.embed([text])[0]
        self.db.table("embeddings").insert(
            {
                "job_id": job_id,
                "model": self.embedder.name,
                "dim": int(vector.shape[0]),
                "vector": vector.tobytes(),
            }
        )
        return job_id

    def start_auction(
        self, job_id: str, agents: Sequence[str], weights: Weights, max_bid_tokens: int
    ) -> str:
        auction_id = new_id()
        self.db.table("auctions").insert(
            {
                "id": auction_id,
                "job_id": job_id,
                "started_at": now(),
                "status": "running",
                "agents": json.dumps(list(agents)),
                "weights": json.dumps(dataclasses.asdict(weights)),
                "max_bid_tokens": max_bid_tokens,
                "pid": os.getpid(),
            }
        )
        return auction_id

    def _bid_row(self, auction_id: str, bid: Bid, status: str) -> None:
        self.db.table("bids").insert(
            {
                "auction_id": auction_id,
                "agent": bid.agent,
                "round": bid.round,
                "text": bid.text,
                "tokens": bid.tokens,
                "price": bid.price,
                "entropy": bid.entropy,
                "entropy_kind": bid.entropy_kind,
                "cost_usd": bid.cost_usd,
                "status": status,
                "created_at": now(),
            }
        )

    def _update_bid(self, auction_id: str, agent: str, round_: str, **values: Any) -> None:
        sets = ", ".join(f"{key} = ?" for key in values)
        self.db.execute(
            f"UPDATE bids SET {sets} WHERE auction_id = ? AND agent = ? AND round = ?",
            [*values.values(), auction_id, agent, round_],
        )

    def _finish(
        self,
        auction_id: str,
        status: str,
        reason: str,
        tokens: dict[str, int],
        costs: dict[str, float],
        usage: Usage,
        **extra: Any,
    ) -> None:
        self.db.table("auctions").update(
            auction_id,
            {
                "status": status,
                "reason": reason,
                "finished_at": now(),
                "prompt_tokens": usage.prompt_tokens,
                "cached_tokens": usage.cached_tokens,
                "generated_tokens": usage.completion_tokens,
                **{f"{phase}_tokens": tokens.get(phase, 0) for phase in ("bid", "jury", "refine")},
                **{
                    f"{phase}_cost_usd": costs.get(phase, 0.0)
                    for phase in ("bid", "jury", "refine")
                },
                **extra,
            },
        )

    def record(self, auction_id: str, event: AuctionEvent) -> None:
        """Store one event (a single-row write)."""
        match event:
            case BidReceived(bid=bid) | Refined(bid=bid):
                self._bid_row(auction_id, bid, "received")
            case BidDropped(agent=agent, round=round_, reason=reason):
                self.db.table("bids").insert(
                    {
                        "auction_id": auction_id,
                        "agent": agent,
                        "round": round_,
                        "status": "dropped",
                        "status_reason": reason,
                        "created_at": now(),
                    }
                )
            case JuryScored():
                self.db.table("jury_scores").insert(
                    {
                        "auction_id": auction_id,
                        "bidder": event.bidder,
                        "juror": event.juror,
                        "round": event.round,
                        "score": event.score,
                        "note": event.note,
                        "cost_usd": event.cost_usd,
                        "tokens": event.tokens,
                    }
                )
            case MemoryConsulted():
                self.db.table("auctions").update(
                    auction_id,
                    {
                        "track_records": json.dumps([dataclasses.asdict(r) for r in event.records]),
                        "routed": "memory" if event.outcome == "routed" else event.outcome,
                        "routed_reason": event.decision,
                    },
                )
            case BidScored(scored=scored):
                track = scored.track
                self._update_bid(
                    auction_id,
                    scored.agent,
                    scored.bid.round,
                    memory_passed=track.passed if track else None,
                    memory_tried=track.tried if track else None,
                    memory_rate=track.rate if track else None,
                    jury=json.dumps(dict(scored.jury)),
                    jury_notes=json.dumps(dict(scored.jury_notes)),
                    cost_term=scored.cost,
                    value_term=scored.value,
                    score=scored.score,
                    status="scored",
                )
            case BudgetExcluded():
                self._update_bid(
                    auction_id,
                    event.agent,
                    event.round,
                    status="excluded",
                    status_reason=event.reason,
                )
            case ProvisionalWinner(scored=scored):
                self.db.table("auctions").update(auction_id, {"provisional": scored.agent})
            case WinnerChosen():
                self._update_bid(
                    auction_id, event.winner.agent, event.winner.bid.round, status="won"
                )
                self._finish(
                    auction_id,
                    "won",
                    event.reason,
                    dict(event.tokens_by_phase),
                    dict(event.cost_by_phase),
                    event.usage,
                    winner=event.winner.agent,
                    provisional=event.provisional.agent,
                )
            case AuctionFailed():
                self._finish(
                    auction_id,
                    "failed",
                    event.reason,
                    dict(event.tokens_by_phase),
                    dict(event.cost_by_phase),
                    event.usage,
                )
            case _:
                pass  # progress-only events (started, memory retrieved, skipped)

    def record_plan(self, auction_id: str, status: str, plan: str | None = None) -> None:
        """The user's word on the winning plan before it ran: ``approved``, ``edited`` (then
        ``plan`` is what ran; the bid keeps the original) or ``rejected``."""
        self.db.table("auctions").update(auction_id, {"plan_status": status, "approved_plan": plan})

    def mark_interrupted(self, auction_id: str, reason: str = "interrupted (Ctrl-C)") -> None:
        self.db.table("auctions").update(
            auction_id, {"status": "interrupted", "reason": reason, "finished_at": now()}
        )

    def record_application(self, auction_id: str, repo: str, applied: Any, patch: bytes) -> int:
        """A patch that reached the user's repo (``applied`` is a ``repo.Applied``)."""
        table = self.db.table("applications")
        table.insert(
            {
                "auction_id": auction_id,
                "repo": repo,
                "mode": applied.mode,
                "branch": applied.branch,
                "commit_sha": applied.commit,
                "head_before": applied.head_before,
                "patch": patch,
                "applied_at": now(),
            }
        )
        return int(table.last_pk or 0)

    def last_application(self, repo: str) -> dict[str, Any] | None:
        row = self.db.execute(
            "SELECT id, auction_id, mode, branch, commit_sha, head_before, patch FROM "
            "applications WHERE repo = ? AND undone_at IS NULL ORDER BY id DESC LIMIT 1",
            [repo],
        ).fetchone()
        if row is None:
            return None
        keys = ("id", "auction_id", "mode", "branch", "commit_sha", "head_before", "patch")
        return dict(zip(keys, row, strict=True))

    def mark_undone(self, application_id: int, auction_id: str) -> None:
        """Undo is negative feedback: the application and the auction's outcome say so."""
        self.db.table("applications").update(application_id, {"undone_at": now()})
        self.record_verdict(auction_id, "undone")

    # -- reading -----------------------------------------------------------------------
    def outcome(self, auction_id: str) -> str | None:
        row = self.db.execute(
            "SELECT status, verdict FROM executions WHERE auction_id = ? ORDER BY id DESC LIMIT 1",
            [auction_id],
        ).fetchone()
        if row is None:
            return None
        return row[1] or row[0]
