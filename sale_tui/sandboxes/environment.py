"""The agents' ``Environment`` backed by a sandbox workspace (paths relative to the repo)."""

from __future__ import annotations

import io
import shlex
import tarfile

from sale_tui.agents.environment import Outcome
from sale_tui.sandboxes.workspace import Workspace


class SandboxEnvironment:
    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace

    def run(self, command: str, timeout_s: float | None = None) -> Outcome:
        result = self.workspace.run(command, timeout_s=timeout_s)
        return Outcome(result.exit_code, result.output, result.timed_out)

    def read(self, path: str) -> str | None:
        quoted = shlex.quote(path)
        found = self.workspace.run(f"test -f {quoted} && cat -- {quoted}", timeout_s=30)
        return found.output if found.exit_code == 0 else None

    def write(self, path: str, content: str) -> None:
        mode = self.workspace.run(f"stat -c %a -- {shlex.quote(path)}", timeout_s=30)
        data = content.encode()
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w") as tar:
            info = tarfile.TarInfo(path.lstrip("/"))
            info.size, info.uid, info.gid = len(data), 1000, 1000
            info.mode = int(mode.output.strip(), 8) if mode.ok else 0o644
            tar.addfile(info, io.BytesIO(data))
        if self.workspace.box is None:
            raise RuntimeError("the workspace is not open")
        self.workspace.box.put_tar(buffer.getvalue())
