"""A repo snapshot inside a sandbox, and the work that comes out of it as a patch.

The snapshot becomes a fresh git repository in the container (one "snapshot" commit), so
whatever the agent does there comes back as ``git diff --binary -M`` against that commit:
new, deleted, renamed and binary files and file modes included.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from sale_tui.errors import SandboxError
from sale_tui.repo import Snapshot
from sale_tui.sandboxes.docker_sandbox import (
    DEFAULT_IMAGE,
    CommandResult,
    DockerSandbox,
    SandboxLimits,
)

BASELINE = (
    "git init -q && git add -A && "
    "git -c commit.gpgsign=false commit -q --allow-empty --no-verify -m snapshot"
)
# The work tree's .git/config is the agent's to change: the flags pin what the diff looks like
# (no external diff or textconv driver, plain a/ b/ prefixes, quoted odd names).
DIFF = (
    "git -c core.fsmonitor=false add -A && "
    "git -c core.quotePath=true diff --cached --binary -M --no-ext-diff "
    "--no-textconv --no-color --src-prefix=a/ --dst-prefix=b/ HEAD"
)
PATCH_FILE = "/tmp/.sale-tui-work.patch"
MAX_PATCH_BYTES = 100_000_000
"""The largest diff brought back: past it the work is refused, not read whole into memory."""


@dataclass
class Workspace:
    snapshot: Snapshot
    job_id: str
    image: str = DEFAULT_IMAGE
    limits: SandboxLimits = field(default_factory=SandboxLimits)
    ready_s: float = 0.0
    box: DockerSandbox | None = None

    def __enter__(self) -> Workspace:
        started = time.perf_counter()
        self.box = DockerSandbox(self.job_id, self.image, self.limits).__enter__()
        try:
            self.box.put_tar(self.snapshot.tar)
            baseline = self.box.run(BASELINE, timeout_s=120)
            if not baseline.ok:
                raise SandboxError(
                    f"could not record the snapshot in the sandbox: "
                    f"{baseline.output.strip()[-300:]}"
                )
        except BaseException:
            self.box.close()
            raise
        self.ready_s = time.perf_counter() - started
        return self

    def run(self, command: str, **kwargs: Any) -> CommandResult:
        if self.box is None:
            raise SandboxError("the workspace is not open")
        return self.box.run(command, **kwargs)

    def __exit__(self, *exc_info: object) -> None:
        if self.box is not None:
            self.box.close()

    def patch(self) -> bytes:
        """Everything changed in the sandbox since the snapshot, as a binary git diff."""
        if self.box is None:
            raise SandboxError("the workspace is not open")
        patch = self.box.read_bytes(f"{DIFF} | head -c {MAX_PATCH_BYTES + 1}")
        if len(patch) > MAX_PATCH_BYTES:
            raise SandboxError(
                f"the work's diff is over {MAX_PATCH_BYTES // 1_000_000} MB",
                fix="keep generated or downloaded files out of the repo (.gitignore them)",
            )
        return patch

    def apply(self, patch: bytes) -> CommandResult:
        """Apply a patch made by ``patch()`` to this workspace's snapshot."""
        if self.box is None:
            raise SandboxError("the workspace is not open")
        self.box.put_file(PATCH_FILE, patch)
        return self.box.run(f"git apply --binary --whitespace=nowarn {PATCH_FILE}", timeout_s=120)
