"""Which process owns a sandbox container: every container is labelled with its maker's
``<host>:<pid>:<process start time>``, so leftovers can be told from a running job's even
when the pid has been reused."""

from __future__ import annotations

import os
import socket
from pathlib import Path


def started_at(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (Linux), to tell a reused pid."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rpartition(")")[2].split()[19]  # field 22; the name before ")" may hold spaces


def owner_label(pid: int | None = None) -> str:
    pid = os.getpid() if pid is None else pid
    return f"{socket.gethostname()}:{pid}:{started_at(pid) or ''}"
