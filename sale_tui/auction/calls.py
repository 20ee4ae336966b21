"""How the auction calls its agents: concurrency where providers allow it, a cost ledger."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from typing import TYPE_CHECKING, TypeVar

from sale_tui.protocols import Reply, Usage
from sale_tui.stopping import request_stop

if TYPE_CHECKING:
    from sale_tui.auction.engine import AuctionAgent

T = TypeVar("T")


class Ledger:
    """Tokens and $ spent by the auction itself, split by phase, and its usage in all
    (prompt tokens computed or read from a cache, generated tokens)."""

    def __init__(self) -> None:
        self.tokens: dict[str, int] = {"bid": 0, "jury": 0, "refine": 0}
        self.cost: dict[str, float] = {"bid": 0.0, "jury": 0.0, "refine": 0.0}
        self.usage = Usage()
        self.calls = 0

    def add(self, phase: str, reply: Reply) -> None:
        self.tokens[phase] += reply.usage.total_tokens
        self.cost[phase] += reply.cost_usd
        self.usage += reply.usage
        self.calls += 1


class Starting:
    """What ``concurrently`` yields for an agent whose work is about to start."""


STARTING = Starting()


def concurrently(
    agents: Sequence[AuctionAgent], work: Callable[[AuctionAgent], T]
) -> Iterator[tuple[AuctionAgent, T | BaseException | Starting]]:
    """Run ``work`` per agent; parallel-capable agents in threads, the rest here, in order.
    Yields ``(agent, STARTING)`` as each agent's work starts (the threads' all at once), so
    the caller can show who is working, then ``(agent, result or the exception)``."""
    parallel = [a for a in agents if a.model is not None and a.parallel]
    serial = [a for a in agents if a not in parallel]
    if not parallel:
        for agent in serial:
            yield agent, STARTING
            yield agent, attempt(work, agent)
        return
    pool = ThreadPoolExecutor(max_workers=len(parallel))
    try:
        futures: dict[Future[T], AuctionAgent] = {pool.submit(work, a): a for a in parallel}
        for agent in parallel:
            yield agent, STARTING
        for agent in serial:
            yield agent, STARTING
            yield agent, attempt(work, agent)
        for future in as_completed(futures):
            error = future.exception()
            if isinstance(error, KeyboardInterrupt):  # the user's stop, not a losing agent
                raise error
            yield futures[future], error if error is not None else future.result()
    except BaseException as stopped:
        # A stop (or a closed generator) must not wait for hosted calls still running.
        pool.shutdown(wait=False, cancel_futures=True)
        if isinstance(stopped, KeyboardInterrupt):
            # Ctrl-C: the calls still running end at once too (they watch the stop flag), or
            # the interpreter's exit would wait for each pool thread until its deadline.
            request_stop()
        raise
    pool.shutdown(wait=True)


def attempt(work: Callable[[AuctionAgent], T], agent: AuctionAgent) -> T | BaseException:
    try:
        return work(agent)
    except Exception as exc:  # a failing agent drops out; the auction goes on
        return exc


def failure_reason(exc: BaseException) -> str:
    message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    return message.splitlines()[0][:300]
