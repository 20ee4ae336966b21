"""Fitted auction weights: each fit as it was saved (by ``calibrate``, an automatic refit or
the bench), the one the auction uses, and how many outcomes have arrived since the last fit;
mixed into ``AuctionMemory``."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Literal

import sqlite_utils

from sale_tui.auction.scoring import Weights
from sale_tui.memory.db import now

Trigger = Literal["calibrate", "auto", "bench"]

OUTCOMES = (
    "SELECT count(DISTINCT auction_id) FROM executions "
    "WHERE status IN ('success', 'failure') OR verdict IS NOT NULL"
)
"""Auctions whose work has a known outcome: an execution that ended, or the user's verdict."""


@dataclass(frozen=True)
class FitRecord:
    id: int
    created_at: str
    trigger: str
    records: int
    """Auctions with a known outcome the fit learned from (train and held-out)."""
    outcomes: int | None
    """Outcomes in the memory when it was fitted (None: saved before migration m007)."""
    adopted: bool
    heldout_tasks: int | None
    train_accuracy: float
    heldout_accuracy: float
    baseline_heldout_accuracy: float
    reason: str


class FitRecords:
    db: sqlite_utils.Database

    def save_fitted_weights(
        self,
        weights: Weights,
        *,
        records: int,
        train_accuracy: float,
        heldout_accuracy: float,
        baseline_heldout_accuracy: float,
        trigger: Trigger = "calibrate",
        adopted: bool = True,
        heldout_tasks: int | None = None,
        reason: str = "",
    ) -> None:
        """Keep a fit; only an adopted one changes the weights later auctions use."""
        self.db.table("fitted_weights").insert(
            {
                "created_at": now(),
                "weights": json.dumps(dataclasses.asdict(weights)),
                "records": records,
                "train_accuracy": train_accuracy,
                "heldout_accuracy": heldout_accuracy,
                "baseline_heldout_accuracy": baseline_heldout_accuracy,
                "trigger": trigger,
                "outcomes": self.recorded_outcomes(),
                "adopted": int(adopted),
                "heldout_tasks": heldout_tasks,
                "reason": reason,
            }
        )

    def latest_fitted_weights(self) -> Weights | None:
        """The weights of the newest adopted fit (None: the configured weights apply)."""
        row = self.db.execute(
            "SELECT weights FROM fitted_weights WHERE coalesce(adopted, 1) = 1 "
            "ORDER BY id DESC LIMIT 1"
        ).fetchone()
        return Weights(**json.loads(row[0])) if row else None

    def latest_fit(self, *, adopted_only: bool = False) -> FitRecord | None:
        where = "WHERE coalesce(adopted, 1) = 1 " if adopted_only else ""
        row = self.db.execute(
            "SELECT id, created_at, coalesce(trigger, 'calibrate'), records, outcomes, "
            "coalesce(adopted, 1), heldout_tasks, train_accuracy, heldout_accuracy, "
            f"baseline_heldout_accuracy, coalesce(reason, '') FROM fitted_weights {where}"
            "ORDER BY id DESC LIMIT 1"
        ).fetchone()
        if row is None:
            return None
        values = list(row)
        values[5] = bool(values[5])
        return FitRecord(*values)

    def recorded_outcomes(self) -> int:
        return int(self.db.execute(OUTCOMES).fetchone()[0])

    def outcomes_since_fit(self) -> int:
        """New outcomes since the last fit of any kind (a fit not adopted counts too: the
        data it saw is not worth another try until more arrives)."""
        last = self.latest_fit()
        if last is None:
            return self.recorded_outcomes()
        # a fit saved before m007 did not count outcomes: its task count is the closest
        seen = last.outcomes if last.outcomes is not None else last.records
        return max(0, self.recorded_outcomes() - seen)
