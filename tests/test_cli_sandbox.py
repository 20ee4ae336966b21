"""`sale-tui sandbox` against the real daemon, and with no daemon at all."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import docker
import pytest

from sale_tui.sandboxes import DockerSandbox
from sale_tui.sandboxes.docker_sandbox import DEFAULT_IMAGE, LABEL, OWNER
from sale_tui.sandboxes.owners import owner_label
from tests.conftest import run_cli

pytestmark = pytest.mark.sandbox


def test_status_reports_daemon_and_image() -> None:
    result = run_cli("sandbox", "status", "--json")
    assert result.returncode == 0, result.stderr
    state = json.loads(result.stdout)
    assert state["daemon"] is True and state["built"] is True
    assert state["image"] == DEFAULT_IMAGE and state["size_mb"] > 50


def test_prune_removes_leftovers_but_spares_running_jobs_and_other_containers() -> None:
    client = docker.from_env()
    dead = subprocess.Popen(["true"])
    dead.wait()  # a pid whose process has exited: its container is a leftover
    gone_owner = client.containers.create(
        DEFAULT_IMAGE, ["sleep", "60"],
        labels={LABEL: "1", f"{LABEL}.job": "leftover", OWNER: owner_label(dead.pid)},
    )  # fmt: skip
    unlabelled_owner = client.containers.create(DEFAULT_IMAGE, ["sleep", "60"], labels={LABEL: "1"})
    other = client.containers.create(DEFAULT_IMAGE, ["sleep", "60"])
    try:
        with DockerSandbox("running-job") as running:
            state = json.loads(run_cli("sandbox", "status", "--json").stdout)
            assert state["leftover_containers"] >= 2 and state["running_jobs"] >= 1
            result = run_cli("sandbox", "prune")
            assert result.returncode == 0 and "removed" in result.stdout
            ids = {c.id for c in client.containers.list(all=True)}
            assert gone_owner.id not in ids and unlabelled_owner.id not in ids
            assert other.id in ids
            assert running.container is not None and running.container.id in ids
            assert running.run("echo still here").output.strip() == "still here"
    finally:
        other.remove(force=True)


def test_no_daemon_is_a_clear_error_with_the_fix(tmp_path: Path) -> None:
    nowhere = {"DOCKER_HOST": f"unix://{tmp_path}/no-docker.sock"}
    status = run_cli("sandbox", "status", "--json", env=nowhere)
    assert status.returncode == 0
    assert json.loads(status.stdout)["daemon"] is False
    prune = run_cli("sandbox", "prune", env=nowhere)
    assert prune.returncode == 3
    assert prune.stderr.count("\n") == 1
    assert "no Docker daemon answers" in prune.stderr and "install-docker.sh" in prune.stderr


def test_sandbox_run_round_trip_from_the_cli(tmp_path: Path) -> None:
    from tests.sandbox_helpers import git, make_repo

    repo = make_repo(tmp_path / "repo")
    (repo / "wip.txt").write_text("uncommitted\n")
    fix = "sed -i 's/a - b/a + b/' calc.py && python3 -c 'import calc; assert calc.add(2, 3) == 5'"
    refused = run_cli("sandbox", "run", fix, "--repo", str(repo))
    assert refused.returncode == 2
    assert "uncommitted changes" in refused.stderr and "--with-uncommitted" in refused.stderr
    shown = run_cli("sandbox", "run", fix, "--repo", str(repo), "--with-uncommitted")
    assert shown.returncode == 0, shown.stderr
    assert "+    return a + b" in shown.stdout
    assert "a - b" in (repo / "calc.py").read_text()  # shown, not applied
    applied = run_cli(
        "sandbox", "run", fix, "--repo", str(repo), "--head-only", "--apply", "branch"
    )
    assert applied.returncode == 0, applied.stderr
    branch = next(b.strip(" *") for b in git(repo, "branch").splitlines() if "sale/run-" in b)
    assert "a + b" in git(repo, "show", f"{branch}:calc.py")
    assert "Sale-Sandbox-Command: sed" in git(repo, "log", "-1", "--format=%B", branch)
    failing = run_cli("sandbox", "run", "exit 3", "--repo", str(repo), "--head-only")
    assert failing.returncode == 1 and "no changes" in failing.stdout
