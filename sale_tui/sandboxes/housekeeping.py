"""Sandbox housekeeping: which containers a running sale-tui process owns, which were left
behind (their owner exited without cleaning up: killed, crashed, a lost machine), ``prune``
and ``status``.

Each container carries its owner's ``<host>:<pid>:<process start time>``; the start time
tells a pid the system has since given to another process.
"""

from __future__ import annotations

import os
import socket
from typing import Any

import docker.errors
from docker.models.containers import Container

from sale_tui.errors import SandboxError
from sale_tui.sandboxes.docker_sandbox import DEFAULT_IMAGE, LABEL, OWNER, client
from sale_tui.sandboxes.owners import started_at


def owner_alive(label: str | None) -> bool:
    """Whether the process that made a container still runs (on this host, same start time).
    A container without the label (made before it existed) counts as left behind."""
    host, _, rest = (label or "").partition(":")
    pid, _, started = rest.partition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    if started:
        return started_at(int(pid)) == started
    try:
        os.kill(int(pid), 0)  # no /proc (macOS): is the pid alive at all
    except PermissionError:
        return True
    except OSError:
        return False
    return True


def _containers(docker_client: Any, *, in_use: bool) -> list[Container]:
    found = docker_client.containers.list(all=True, filters={"label": LABEL})
    return [c for c in found if owner_alive(c.labels.get(OWNER)) == in_use]


def prune(*, this_host_only: bool = False) -> int:
    """Remove the sandbox containers whose owner process is gone; returns how many.
    ``this_host_only``: leave those another machine made (a shared daemon) alone, as the
    clean-up before each job does."""
    leftovers = _containers(client(), in_use=False)
    if this_host_only:
        host = socket.gethostname() + ":"
        leftovers = [c for c in leftovers if c.labels.get(OWNER, "").startswith(host)]
    removed = 0
    for container in leftovers:
        try:
            container.remove(force=True)
            removed += 1
        except docker.errors.APIError:  # gone already: another job's clean-up was first
            pass
    return removed


def status(image: str = DEFAULT_IMAGE) -> dict[str, Any]:
    """Daemon, image and leftover containers, for ``sale-tui sandbox status``."""
    try:
        docker_client = client()
    except SandboxError as exc:
        return {"daemon": False, "detail": exc.one_line()}
    version = docker_client.version().get("Version")
    try:
        found = docker_client.images.get(image)
        image_info = {
            "image": image,
            "built": True,
            "size_mb": round((found.attrs.get("Size") or 0) / 1e6),
        }
    except docker.errors.ImageNotFound:
        image_info = {"image": image, "built": False}
    return {
        "daemon": True,
        "docker_version": version,
        **image_info,
        "leftover_containers": len(_containers(docker_client, in_use=False)),
        "running_jobs": len(_containers(docker_client, in_use=True)),
    }
