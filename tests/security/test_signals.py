"""Probe 10 of issue 18: signals and kills. Replayed: SIGTERM and SIGHUP (what `timeout`, a
service manager and a closed terminal send) left the container behind with no record; after
SIGKILL the container stayed and the rows said `running` for ever. TERM and HUP now clean up as
Ctrl-C does; the next job closes the rows of a run whose process is gone and removes its
containers. Real Docker, a real memory file, the real CLI."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import docker
import pytest

from sale_tui.auction.scoring import Weights
from sale_tui.config import Settings
from sale_tui.memory import AuctionMemory
from sale_tui.pipeline import JobPipeline, JobRequest
from sale_tui.prompting import PromptLibrary
from sale_tui.repo import snapshot
from sale_tui.runner import AuctionRunner
from sale_tui.sandboxes.docker_sandbox import DEFAULT_IMAGE, LABEL, OWNER
from tests.auction_helpers import bidder
from tests.sandbox_helpers import FIX, make_repo

pytestmark = pytest.mark.sandbox


def ours(job_marker: str) -> list[object]:
    return docker.from_env().containers.list(
        all=True, filters={"label": f"{LABEL}.job={job_marker}"}
    )


def dead_pid() -> int:
    gone = subprocess.Popen(["true"])
    gone.wait()
    return gone.pid


@pytest.mark.parametrize("sent", [signal.SIGTERM, signal.SIGHUP], ids=["TERM", "HUP"])
def test_term_and_hup_remove_the_container_like_ctrl_c(tmp_path: Path, sent: int) -> None:
    repo = make_repo(tmp_path / "repo")
    process = subprocess.Popen(
        [sys.executable, "-m", "sale_tui", "sandbox", "run", "--repo", str(repo), "sleep 120"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    client = docker.from_env()
    deadline = time.monotonic() + 60
    mine: list[object] = []
    while not mine and time.monotonic() < deadline:
        found = client.containers.list(filters={"label": LABEL})
        mine = [c for c in found if f":{process.pid}:" in c.labels.get(OWNER, "")]
        time.sleep(0.2)
    assert mine, "the sandbox never started"
    process.send_signal(sent)
    assert process.wait(timeout=30) == 130
    left = [c for c in client.containers.list(all=True, filters={"label": LABEL})
            if f":{process.pid}:" in c.labels.get(OWNER, "")]  # fmt: skip
    assert left == []


@pytest.mark.usefixtures("with_minilm")
def test_the_next_job_closes_a_killed_runs_rows_and_removes_its_container(
    tmp_path: Path,
) -> None:
    memory = AuctionMemory(tmp_path / "memory.db")
    job_id = memory.new_job("an earlier job", "coding")
    killed = memory.start_auction(job_id, ["worker"], Weights(), 256)
    memory.db.table("auctions").update(killed, {"pid": dead_pid()})
    memory.start_execution(killed, "worker")
    leftover = docker.from_env().containers.run(
        DEFAULT_IMAGE, ["sleep", "infinity"], detach=True, network_mode="none",
        labels={LABEL: "1", f"{LABEL}.job": "killed-run",
                OWNER: f"{socket.gethostname()}:{dead_pid()}:1"},
    )  # fmt: skip

    repo = make_repo(tmp_path / "repo")
    runner = AuctionRunner(
        Settings(), [bidder("worker", 0.1, actions=FIX)], memory, PromptLibrary()
    )
    pipeline = JobPipeline(runner, JobRequest("Fix add()", "coding", repo, snapshot(repo), ""))
    list(pipeline.run())
    assert pipeline.success

    row = memory.db.table("auctions").get(killed)
    assert row["status"] == "interrupted" and "ended without finishing" in row["reason"]
    [execution] = memory.executions(killed)
    assert execution["status"] == "interrupted"
    assert ours("killed-run") == []
    with pytest.raises(docker.errors.NotFound):
        leftover.reload()
    # the job that ran meanwhile kept its own rows
    assert memory.executions(pipeline.auction_id)[-1]["status"] == "success"
