"""Retrieval latency as the memory grows: ``sale-tui bench memory``.

Builds a memory of N past jobs (one won auction with two scored bids each, the shape real
auctions leave) in a temporary file, with random unit vectors standing in for job embeddings
(search cost does not depend on what the vectors mean), then times ``plan_pairs`` for real
query texts: the full call (MiniLM embedding of the query + search + SQL) and the search +
SQL part alone.
"""

from __future__ import annotations

import itertools
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sale_tui.memory.db import now
from sale_tui.memory.store import AuctionMemory

EVERY_JOB = -1.0
"""The similarity floor for the timed calls: random vectors sit below the real floor, and
real neighbours are above it, so every job is taken as a real one would be."""

QUERIES = [
    "Fix the failing test in the date parser",
    "Add a --verbose flag to the command line",
    "Why does the cache never expire entries?",
    "Refactor the HTTP client to retry on timeouts",
    "Rename get_usr to get_user across the codebase",
]


@dataclass(frozen=True)
class RetrievalTiming:
    jobs: int
    build_s: float
    full_p50_ms: float
    full_p95_ms: float
    search_p50_ms: float
    search_p95_ms: float


def fill(memory: AuctionMemory, count: int, *, first: int = 0, seed: int = 0) -> None:
    """Insert ``count`` synthetic past jobs (numbered from ``first``), each with a won
    auction and two bids."""
    rng = np.random.default_rng(seed)
    dim, model = memory.embedder.dim, memory.embedder.name
    stamp = now()
    conn = memory.db.conn
    conn.execute("BEGIN")
    for start in range(0, count, 5000):
        size = min(5000, count - start)
        vectors = rng.standard_normal((size, dim)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        ids = [f"j{first + start + i}" for i in range(size)]
        conn.executemany(
            "INSERT INTO jobs VALUES (?, ?, ?, 'coding', '')",
            [(job, stamp, f"synthetic job {job}") for job in ids],
        )
        conn.executemany(
            "INSERT INTO embeddings VALUES (?, ?, ?, ?)",
            [(job, model, dim, vectors[i].tobytes()) for i, job in enumerate(ids)],
        )
        conn.executemany(
            "INSERT INTO auctions (id, job_id, started_at, status, winner) "
            "VALUES (?, ?, ?, 'won', 'large')",
            [(f"a{job}", job, stamp) for job in ids],
        )
        conn.executemany(
            "INSERT INTO bids (auction_id, agent, round, text, status, score) "
            "VALUES (?, ?, 'original', ?, ?, ?)",
            [
                row
                for job in ids
                for row in (
                    (f"a{job}", "large", f"winning plan for {job}", "won", -0.5),
                    (f"a{job}", "small", f"losing plan for {job}", "scored", -0.2),
                )
            ],
        )
    conn.execute("COMMIT")


def _percentiles(run: Callable[[], object], repeats: int) -> tuple[float, float]:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return statistics.median(times), times[int(0.95 * (len(times) - 1))]


def measure(sizes: list[int], repeats: int = 100, k: int = 8) -> list[RetrievalTiming]:
    results = []
    with tempfile.TemporaryDirectory() as folder:
        memory = AuctionMemory(Path(folder) / "bench.db")
        built = 0
        for size in sorted(sizes):
            started = time.perf_counter()
            fill(memory, size - built, first=built, seed=size)
            built = size
            len(memory.index)  # load the new vectors before timing searches
            build_s = time.perf_counter() - started
            vectors = memory.embedder.embed(QUERIES)
            texts, near = itertools.cycle(QUERIES), itertools.cycle(vectors)

            def full(texts: Iterator[str] = texts) -> object:
                query = memory.embedder.embed([next(texts)])[0]
                return memory.plan_pairs_near(query, "small", k, floor=EVERY_JOB)

            def search(near: Iterator[np.ndarray] = near) -> object:
                return memory.plan_pairs_near(next(near), "small", k, floor=EVERY_JOB)

            full()  # warm-up

            full_p50, full_p95 = _percentiles(full, repeats)
            search_p50, search_p95 = _percentiles(search, repeats)
            results.append(
                RetrievalTiming(
                    size,
                    round(build_s, 1),
                    round(full_p50, 2),
                    round(full_p95, 2),
                    round(search_p50, 2),
                    round(search_p95, 2),
                )
            )
    return results
