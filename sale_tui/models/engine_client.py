"""The app's side of the local engine: one worker process per local model, started on the
first call, kept while the app runs, and started again after it dies.

Why a process (see ``engine_worker``): a segfault or an OOM kill in llama.cpp ends the
worker, not the app, and becomes a one-line ``LocalEngineError`` for the one call that was
running; llama.cpp's load-time redirection of file descriptors 1 and 2 can no longer hide the
TUI's output; and a stop does not have to wait for a model call to end.

A call waits for the worker in slices of ``POLL_S``, watching the user's stop
(``sale_tui.stopping``). On a stop, or a Ctrl-C in the waiting thread, it asks the worker to
cancel (answered at the next generated token) and, when no answer comes within
``CANCEL_GRACE_S`` (the prompt is still being read, which llama.cpp does in one call, or the
model is still loading), kills the worker; the next call starts a fresh one.
"""

from __future__ import annotations

import atexit
import itertools
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from multiprocessing.connection import Connection
from typing import Any, Generic, Protocol, TypeVar

from sale_tui import paths
from sale_tui.errors import LocalEngineError, StopRequested
from sale_tui.models import progress
from sale_tui.stopping import raise_if_stopped, stop_requested

POLL_S = 0.05
CANCEL_GRACE_S = 1.0
LOG_LIMIT_BYTES = 1_000_000
_FINAL = ("result", "done", "cancelled", "error")


@dataclass(frozen=True)
class EngineSpec:
    """What one worker loads; workers are shared per distinct spec."""

    key: str
    path: str
    n_ctx: int
    n_threads: int | None
    extra_buffers: str = "auto"


class EngineCallError(Exception):
    """The worker's own exception for one call (e.g. llama.cpp's "exceed context window"),
    with its type name and message, which litellm and the client read as they read the
    in-process engine's."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(f"{kind}: {message}")


def describe_exit(returncode: int | None) -> str:
    """How a worker ended, for the one-line error: "SIGSEGV (Segmentation fault)"."""
    if returncode is None:
        return "it stopped answering"
    if returncode < 0:
        try:
            sig = signal.Signals(-returncode)
        except ValueError:  # a real-time signal has no name
            return f"signal {-returncode}"
        if sig == signal.SIGKILL:
            return "killed by SIGKILL (out of memory? `dmesg` tells)"
        return f"{sig.name} ({signal.strsignal(sig)})"
    return f"it exited with status {returncode}"


class Engine(Protocol):
    """What serves one model: the worker's client, or llama.cpp in this process."""

    spec: EngineSpec
    info: dict[str, Any] | None

    def complete(self, request: dict[str, Any]) -> dict[str, Any]: ...
    def stream(self, request: dict[str, Any]) -> Iterator[str | dict[str, Any]]: ...
    def close(self) -> None: ...


R = TypeVar("R", bound=Engine)


