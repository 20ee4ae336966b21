"""The engine worker: a child process that owns one loaded llama.cpp model, as Ollama's runner
owns one beside its server. Started by ``engine_client`` as
``python -m sale_tui.models.engine_worker --fd N``; it speaks over the socket ``N`` only (its
stdout and stderr go to a log file, where llama.cpp writes what it has to say).

Messages are pickled tuples (``multiprocessing.connection`` frames them)::

    parent → worker   ("load", spec) | ("complete", id, request) | ("stream", id, request)
                      | ("cancel", id)
    worker → parent   ("loaded", info) | ("result", id, output) | ("chunk", id, text)
                      | ("done", id, end) | ("cancelled", id) | ("error", id, kind, message)
                      | ("progress", id, tokens generated so far)

A reader thread takes messages off the socket while the main thread generates, so a cancel
lands at the next token. When the parent goes away (its end of the socket closes) the
worker exits at once, whatever it was doing.
"""

from __future__ import annotations

import argparse
import os
import queue
import threading
from dataclasses import asdict
from multiprocessing.connection import Connection
from typing import Any

from sale_tui.models.llama_engine import Cancelled, LoadedModel
from sale_tui.models.progress import PROGRESS_EVERY


def _no_core_dumps() -> None:
    """A crash must end the call at once: a core dump of a loaded model takes gigabytes of
    disk and long seconds, during which the app would wait."""
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    except (ImportError, ValueError, OSError):
        pass


def _prefer_me_when_memory_runs_out() -> None:
    """A model is what runs a machine out of memory: let the OOM killer take this process
    (it restarts on the next call) rather than the app that started it."""
    try:
        with open("/proc/self/oom_score_adj", "w") as handle:
            handle.write("800")
    except OSError:
        pass  # not Linux, or not allowed: the kernel chooses as it always does


class Worker:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.inbox: queue.Queue[tuple[Any, ...]] = queue.Queue()
        self.cancelled: set[int] = set()
        self.model: LoadedModel | None = None

    def read_forever(self) -> None:
        while True:
            try:
                message = self.conn.recv()
            except (EOFError, OSError):
                os._exit(0)  # the parent is gone: nobody is waiting for anything here
            except BaseException:  # a garbled frame: a deaf worker would outlive the app
                os._exit(1)
            if message[0] == "cancel":
                self.cancelled.add(message[1])  # seen by the generating thread's next token
            else:
                self.inbox.put(message)

    def serve(self) -> None:
        threading.Thread(target=self.read_forever, name="engine-reader", daemon=True).start()
        while True:
            message = self.inbox.get()
            kind = message[0]
            if kind == "load":
                self._load(message[1])
                continue
            request_id, request = message[1], message[2]
            try:
                self._run(kind, request_id, request)
            except Cancelled:
                self.conn.send(("cancelled", request_id))
            except Exception as exc:  # the parent turns it into the caller's error
                self.conn.send(("error", request_id, type(exc).__name__, str(exc)))
            finally:
                self.cancelled.discard(request_id)

    def _load(self, spec: dict[str, Any]) -> None:
        try:
            self.model = LoadedModel(
                spec["path"], spec["n_ctx"], spec["n_threads"], spec["extra_buffers"]
            )
        except Exception as exc:
            self.conn.send(("error", None, type(exc).__name__, str(exc)))
            return
        self.conn.send(("loaded", {**asdict(self.model.info), "pid": os.getpid()}))

    def _run(self, kind: str, request_id: int, request: dict[str, Any]) -> None:
        model = self.model
        if model is None:
            raise RuntimeError("no model is loaded in this engine worker")

        def should_stop() -> bool:
            return request_id in self.cancelled

        generated = 0

        def counting() -> bool:
            # asked once per generated token: every few, say how far the call has got
            nonlocal generated
            generated += 1
            if generated % PROGRESS_EVERY == 0:
                self.conn.send(("progress", request_id, generated))
            return should_stop()

        if should_stop():
            raise Cancelled
        if kind == "complete":
            self.conn.send(("result", request_id, model.complete(request, counting)))
            return
        for piece in model.stream(request, should_stop):
            if isinstance(piece, str):
                self.conn.send(("chunk", request_id, piece))
            else:
                self.conn.send(("done", request_id, piece))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fd", type=int, required=True, help="the socket to the parent")
    args = parser.parse_args()
    _prefer_me_when_memory_runs_out()
    _no_core_dumps()
    Worker(Connection(args.fd)).serve()


if __name__ == "__main__":
    main()
