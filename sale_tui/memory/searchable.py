"""What the memory's search mixins (``pairs.py``, ``track.py``) need from ``AuctionMemory``:
its database, its embedder and its vector index."""

from __future__ import annotations

from typing import TYPE_CHECKING

import sqlite_utils

if TYPE_CHECKING:
    from sale_tui.embedding import Embedder
    from sale_tui.memory.index import VectorIndex


class Searchable:
    db: sqlite_utils.Database

    @property
    def embedder(self) -> Embedder:
        raise NotImplementedError  # AuctionMemory's

    @property
    def index(self) -> VectorIndex:
        raise NotImplementedError  # AuctionMemory's
