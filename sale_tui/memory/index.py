"""An in-process vector index over job embeddings stored in SQLite.

Vectors are unit-length float32, so cosine similarity is a dot product. The matrix is loaded
once per process and then grows incrementally (only rows added since the last look are read),
so a search over 100k past jobs is one matrix-vector product plus a partial sort.
"""

from __future__ import annotations

import threading

import numpy as np
import sqlite_utils


class VectorIndex:
    def __init__(self, db: sqlite_utils.Database, model: str, dim: int) -> None:
        self.db, self.model, self.dim = db, model, dim
        self._ids: list[str] = []
        self._matrix = np.zeros((0, dim), dtype=np.float32)
        self._last_rowid = 0
        self._lock = threading.Lock()

    def _refresh(self) -> None:
        rows = self.db.execute(
            "SELECT rowid, job_id, vector FROM embeddings WHERE model = ? AND rowid > ? "
            "ORDER BY rowid",
            [self.model, self._last_rowid],
        ).fetchall()
        if not rows:
            return
        fresh = np.frombuffer(b"".join(r[2] for r in rows), dtype=np.float32)
        self._matrix = np.vstack([self._matrix, fresh.reshape(len(rows), self.dim)])
        self._ids.extend(r[1] for r in rows)
        self._last_rowid = rows[-1][0]

    def search(self, query: np.ndarray, limit: int) -> list[tuple[str, float]]:
        """The ``limit`` most similar job ids, best first, with their cosine similarity."""
        with self._lock:
            self._refresh()
            if not self._ids or limit <= 0:
                return []
            sims = self._matrix @ query.astype(np.float32)
            limit = min(limit, len(self._ids))
            top = np.argpartition(-sims, limit - 1)[:limit]
            top = top[np.argsort(-sims[top])]
            return [(self._ids[i], float(sims[i])) for i in top]

    def __len__(self) -> int:
        with self._lock:
            self._refresh()
            return len(self._ids)
