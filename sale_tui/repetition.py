"""Telling a repetition loop from text: one rule for the auction's degenerate-bid check and for
the local engine, which stops a bid's generation as soon as the rule holds (issue 16).

Standard library only: the auction core and the engine worker both import it.
"""

from __future__ import annotations

import zlib

RATIO = 2.4
"""Text that compresses more than this (zlib) is a repetition loop, not a plan: the threshold
Whisper uses to reject looping transcripts. Typical plans compress 1.5-2x."""
MIN_CHARS = 200
"""Shorter text says too little for the ratio to mean anything."""
CHECK_EVERY = 8
"""The engine checks a generation this many tokens apart (a check decodes the whole text)."""


def repeats_itself(text: str) -> float | None:
    """The compression ratio of ``text`` when it is a repetition loop, else None."""
    stripped = text.strip()
    if len(stripped) < MIN_CHARS:
        return None
    data = stripped.encode()
    ratio = len(data) / len(zlib.compress(data))
    return ratio if ratio > RATIO else None
