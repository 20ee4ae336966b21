"""Sandbox speed: ``sale-tui bench sandbox``.

Builds a throwaway git repo of N small files in nested folders, then measures: the snapshot
(``git archive`` of HEAD, and HEAD + uncommitted from the working tree), container create-to-
ready (container started, snapshot unpacked, baseline commit made) for a 3-file repo and for
the N-file repo, and the round trip of a trivial command (``true``) through ``docker exec``.
"""

from __future__ import annotations

import statistics
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from sale_tui.repo import snapshot
from sale_tui.sandboxes.workspace import Workspace


@dataclass(frozen=True)
class SandboxTiming:
    files: int
    snapshot_head_s: float
    snapshot_worktree_s: float
    snapshot_mb: float
    ready_small_s: float
    ready_large_s: float
    exec_p50_ms: float
    exec_p95_ms: float


def make_repo(root: Path, files: int) -> None:
    root.mkdir(parents=True)
    for i in range(files):
        folder = root / f"pkg{i % 50}" / f"mod{i % 7}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"file{i}.py").write_text(f"# file {i}\n" + "x = 1\n" * 40)
    for args in (
        ["init", "-q"],
        ["add", "-A"],
        ["-c", "user.name=b", "-c", "user.email=b@b", "commit", "-qm", "bench"],
    ):
        subprocess.run(["git", *args], cwd=root, check=True)


def measure(files: int = 5000, exec_runs: int = 50) -> SandboxTiming:
    with tempfile.TemporaryDirectory() as folder:
        small, large = Path(folder) / "small", Path(folder) / "large"
        make_repo(small, 3)
        make_repo(large, files)
        started = time.perf_counter()
        snap = snapshot(large)
        head_s = time.perf_counter() - started
        started = time.perf_counter()
        snapshot(large, with_uncommitted=True)
        worktree_s = time.perf_counter() - started
        with Workspace(snapshot(small), "bench-small") as ws:
            ready_small = ws.ready_s
            times = []
            for _ in range(exec_runs):
                t = time.perf_counter()
                ws.run("true")
                times.append((time.perf_counter() - t) * 1000)
        with Workspace(snap, "bench-large") as ws:
            ready_large = ws.ready_s
    times.sort()
    return SandboxTiming(
        files,
        round(head_s, 3),
        round(worktree_s, 3),
        round(len(snap.tar) / 1e6, 1),
        round(ready_small, 3),
        round(ready_large, 3),
        round(statistics.median(times), 1),
        round(times[int(0.95 * (len(times) - 1))], 1),
    )
