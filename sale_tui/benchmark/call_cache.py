"""A replay cache for the benchmark's auction calls: the same agent, messages and settings give
back the reply the model gave the first time.

Every auction call is made at temperature 0, so asking again would produce the same reply at
the same price; the cache saves only wall-clock time. The reply comes back whole (usage and
$ included), so a cached call is *accounted* exactly as if it had run again: overhead numbers
do not shrink. What it buys: ``sale`` and each ``sale+memory`` stream order share the first
round of bids and their jury (those never see the memory), so every extra stream order costs
only its refinements. Kept in ``OUT/calls.db`` (SQLite), so a resumed run replays too.
"""

from __future__ import annotations

import hashlib
import json
import pickle
import sqlite3
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from sale_tui.auction import AuctionAgent
from sale_tui.protocols import Message, Model, Reply


class CallCache:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        # hosted agents bid from worker threads: one connection behind a lock
        self._db = sqlite3.connect(path, check_same_thread=False)
        self._db.execute("CREATE TABLE IF NOT EXISTS calls (key TEXT PRIMARY KEY, reply BLOB)")
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, key: str) -> Reply | None:
        with self._lock:
            row = self._db.execute("SELECT reply FROM calls WHERE key = ?", (key,)).fetchone()
        self.hits += row is not None
        self.misses += row is None
        return pickle.loads(row[0]) if row else None  # our own file, written below

    def put(self, key: str, reply: Reply) -> None:
        with self._lock, self._db:
            self._db.execute(
                "INSERT OR REPLACE INTO calls VALUES (?, ?)", (key, pickle.dumps(reply))
            )

    def close(self) -> None:
        self._db.close()

    def wrap(self, agents: Sequence[AuctionAgent]) -> list[AuctionAgent]:
        return [replace(a, model=CachedModel(a.model, self)) for a in agents]


def call_key(agent: str, messages: Sequence[Message], settings: dict[str, Any]) -> str:
    payload = json.dumps([agent, list(messages), settings], sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()


@dataclass
class CachedModel:
    """A ``Model`` that answers from the cache when it can, and fills it when it cannot."""

    model: Model
    cache: CallCache = field(repr=False)

    @property
    def agent_name(self) -> str:
        return self.model.agent_name

    def __getattr__(self, name: str) -> Any:  # check_ready, limits, … of the wrapped model
        if name == "model":  # not set yet (a copy in the making): no endless recursion
            raise AttributeError(name)
        return getattr(self.model, name)

    def complete(
        self,
        messages: Sequence[Message],
        *,
        on_text: Callable[[str], None] | None = None,
        **settings: Any,
    ) -> Reply:
        if settings.get("temperature") not in (0, 0.0):  # only deterministic calls replay
            return self.model.complete(messages, on_text=on_text, **settings)
        key = call_key(self.agent_name, messages, settings)
        reply = self.cache.get(key)
        if reply is None:
            reply = self.model.complete(messages, on_text=on_text, **settings)
            self.cache.put(key, reply)
        elif on_text is not None:
            on_text(reply.text)
        return reply
