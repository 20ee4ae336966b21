"""sale-tui: a terminal coding assistant that routes every job through a strategy auction (SALE)."""

__version__ = "0.1.0"
