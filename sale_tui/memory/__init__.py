"""The auction memory: one SQLite file that is both what later auctions learn from and the
audit log of every job, bid, juror score, winner, cost and outcome.

The only package that imports sqlite_utils. ``AuctionMemory.record`` stores each auction event
as it happens (one single-row write each), so an interrupted auction can still be inspected.
"""

from sale_tui.memory.store import AuctionMemory, default_path

__all__ = ["AuctionMemory", "default_path"]
