"""The Docker sandbox and the git round trip, against a real daemon and real repos."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import pytest

from sale_tui.errors import RepoError
from sale_tui.repo import apply_patch, snapshot, undo
from sale_tui.sandboxes import DockerSandbox, SandboxLimits, Workspace, docker_sandbox
from sale_tui.sandboxes.docker_sandbox import LABEL
from sale_tui.sandboxes.housekeeping import status
from tests.sandbox_helpers import git, make_repo, tree_state

pytestmark = pytest.mark.sandbox

EDIT = (
    "sed -i 's/a - b/a + b/' calc.py && git mv old_name.py new_name.py && rm doomed.txt && "
    "printf 'hello\\n' > added.txt && chmod +x calc.py && "
    "python3 -c \"open('logo.bin','wb').write(bytes(reversed(range(256)))*8)\" && "
    "mkdir -p build && echo junk > build/out.o"
)


@pytest.fixture(scope="session", autouse=True)
def docker_ready() -> None:
    state = status()
    if not state.get("daemon") or not state.get("built"):
        pytest.fail(
            f"the sandbox tests need Docker and the image: {state} — run `make test`, "
            "which installs and starts both"
        )


def leftovers(job: str) -> list[object]:
    return docker.from_env().containers.list(all=True, filters={"label": f"{LABEL}.job={job}"})


def test_round_trip_of_every_kind_of_change(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    twin = make_repo(tmp_path / "twin")  # the same repo, edited by hand for the expected state
    with Workspace(snapshot(repo), "roundtrip") as ws:
        assert ws.run(EDIT).ok
        patch = ws.patch()
    subprocess.run(["sh", "-c", EDIT.replace("git mv", "git mv")], cwd=twin, check=True)
    expected = tree_state(twin)
    before = tree_state(repo)
    apply_patch(repo, patch, snapshot(repo), mode="worktree")
    after = tree_state(repo)
    assert after != before
    assert {k: v for k, v in after.items() if not k.startswith("build/")} == {
        k: v for k, v in expected.items() if not k.startswith("build/")
    }
    assert after["calc.py"][1] is True  # the executable bit came back
    assert "old_name.py" not in after and "new_name.py" in after
    assert b"rename from old_name.py" in patch and b"GIT binary patch" in patch
    assert "build/out.o" not in after  # ignored by the repo's .gitignore, so not in the patch


def test_snapshot_with_uncommitted_changes_respects_gitignore(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    (repo / "calc.py").write_text("def add(a, b):\n    return b - a\n")
    (repo / "notes.md").write_text("untracked but not ignored\n")
    (repo / "secret.env").write_text("OPENAI_API_KEY=sk-do-not-leak\n")
    (repo / "doomed.txt").unlink()
    with Workspace(snapshot(repo, with_uncommitted=True), "dirty") as ws:
        listing = ws.run("ls -a; cat calc.py").output
    assert "notes.md" in listing and "b - a" in listing
    assert "secret.env" not in listing and "doomed.txt" not in listing
    with Workspace(snapshot(repo), "clean") as ws:
        assert "a - b" in ws.run("cat calc.py").output


def test_no_network_no_host_env_read_only_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-host-secret")
    with DockerSandbox("isolation") as box:
        net = box.run("python3 -c \"import socket; socket.create_connection(('1.1.1.1', 53), 3)\"")
        assert not net.ok and "unreachable" in net.output.lower()
        env = box.run("env")
        assert "sk-host-secret" not in env.output and "OPENAI_API_KEY" not in env.output
        assert box.run("id -u").output.strip() == "1000"
        assert "Read-only file system" in box.run("touch /usr/evil").output
        assert not box.run("ls /var/run/docker.sock").ok


def test_writes_outside_the_workdir_do_not_reach_the_host(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    before = tree_state(repo)
    with Workspace(snapshot(repo), "outside") as ws:
        ws.run(f"echo pwned > /tmp/x; echo pwned > ../escape; echo pwned > {repo}/calc.py")
        ws.run("echo changed > calc.py")
    assert tree_state(repo) == before
    assert git(repo, "status", "--porcelain") == ""


def test_fork_bomb_and_memory_hog_are_contained() -> None:
    limits = SandboxLimits(memory="256m", pids=64)
    with DockerSandbox("bombs", limits=limits) as box:
        bomb = box.run(
            # counted with shell builtins only: `ps | wc` needs forks the bomb may have taken
            "bomb() { bomb | bomb & }; bomb; sleep 2; n=0; "
            "for p in /proc/[0-9]*; do n=$((n + 1)); done; echo $n",
            timeout_s=10,
        )
        assert "Cannot fork" in bomb.output  # the pids limit stopped it
        # bomb children still failing to fork may print after wc's count (under load)
        counts = [int(line) for line in bomb.output.splitlines() if line.strip().isdigit()]
        assert counts and counts[-1] <= 64, bomb.output[-500:]
        hog = box.run('python3 -c "x = bytearray(1024 * 1024 * 1024); print(len(x))"', timeout_s=30)
        assert hog.exit_code != 0 and "1073741824" not in hog.output
        box.run("pkill -9 -f bomb || true", timeout_s=10)
        assert box.run("echo alive", timeout_s=10).output.strip().endswith("alive")


def test_timeout_kills_the_command() -> None:
    with DockerSandbox("timeout") as box:
        result = box.run("sleep 30; echo never", timeout_s=1)
    assert result.timed_out and result.exit_code == 137
    assert result.seconds < 5 and "never" not in result.output


def test_output_is_capped() -> None:
    with DockerSandbox("cap", limits=SandboxLimits(output_cap_bytes=1000)) as box:
        result = box.run("yes abcdefgh | head -c 100000")
    assert result.truncated and len(result.output) < 1200
    assert result.output.endswith(
        "[sale-tui: output cut at 1000 bytes ([sandbox] output_cap_bytes)]\n"
    )


def test_container_is_removed_after_an_exception() -> None:
    with pytest.raises(RuntimeError), DockerSandbox("boom"):
        assert leftovers("boom")
        raise RuntimeError("agent crashed")
    assert leftovers("boom") == []


SIGINT_SCRIPT = textwrap.dedent("""
    import sys, time
    from sale_tui.sandboxes import DockerSandbox
    with DockerSandbox("ctrl-c") as box:
        print("ready", flush=True)
        box.run("sleep 60")