class EngineRunner:
    """One worker process for one model; one call at a time."""

    def __init__(self, spec: EngineSpec) -> None:
        self.spec = spec
        self.log_path = paths.data_dir() / "logs" / f"engine-{spec.key}.log"
        self.info: dict[str, Any] | None = None
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._proc: subprocess.Popen[bytes] | None = None
        self._conn: Connection | None = None
        self._log_start = 0

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    @property
    def busy(self) -> bool:
        """A call is running (or starting the worker) on this model."""
        return self._lock.locked()

    # -- life cycle ----------------------------------------------------------------------
    def _start(self) -> Connection:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        ours, theirs = socket.socketpair()
        too_long = self.log_path.exists() and self.log_path.stat().st_size > LOG_LIMIT_BYTES
        try:
            with theirs, open(self.log_path, "wb" if too_long else "ab") as log:
                self._log_start = log.tell()
                # -P: the app runs inside the user's repo; a numpy/ or queue.py there must
                # not shadow what the worker imports
                command = [sys.executable, "-P", "-m", "sale_tui.models.engine_worker"]
                self._proc = subprocess.Popen(
                    [*command, "--fd", str(theirs.fileno())],
                    pass_fds=(theirs.fileno(),),
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=log,
                    # its own session: a Ctrl-C in the terminal reaches the app, which
                    # cancels the call; it must not also kill the worker mid-load
                    start_new_session=True,
                )
            self._conn = Connection(ours.detach())
            self._conn.send(("load", asdict(self.spec)))
            message = self._receive()
        except OSError:  # it died before it could load
            ours.close()
            raise self._crashed() from None
        except BaseException:  # a stop or Ctrl-C during the load: a load cannot be cancelled
            ours.close()
            self._kill()
            raise
        if message[0] != "loaded":
            self._kill()
            raise LocalEngineError(
                f"the local engine could not load {self.spec.key}: {message[-1]}",
                fix=f"see the engine log {self.log_path}",
            )
        self.info = message[1]
        return self._conn

    def _connection(self) -> Connection:
        alive = self._proc is not None and self._proc.poll() is None
        if self._conn is not None and alive and self.info is not None:
            return self._conn
        self._forget()
        return self._start()

    def _forget(self) -> None:
        if self._conn is not None:
            self._conn.close()
        self._conn, self.info = None, None
        if self._proc is not None:
            try:
                self._proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._proc = None

    def _kill(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
        self._forget()

    def close(self) -> None:
        """Closing our end of the socket makes the worker exit at once (its reader sees the
        end); ``_forget`` kills one that lingers. A call still running in another thread
        (the app is exiting under it) is not waited for beyond a moment."""
        locked = self._lock.acquire(timeout=2)
        try:
            self._forget()
        finally:
            if locked:
                self._lock.release()

    # -- one exchange ----------------------------------------------------------------------
    def _receive(self) -> tuple[Any, ...]:
        """The worker's next message, watching the user's stop and the worker's death."""
        conn = self._conn
        assert conn is not None
        while True:
            # Checked before every wait, not only when one times out: a stream's chunks come
            # faster than POLL_S, and a stop must not wait for the stream to end.
            if stop_requested():
                raise StopRequested
            try:
                if conn.poll(POLL_S):
                    return conn.recv()
            except (EOFError, OSError):
                raise self._crashed() from None

    def _cancel(self, request_id: int) -> None:
        """Ask the worker to drop the call; kill it when it does not answer in time."""
        conn = self._conn
        if conn is None:
            return  # it crashed: nothing to cancel
        try:
            conn.send(("cancel", request_id))
            deadline = time.monotonic() + CANCEL_GRACE_S
            while (left := deadline - time.monotonic()) > 0:
                if conn.poll(left):
                    message = conn.recv()
                    if message[0] in _FINAL and message[1] == request_id:
                        return
        except (EOFError, OSError):
            pass
        except BaseException:  # a second Ctrl-C while waiting: leave no worker generating
            self._kill()
            raise
        self._kill()  # still reading the prompt (one llama.cpp call), or gone

    def _crashed(self) -> LocalEngineError:
        proc = self._proc
        returncode = None
        if proc is not None:
            try:
                returncode = proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
        self._forget()
        last = self._log_tail()
        return LocalEngineError(
            f"the local engine for {self.spec.key} crashed: {describe_exit(returncode)}"
            + (f" — last log line: {last}" if last else ""),
            fix="it restarts on the next call; if it crashes again on this CPU, set "
            f"SALE_TUI__LOCAL__EXTRA_BUFFERS=off (log: {self.log_path})",
        )

    def _log_tail(self) -> str:
        try:
            with open(self.log_path, "rb") as log:
                log.seek(self._log_start)
                text = log.read()[-4000:].decode("utf-8", errors="replace")
        except OSError:
            return ""
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        return lines[-1][:200] if lines else ""

    def _exchange(self, kind: str, request: dict[str, Any]) -> Iterator[tuple[Any, ...]]:
        """Send one request and yield the worker's messages for it, the final one last."""
        while not self._lock.acquire(timeout=POLL_S):  # another call on this model runs
            raise_if_stopped()
        try:
            raise_if_stopped()  # stopped while queued: start nothing
            conn = self._connection()
            request_id = next(self._ids)
            done = False
            try:
                try:
                    conn.send((kind, request_id, request))
                except OSError:  # it died between two calls
                    raise self._crashed() from None
                while not done:
                    message = self._receive()
                    if message[1] != request_id:
                        continue  # the tail of an earlier, cancelled call
                    done = message[0] in _FINAL
                    yield message
            finally:
                if not done:  # Ctrl-C, a stop, or a consumer that walked away mid-stream
                    self._cancel(request_id)
        finally:
            self._lock.release()

    @staticmethod
    def _raise_for(message: tuple[Any, ...]) -> None:
        if message[0] == "error":
            raise EngineCallError(message[2], message[3])

    def complete(self, request: dict[str, Any]) -> dict[str, Any]:
        key = self.spec.key
        progress.generated(key, 0)
        try:
            for message in self._exchange("complete", request):
                self._raise_for(message)
                if message[0] == "progress":
                    progress.generated(key, message[2])
                elif message[0] == "result":
                    return message[2]
        finally:
            progress.engine_done(key)
        raise LocalEngineError(f"the local engine for {key} sent no result")

    def stream(self, request: dict[str, Any]) -> Iterator[str | dict[str, Any]]:
        for message in self._exchange("stream", request):
            self._raise_for(message)
            if message[0] != "progress":
                yield message[2]


class LocalEngine(Generic[R]):
    """The app's engines, one per model spec, made on first use; all closed at exit."""

    def __init__(self, make: Callable[[EngineSpec], R]) -> None:
        self._make = make
        self._runners: dict[EngineSpec, R] = {}
        self._lock = threading.Lock()

    def runner(self, spec: EngineSpec) -> R:
        with self._lock:
            if spec not in self._runners:
                self._runners[spec] = self._make(spec)
            return self._runners[spec]

    def runners(self) -> list[R]:
        with self._lock:
            return list(self._runners.values())

    def close(self) -> None:
        for runner in self.runners():
            runner.close()


ENGINE = LocalEngine(EngineRunner)
atexit.register(ENGINE.close)
