"""How far the local model calls running now have got: the front ends' live "qwen-1.5b is
writing its bid… 14 s · 48 tokens" (issue 16, item 5).

The engine worker reports the tokens a call has generated every ``PROGRESS_EVERY`` tokens;
the engine client keeps the latest count per local model here; a model call says which
agent it runs for. A front end then asks by agent name. Counts only: nothing here changes a
call, and a hosted call (no count before its reply) reads as None.
"""

from __future__ import annotations

import threading

PROGRESS_EVERY = 8
"""Tokens between two reports from the worker (one small message each)."""

_lock = threading.Lock()
_generated: dict[str, int] = {}
"""Local model key -> tokens generated so far by its running call."""
_calls: dict[str, str] = {}
"""Agent name -> the local model key its running call uses."""


def call_started(agent: str, key: str) -> None:
    with _lock:
        _calls[agent] = key


def call_ended(agent: str) -> None:
    with _lock:
        _calls.pop(agent, None)


def generated(key: str, tokens: int) -> None:
    """The engine's latest count for the call running on ``key`` (0: it began)."""
    with _lock:
        _generated[key] = tokens


def engine_done(key: str) -> None:
    with _lock:
        _generated.pop(key, None)


def tokens_so_far(agent: str) -> int | None:
    """Tokens the agent's running local call has generated so far; None when it has none
    running (or it runs on a hosted provider)."""
    with _lock:
        key = _calls.get(agent)
        return _generated.get(key) if key is not None else None
