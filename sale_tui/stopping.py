"""The user's stop, seen by model calls that wait in other threads.

The TUI runs a job in a worker thread; its stop (F8, ctrl+q, ctrl+c) sets this flag, and a
model call waiting on the local engine sees it within a tenth of a second, cancels the
generation and raises ``StopRequested`` in the job's thread (``do`` gets the same from Ctrl-C as
a plain ``KeyboardInterrupt``). The flag stays set until the next job clears it, so no new
model call starts between a stop and the end of the job.
"""

from __future__ import annotations

import threading

from sale_tui.errors import StopRequested

_stop = threading.Event()


def request_stop() -> None:
    _stop.set()


def clear_stop() -> None:
    _stop.clear()


def stop_requested() -> bool:
    return _stop.is_set()


def raise_if_stopped() -> None:
    if _stop.is_set():
        raise StopRequested
