"""Loops the agent cannot see itself: the same cycle of (action, result) steps, of any length.

Small models fall into view → edit → view → edit with the same arguments and the same
results for a dozen steps; each reply differs from the one before it, so "the same reply three
times" never fires. Here every step is a key (what it asked for and what came back); when the
last steps are one cycle twice over, the agent is told what repeats; three times ends the run.
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_CYCLE = 4
"""Longest cycle looked for, in steps."""
WARN_AT, STOP_AT = 2, 3
"""Repetitions of a cycle that bring feedback, and that end the run as stuck."""


@dataclass(frozen=True)
class Cycle:
    length: int
    times: int
    steps: tuple[str, ...]
    """What each step of the cycle did, shortly (``view solution.py``)."""

    def feedback(self, kind: str) -> str:
        what = " → ".join(self.steps)
        where = "step" if self.length == 1 else f"{self.length} steps"
        instead = (
            "finish now with your best answer, citing path:line"
            if kind == "research"
            else "write the whole file with the change, or read the test output again"
        )
        return (
            f"(You are going in circles: the same {where} ({what}) {self.times} times, with the "
            f"same results. Doing it again ends the job. Do something different: {instead}.)"
        )


def repeating(keys: list[str], labels: list[str]) -> Cycle | None:
    """The cycle the latest steps repeat most (the shortest among equals), when at least
    twice. ``keys``: one per step, equal when action and observation were; ``labels``: what
    each step did, for the feedback."""
    best: Cycle | None = None
    for length in range(1, MAX_CYCLE + 1):
        times = 1
        tail = keys[-length:]
        while len(keys) >= (times + 1) * length and (
            keys[len(keys) - (times + 1) * length : len(keys) - times * length] == tail
        ):
            times += 1
        if times >= WARN_AT and (best is None or times > best.times):
            best = Cycle(length, times, tuple(labels[-length:]))
    return best
