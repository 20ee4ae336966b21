"""The SALE auction core: pure Python over the ``Model`` protocol, yielding events.

Imports only the standard library and ``sale_tui.protocols`` (a test checks it).
"""

from sale_tui.auction.engine import AuctionAgent, AuctionSettings, Job, run_auction
from sale_tui.auction.scoring import Weights

__all__ = ["AuctionAgent", "AuctionSettings", "Job", "Weights", "run_auction"]
