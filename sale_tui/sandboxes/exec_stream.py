"""Reading a sandbox command's output: Docker's framed exec stream under a deadline kept on
the host, the clean-up of processes a command leaves behind, and the sentinel line that ends
a command's output with its exit code."""

from __future__ import annotations

import shlex
import socket
import time
from collections.abc import Iterator
from typing import Any

LOG_PREFIX = "/tmp/.sale-tui-log-"
RUN_MARKER = "SALE_TUI_RUN"
"""An environment variable every process of one command inherits: when the command ends, the
processes still carrying it (a server left running with ``&``) are killed."""


class OutputHeldOpen(Exception):
    """An exec's output did not end by its deadline."""


def kill_marked(marker: str) -> str:
    """Shell that kills every process whose environment carries ``RUN_MARKER=marker``."""
    return (
        f"for p in /proc/[0-9]*; do grep -qsxz '{RUN_MARKER}={marker}' \"$p/environ\" && "
        f'kill -9 "${{p#/proc/}}"; done 2>/dev/null'
    )


def frames(sock: socket.socket, deadline: float | None) -> Iterator[tuple[int, bytes]]:
    """(stream: 1 stdout, 2 stderr; payload) of an exec's output until it ends. Without a TTY,
    Docker frames it: an 8-byte header (stream, 0, 0, 0, big-endian size), then the payload.
    Linear in the output's size (docker-py's own demux joins by ``+=``: a 40 MB diff took
    minutes). The deadline is the host's own: the container-side ``timeout`` cannot end a
    stream held open by a process that outlived it."""
    pending = bytearray()
    while True:
        if deadline is not None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise OutputHeldOpen()
            sock.settimeout(remaining)
        try:
            data = sock.recv(65536)
        except TimeoutError:
            raise OutputHeldOpen() from None
        if not data:
            return
        pending += data
        while len(pending) >= 8:
            size = int.from_bytes(pending[4:8], "big")
            if len(pending) < 8 + size:
                break
            yield pending[0], bytes(pending[8 : 8 + size])
            del pending[: 8 + size]


def split_sentinel(output: bytes, sentinel: str) -> tuple[str, int] | None:
    """(the command's output, its exit code) when the output ends with the sentinel line."""
    text = output.decode(errors="replace")
    head, found, rest = text.rpartition(f"\n{sentinel} ")
    if not found or not rest.endswith("\n") or not rest.strip().lstrip("-").isdigit():
        return None
    return head, int(rest.strip())


def exit_code_of(api: Any, exec_id: str) -> int | None:
    """An exec's exit code once Docker says it has ended (None if it does not within 5 s)."""
    for _ in range(100):
        state = api.exec_inspect(exec_id)
        if not state["Running"]:
            code = state["ExitCode"]
            return code if isinstance(code, int) else None
        time.sleep(0.05)
    return None


def command_script(command: str, *, timeout: float, cap: int, sentinel: str, log: str) -> str:
    """The shell that runs one sandbox command: under ``timeout -s KILL``, its output capped
    and logged, its exit code kept beside the log, a sentinel line at the end."""
    # The clean-up runs on the pipe's writing side, after the command: a process left
    # behind holding the pipe would keep `head` and `cat`, and so this exec, waiting.
    # `head` writes through stdio, which holds 4 KB back on a pipe: stdbuf lets the output
    # stream as it comes (plain `head` where an image has no stdbuf). Chosen with builtins, so
    # no extra process counts against the sandbox's pids limit.
    head = f"$unbuffered head -c {cap + 1}"
    script = (
        "unbuffered=; command -v stdbuf >/dev/null && unbuffered='stdbuf -o0'; "
        f"rm -f {LOG_PREFIX}*; "  # the previous command's log, not needed any more
        f"{{ {{ timeout -s KILL {timeout:g} env {RUN_MARKER}={sentinel} "
        f"sh -c {shlex.quote(command)}; echo $? > {log}.rc; {kill_marked(sentinel)}; "
        f"}} 2>&1 | {{ {head} | tee {log}; cat > /dev/null; }}; "
        f"printf '\\n{sentinel} %s\\n' \"$(cat {log}.rc 2>/dev/null || echo 137)\"; }}"
    )
    return script


def oom_kill_count(counters: str) -> int:
    """The ``oom_kill N`` count in a cgroup's memory.events (v2) or memory.oom_control (v1)."""
    kills = [int(words[1]) for words in map(str.split, counters.splitlines())
             if len(words) == 2 and words[0] == "oom_kill" and words[1].isdigit()]  # fmt: skip
    return max(kills, default=0)
