"""Messages the job worker posts to the app (thread-safe ``post_message``)."""

from __future__ import annotations

from typing import Any

from textual.message import Message


class JobEventPosted(Message):
    """One pipeline event (auction, step, tests, escalation, patch)."""

    def __init__(self, event: Any) -> None:
        super().__init__()
        self.event = event


class JobEnded(Message):
    """The worker is done: ``pipeline`` is ready for review, or ``error`` says why not."""

    def __init__(self, pipeline: Any | None, error: str | None = None, stopped: bool = False):
        super().__init__()
        self.pipeline = pipeline
        self.error = error
        self.stopped = stopped