""")


def test_container_is_removed_after_ctrl_c() -> None:
    process = subprocess.Popen(
        [sys.executable, "-c", SIGINT_SCRIPT],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ.copy(),
    )
    assert process.stdout is not None and process.stdout.readline().strip() == "ready"
    assert leftovers("ctrl-c")
    process.send_signal(signal.SIGINT)
    process.wait(timeout=30)
    assert process.returncode != 0
    assert leftovers("ctrl-c") == []


def test_head_moved_unrelated_change_still_applies(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    snap = snapshot(repo)
    with Workspace(snap, "moved-ok") as ws:
        ws.run("sed -i 's/a - b/a + b/' calc.py")
        patch = ws.patch()
    (repo / "other.txt").write_text("new work\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "meanwhile")
    applied = apply_patch(repo, patch, snap, mode="branch", branch="sale/moved-ok")
    assert applied.head_before != snap.head
    assert "a + b" in git(repo, "show", "sale/moved-ok:calc.py")
    assert "new work" in git(repo, "show", "sale/moved-ok:other.txt")  # on top of the new HEAD


def test_head_moved_conflict_is_refused_and_nothing_changes(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    snap = snapshot(repo)
    with Workspace(snap, "moved-bad") as ws:
        ws.run("sed -i 's/a - b/a + b/' calc.py")
        patch = ws.patch()
    (repo / "calc.py").write_text("def add(a, b):\n    return sum((a, b))\n")
    git(repo, "commit", "-qam", "conflicting")
    before, head = tree_state(repo), git(repo, "rev-parse", "HEAD")
    for mode in ("worktree", "branch"):
        with pytest.raises(RepoError, match="HEAD moved"):
            apply_patch(repo, patch, snap, mode=mode, branch="sale/x")  # type: ignore[arg-type]
    assert tree_state(repo) == before and git(repo, "rev-parse", "HEAD") == head
    assert git(repo, "branch", "--list", "sale/x") == ""


def test_a_failing_apply_leaves_the_repo_exactly_as_it_was(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    snap = snapshot(repo)
    with Workspace(snap, "half") as ws:
        ws.run("sed -i 's/a - b/a + b/' calc.py && echo more >> doomed.txt")
        patch = ws.patch()
    (repo / "doomed.txt").write_text("locally edited, uncommitted\n")  # the 2nd file conflicts
    before = tree_state(repo)
    with pytest.raises(RepoError):
        apply_patch(repo, patch, snap, mode="worktree")
    assert tree_state(repo) == before  # calc.py was not half-applied


def test_branch_commit_has_trailers_and_leaves_the_tree_alone(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    (repo / "wip.txt").write_text("my uncommitted work\n")
    snap = snapshot(repo)
    with Workspace(snap, "branch") as ws:
        ws.run("sed -i 's/a - b/a + b/' calc.py")
        patch = ws.patch()
    before, head = tree_state(repo), git(repo, "rev-parse", "HEAD")
    trailers = {
        "Sale-Auction": "abc123",
        "Sale-Agent": "qwen-1.5b",
        "Sale-Model": "sale-local/qwen2.5-coder-1.5b",
        "Sale-Cost-USD": "0.0000123",
    }
    applied = apply_patch(
        repo, patch, snap, mode="branch", branch="sale/abc123", title="Fix add()", trailers=trailers
    )
    assert tree_state(repo) == before and git(repo, "rev-parse", "HEAD") == head
    message = git(repo, "log", "-1", "--format=%B", "sale/abc123")
    assert message.startswith("Fix add()")
    for key, value in trailers.items():
        assert f"{key}: {value}" in message
    parsed = git(repo, "log", "-1", "--format=%(trailers:key=Sale-Agent,valueonly)", "sale/abc123")
    assert parsed.strip() == "qwen-1.5b"
    assert applied.commit == git(repo, "rev-parse", "sale/abc123").strip()


def test_undo_reverts_worktree_and_branch(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    snap = snapshot(repo)
    with Workspace(snap, "undo") as ws:
        ws.run(EDIT)
        patch = ws.patch()
    before = tree_state(repo)
    applied = apply_patch(repo, patch, snap, mode="worktree")
    assert tree_state(repo) != before
    undo(repo, patch, applied)
    assert tree_state(repo) == before
    on_branch = apply_patch(repo, patch, snap, mode="branch", branch="sale/undo")
    undo(repo, patch, on_branch)
    assert git(repo, "branch", "--list", "sale/undo") == ""


def test_not_a_repo_and_empty_repo_are_clear_errors(tmp_path: Path) -> None:
    from sale_tui.errors import UsageError

    with pytest.raises(UsageError, match="not inside a git repository"):
        snapshot(tmp_path)
    git(tmp_path, "init", "-q")
    with pytest.raises(UsageError, match="no commits"):
        snapshot(tmp_path)


@pytest.mark.usefixtures("with_minilm")
def test_cli_undo_reverts_the_last_job_and_records_negative_feedback(
    tmp_path: Path, isolated_home: Path
) -> None:
    from sale_tui.auction import Weights
    from sale_tui.memory import AuctionMemory
    from tests.conftest import run_cli

    repo = make_repo(tmp_path / "repo")
    snap = snapshot(repo)
    with Workspace(snap, "cli-undo") as ws:
        ws.run("sed -i 's/a - b/a + b/' calc.py")
        patch = ws.patch()
    memory = AuctionMemory(isolated_home / "data" / "memory.db")
    auction = memory.start_auction(memory.new_job("Fix add()", "coding"), ["a"], Weights(), 256)
    memory.record_execution(auction, "a", "success", tests_passed=True)
    applied = apply_patch(repo, patch, snap, mode="worktree")
    memory.record_application(auction, str(repo), applied, patch)
    assert "a + b" in (repo / "calc.py").read_text()
    result = run_cli("undo", "--repo", str(repo))
    assert result.returncode == 0, result.stderr
    assert "a - b" in (repo / "calc.py").read_text()
    assert memory.outcome(auction) == "undone"
    again = run_cli("undo", "--repo", str(repo))
    assert again.returncode == 2 and "no applied job" in again.stderr


def test_hunks_can_be_chosen_one_by_one(tmp_path: Path) -> None:
    from sale_tui import patches

    repo = make_repo(tmp_path / "repo")
    (repo / "long.py").write_text("".join(f"line {i}\n" for i in range(60)))
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "long file")
    snap = snapshot(repo)
    with Workspace(snap, "hunks") as ws:
        ws.run(
            "sed -i 's/^line 2$/LINE TWO/; s/^line 50$/LINE FIFTY/' long.py && "
            "printf 'new\\n' > fresh.txt && printf '\\x00\\x01' > logo.bin"
        )
        patch = ws.patch()
    files = {f.path: f for f in patches.split(patch)}
    assert len(files["long.py"].hunks) == 2
    assert not files["logo.bin"].splittable  # binary: all or nothing
    chosen = patches.select(patch, [("long.py", 1), ("fresh.txt", None)])
    apply_patch(repo, chosen, snap, mode="worktree")
    text = (repo / "long.py").read_text()
    assert "LINE FIFTY" in text and "LINE TWO" not in text and "line 2\n" in text
    assert (repo / "fresh.txt").exists()
    assert (repo / "logo.bin").read_bytes() == bytes(range(256)) * 4  # not chosen: untouched


def test_limits_come_from_the_config() -> None:
    from sale_tui.config import SandboxConfig

    config = SandboxConfig(memory="512m", pids=99, network=False)
    limits = SandboxLimits.from_config(config, network=True)
    assert (limits.memory, limits.pids, limits.network) == ("512m", 99, True)
    with DockerSandbox("limits", limits=SandboxLimits.from_config(config)) as box:
        assert (
            box.run(
                "cat /sys/fs/cgroup/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids/pids.max"
            ).output.strip()
            == "99"
        )


def test_output_docker_drops_is_read_back_and_the_command_runs_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Docker sometimes loses a quick exec's output (moby#27289); seen in the TUI tests as an
    empty `cat`. Drop the first stream on purpose: the result must still be whole."""
    with DockerSandbox("lossy") as box:
        stream = box._stream
        calls: list[str] = []

        def lossy(script: str, *args: object, **kwargs: object) -> bytes:
            received = stream(script, *args, **kwargs)  # type: ignore[arg-type]
            calls.append(script)
            return b"" if len(calls) == 1 else received  # first time, Docker delivered nothing

        monkeypatch.setattr(box, "_stream", lossy)
        result = box.run("echo once >> /tmp/count; cat /tmp/count; exit 3")
        assert (result.output, result.exit_code) == ("once\n", 3)
        assert len(calls) == 2 and calls[1].startswith("cat /tmp/.sale-tui-log-")  # not re-run

        frames = docker_sandbox.frames
        dropped: list[bool] = []

        def lossy_frames(*args: Any) -> Iterator[tuple[int, bytes]]:
            received = list(frames(*args))
            if not dropped:
                dropped.append(True)
                return iter([])  # the stream came back empty
            return iter(received)

        monkeypatch.setattr(docker_sandbox, "frames", lossy_frames)
        assert box.read_bytes("cat /tmp/count") == b"once\n"
        assert dropped == [True]


def test_a_command_that_kills_its_own_shell_still_returns() -> None:
    with DockerSandbox("suicide") as box:
        result = box.run("echo before; pkill -9 -f suicide-marker; echo suicide-marker")
    assert "before" in result.output and result.exit_code == 137


def test_streamed_output_hides_the_sentinel_and_small_output_is_not_cut() -> None:
    shown: list[str] = []
    with DockerSandbox("stream", limits=SandboxLimits(output_cap_bytes=40)) as box:
        result = box.run("printf 1234567890123; exit 4", on_output=shown.append)
        cut = box.run("yes abcdefgh | head -c 1000")
    assert "".join(shown) == "1234567890123" and result.output == "1234567890123"
    assert result.exit_code == 4 and not result.truncated
    assert cut.truncated and cut.output.startswith("abcdefgh\n" * 4) and "output cut" in cut.output


def test_a_container_removed_under_a_run_is_a_one_line_error() -> None:
    from sale_tui.errors import SandboxError

    with DockerSandbox("pruned") as box:
        box.container.remove(force=True)  # type: ignore[union-attr]  # what prune does
        with pytest.raises(SandboxError, match="container is gone"):
            box.run("true")
