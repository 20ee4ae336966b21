"""Reading a sandbox command's output: Docker's framed exec stream under a deadline kept on
the host, the clean-up of processes a command leaves behind, and the sentinel line that ends
a command's output with its exit code."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

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


def frames(sock: socket.socket, deadline: float | None) -> Iterator[bytes]:
    """The payloads of an exec's output stream until it ends. Without a TTY, Docker frames
    it: an 8-byte header (stream, 0, 0, 0, big-endian size), then the payload. The deadline is
    the host's own: the container-side ``timeout`` cannot end a stream held open by a process
    that outlived it."""
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
            yield bytes(pending[8 : 8 + size])
            del pending[: 8 + size]


def split_sentinel(output: bytes, sentinel: str) -> tuple[str, int] | None:
    """(the command's output, its exit code) when the output ends with the sentinel line."""
    text = output.decode(errors="replace")
    head, found, rest = text.rpartition(f"\n{sentinel} ")
    if not found or not rest.endswith("\n") or not rest.strip().lstrip("-").isdigit():
        return None
    return head, int(rest.strip())
