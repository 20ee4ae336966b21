"""One Docker container per job, safe by default, always removed.

Defaults (ARCHITECTURE.md §4): no network, the image's non-root ``sandbox`` user, all
capabilities dropped and no privilege escalation, memory / CPU / pids limits, a read-only root
file system with size-capped tmpfs for ``/work`` (the repo snapshot), ``/tmp`` and the home
folder, no Docker socket and no host environment (API keys never enter). Every container is
labelled ``sale-tui.sandbox`` and with its owner process, so ``prune`` can find leftovers (their
owner is gone) without touching a running job's; ``DockerSandbox`` removes its container on
exit, on error and on Ctrl-C.

Commands run through ``timeout -s KILL`` inside the container, so a runaway command dies even if
the host side is interrupted; their output is streamed and capped.
"""

from __future__ import annotations

import contextlib
import io
import secrets
import socket
import tarfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import docker
import docker.errors
from docker.models.containers import Container

from sale_tui.errors import SandboxError
from sale_tui.sandboxes.exec_stream import (
    LOG_PREFIX,
    OutputHeldOpen,
    command_script,
    exit_code_of,
    frames,
    oom_kill_count,
    split_sentinel,
)
from sale_tui.sandboxes.limits import CommandResult, SandboxLimits
from sale_tui.sandboxes.owners import owner_label

LABEL = "sale-tui.sandbox"
OWNER = f"{LABEL}.owner"
"""``<host>:<pid>:<process start time>`` of the process that made the container."""
READ_BACK_TRIES = 5
HOST_GRACE_S = 5.0
"""How long past a command's own timeout the host waits for its output to end: the output can
outlive the command when a process it started holds it open and escaped the clean-up."""
DEFAULT_IMAGE = "sale-tui-sandbox:1"
WORKDIR = "/work"


def client() -> docker.DockerClient:
    try:
        docker_client = docker.from_env(timeout=30)
        docker_client.ping()
        return docker_client
    except docker.errors.DockerException as exc:
        raise SandboxError(
            "no Docker daemon answers",
            fix="start Docker (Debian, as root: `bash sandbox/install-docker.sh`)",
        ) from exc


def _require_image(docker_client: docker.DockerClient, image: str) -> None:
    try:
        docker_client.images.get(image)
    except docker.errors.ImageNotFound as exc:
        raise SandboxError(
            f"the sandbox image {image} is not built", fix="sale-tui sandbox build"
        ) from exc


@dataclass
class DockerSandbox:
    """``with DockerSandbox(job_id) as box: box.put_tar(...); box.run("pytest")``."""

    job_id: str
    image: str = DEFAULT_IMAGE
    limits: SandboxLimits = field(default_factory=SandboxLimits)
    container: Container | None = None
    created_s: float = 0.0
    oom_kills: int = 0
    """The container's OOM-kill count when last read."""

    def __enter__(self) -> DockerSandbox:
        docker_client = client()
        _require_image(docker_client, self.image)
        started = time.perf_counter()
        try:
            self.container = docker_client.containers.run(
                self.image,
                command=["sleep", "infinity"],
                detach=True,
                user="sandbox",
                working_dir=WORKDIR,
                labels={LABEL: "1", f"{LABEL}.job": self.job_id, OWNER: owner_label()},
                network_mode="bridge" if self.limits.network else "none",
                mem_limit=self.limits.memory,
                memswap_limit=self.limits.memory,  # no swap beyond the memory limit
                nano_cpus=int(self.limits.cpus * 1e9),
                pids_limit=self.limits.pids,
                read_only=True,
                tmpfs={
                    WORKDIR: f"size={self.limits.work_size},uid=1000,gid=1000,mode=0755,exec",
                    "/tmp": "size=256m,mode=1777,exec",
                    "/home/sandbox": "size=64m,uid=1000,gid=1000,mode=0755",
                },
                cap_drop=["ALL"],
                security_opt=["no-new-privileges"],
                environment={},
                init=True,
            )
        except docker.errors.APIError as exc:
            raise SandboxError(
                f"could not start a sandbox container: {exc.explanation}",
                fix="check `docker info` and `sale-tui sandbox status`",
            ) from exc
        self.created_s = time.perf_counter() - started
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        if self.container is not None:
            with contextlib.suppress(docker.errors.NotFound):
                self.container.remove(force=True)
            self.container = None

    def _container(self) -> Container:
        if self.container is None:
            raise SandboxError("the sandbox is not running")
        return self.container

    @staticmethod
    @contextlib.contextmanager
    def _gone_is_an_error() -> Iterator[None]:
        """The container removed under us (``sale-tui sandbox prune``, a Docker restart): one
        line, not a traceback."""
        try:
            yield
        except docker.errors.NotFound as exc:
            raise SandboxError(
                "the sandbox container is gone (removed by `sale-tui sandbox prune` or Docker)",
                fix="run the command again (benchmarks resume where they stopped)",
            ) from exc

    def put_tar(self, data: bytes, path: str = WORKDIR) -> None:
        """Unpack a tar into the sandbox by streaming it into ``tar -x`` over the exec's stdin.

        Docker's archive API refuses containers whose root file system is read-only, even
        when the target is a writable tmpfs, so the tar goes in the way a shell pipe would.
        """
        container = self._container()
        api: Any = container.client.api
        with self._gone_is_an_error():
            exec_id = api.exec_create(
                container.id, ["tar", "-x", "-C", path], stdin=True, user="sandbox", environment={}
            )["Id"]
        connection = api.exec_start(exec_id, socket=True)
        raw = connection._sock
        try:
            raw.sendall(data)
            raw.shutdown(socket.SHUT_WR)
            while raw.recv(65536):
                pass  # drain tar's output until it exits
        finally:
            raw.close()
        code = exit_code_of(api, exec_id)
        if code != 0:
            raise SandboxError(
                f"could not unpack files into the sandbox at {path} (tar exited {code})",
                fix="is the snapshot larger than the sandbox's work_size?",
            )

    def put_file(self, path: str, content: bytes, mode: int = 0o644) -> None:
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w") as tar:
            info = tarfile.TarInfo(path.rsplit("/", 1)[-1])
            info.size, info.mode, info.uid, info.gid = len(content), mode, 1000, 1000
            tar.addfile(info, io.BytesIO(content))
        self.put_tar(buffer.getvalue(), path.rsplit("/", 1)[0] or "/")

    def run(
        self,
        command: str,
        *,
        timeout_s: float | None = None,
        on_output: Callable[[str], None] | None = None,
        workdir: str = WORKDIR,
    ) -> CommandResult:
        """Run a shell command; output streamed to ``on_output`` and capped.

        Docker sometimes drops the output of an exec that ends quickly (moby#27289,
        docker-py#2042; seen here as an empty ``cat`` under load). So the first
        ``output_cap_bytes`` (+1, to tell a cut) of the output also go to a log in the
        container, the exit code to a file beside it, and the stream ends with a sentinel line
        that ``on_output`` never sees. No sentinel: the log is read back (that is safe to
        repeat; the command itself never runs twice).
        """
        timeout = timeout_s if timeout_s is not None else self.limits.command_timeout_s
        cap = self.limits.output_cap_bytes
        sentinel = f"__sale_tui_exit_{secrets.token_hex(4)}__"
        log = f"{LOG_PREFIX}{sentinel}"
        script = command_script(command, timeout=timeout, cap=cap, sentinel=sentinel, log=log)
        started = time.perf_counter()
        held_open = False
        try:
            streamed = self._stream(
                script,
                workdir,
                on_output,
                hold_back=len(sentinel) + 8,
                deadline=time.monotonic() + timeout + HOST_GRACE_S,
            )
            found = split_sentinel(streamed, sentinel)
        except OutputHeldOpen:  # a process that cleared its environment holds the output
            held_open, found = True, None
        if found is None:  # the stream was cut short, or the command killed its own shell
            found = self._read_back(log, workdir)
        output, exit_code = found
        timed_out = exit_code == 137 and (time.perf_counter() - started) >= timeout * 0.95
        # What the command's own output cannot say, said after it (and to on_output, which
        # showed the output as it came): a line each.
        notes = []
        truncated = len(output.encode()) > cap
        if truncated:
            output = output.encode()[:cap].decode(errors="replace")
            notes.append(f"output cut at {cap} bytes ([sandbox] output_cap_bytes)")
        if held_open:
            notes.append(
                f"stopped waiting {timeout + HOST_GRACE_S:g} s in: a process the command "
                "started kept its output open"
            )
        if exit_code == 137 and not timed_out and self._ran_out_of_memory():
            notes.append(
                f"killed: out of memory (the sandbox has {self.limits.memory}; "
                "raise [sandbox] memory)"
            )
        for note in notes:
            line = f"\n[sale-tui: {note}]\n"
            output += line
            if on_output:
                on_output(line)
        return CommandResult(
            command,
            exit_code,
            output,
            timed_out=timed_out,
            truncated=truncated,
            seconds=time.perf_counter() - started,
        )

    def _ran_out_of_memory(self) -> bool:
        """Whether the kernel's OOM killer struck in this container since the last check
        (its counter: cgroup v2 ``memory.events``, v1 ``memory.oom_control``)."""
        found = self.read_bytes(
            "cat /sys/fs/cgroup/memory.events /sys/fs/cgroup/memory/memory.oom_control "
            "2>/dev/null; true"
        )
        count = oom_kill_count(found.decode(errors="replace"))
        struck, self.oom_kills = count > self.oom_kills, count
        return struck

    def _read_back(self, log: str, workdir: str) -> tuple[str, int]:
        """The command's log and exit code (137 when its shell was killed before writing one),
        read until a read is known to be complete."""
        done = f"__sale_tui_read_{secrets.token_hex(4)}__"
        code = f"$(cat {log}.rc 2>/dev/null || echo 137)"
        script = f"cat {log} 2>/dev/null; printf '\\n{done} %s\\n' \"{code}\""
        for _ in range(READ_BACK_TRIES):
            try:
                streamed = self._stream(script, workdir, None, deadline=time.monotonic() + 30)
            except OutputHeldOpen:  # a `cat` of our own log that never ends: try again
                continue
            found = split_sentinel(streamed, done)
            if found is not None:
                return found
            time.sleep(0.05)
        raise SandboxError(
            "lost the output of a sandbox command (Docker dropped it repeatedly)",
            fix="run the job again; if it persists, restart Docker",
        )

    def _stream(
        self,
        script: str,
        workdir: str,
        on_output: Callable[[str], None] | None,
        hold_back: int = 0,
        deadline: float | None = None,
    ) -> bytes:
        """One exec of ``sh -c script`` (whose output the script itself bounds): everything it
        printed. ``on_output`` gets the text as it comes, except the last
        ``hold_back`` bytes (where the sentinel line is), given at the end minus the sentinel.
        Raises ``OutputHeldOpen`` when the output has not ended by ``deadline`` (monotonic)."""
        container = self._container()
        api: Any = container.client.api
        with self._gone_is_an_error():
            exec_id = api.exec_create(
                container.id, ["sh", "-c", script], workdir=workdir, user="sandbox", environment={}
            )["Id"]
        received = bytearray()
        shown = 0
        connection = api.exec_start(exec_id, socket=True)
        try:
            for _, chunk in frames(connection._sock, deadline):
                received += chunk
                if on_output and len(received) - hold_back > shown:
                    on_output(received[shown : len(received) - hold_back].decode(errors="replace"))
                    shown = len(received) - hold_back
        except OutputHeldOpen:
            if on_output and len(received) > shown:  # no sentinel came: all of it is output
                on_output(received[shown:].decode(errors="replace"))
            raise
        finally:
            connection.close()
        if on_output:
            rest = bytes(received[shown:])
            cut = rest.rfind(b"\n__sale_tui_")
            rest = rest[:cut] if cut >= 0 else rest
            if rest:
                on_output(rest.decode(errors="replace"))
        return bytes(received)

    def read_bytes(self, command: str, timeout_s: float = 300.0) -> bytes:
        """The full stdout of a command (no cap): for diffs and archives. The command must be
        safe to repeat: when Docker drops the output (see ``run``), it runs again. It must end
        within ``timeout_s`` (the host's deadline), or this is a ``SandboxError``."""
        sentinel = f"__sale_tui_done_{secrets.token_hex(4)}__".encode()
        # braces and a newline: a command ending in a comment or `&` still gets the sentinel
        script = f"{{ {command}\n}} && printf %s {sentinel.decode()}"
        container = self._container()
        api: Any = container.client.api
        for _ in range(READ_BACK_TRIES):
            stdout, stderr = bytearray(), bytearray()
            with self._gone_is_an_error():
                exec_id = api.exec_create(
                    container.id, ["sh", "-c", script], workdir=WORKDIR, user="sandbox",
                    environment={},
                )["Id"]  # fmt: skip
            connection = api.exec_start(exec_id, socket=True)
            try:
                for stream, payload in frames(connection._sock, time.monotonic() + timeout_s):
                    (stderr if stream == 2 else stdout).extend(payload)
            except OutputHeldOpen:
                raise SandboxError(
                    f"a sandbox command did not finish in {timeout_s:g} s: {command[:80]}",
                    fix="run the job again; the work may hold a process or a file git waits on",
                ) from None
            finally:
                connection.close()
            exit_code = exit_code_of(api, exec_id)
            if exit_code is None:  # the exec's end was not seen either: try again
                time.sleep(0.05)
                continue
            if exit_code != 0:
                raise SandboxError(
                    f"sandbox command failed: {command}: {stderr.decode(errors='replace')[:300]}"
                )
            if stdout.endswith(sentinel):
                return bytes(stdout[: -len(sentinel)])
            time.sleep(0.05)
        raise SandboxError(
            f"lost the output of a sandbox command: {command[:80]}",
            fix="run the job again; if it persists, restart Docker",
        )
