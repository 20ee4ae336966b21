"""Integration: the engine worker process with the real SmolLM2 model — crashes, stops, and the
terminal left alone. SmolLM2 is for plumbing: nothing here asserts on what it says."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from sale_tui.config import Settings
from sale_tui.errors import LocalEngineError, StopRequested
from sale_tui.models.client import LiteLLMModel
from sale_tui.models.engine_client import ENGINE, EngineRunner
from sale_tui.roster import build_roster
from sale_tui.stopping import clear_stop, request_stop
from tests.test_auction_local import ROSTER as TWO_TINY

pytestmark = pytest.mark.local_model

LONG = [{"role": "user", "content": "Count from 1 to 2000, one number per line."}]
SHORT = [{"role": "user", "content": "Name a colour."}]
STORY = [{"role": "user", "content": "Write a very long story about a dragon who learns to code."}]


@pytest.fixture
def smollm(with_smollm: Path) -> Iterator[LiteLLMModel]:
    settings = Settings()
    agent = next(a for a in build_roster(settings) if a.name == "smollm2")
    yield LiteLLMModel.for_agent(agent, settings)
    clear_stop()


def runner_of(key: str = "smollm2-135m") -> EngineRunner:
    return next(r for r in ENGINE.runners() if r.spec.key == key)


def test_a_call_runs_in_a_worker_process_that_stays_loaded(smollm: LiteLLMModel) -> None:
    first = smollm.complete(SHORT, max_tokens=4)
    runner = runner_of()
    pid = runner.pid
    assert pid is not None and pid != os.getpid()
    assert runner.info is not None and runner.info["pid"] == pid
    second = smollm.complete(SHORT, max_tokens=4)
    assert runner.pid == pid  # the model stayed loaded in the same worker
    assert first.text == second.text  # greedy, same prompt


def test_a_running_call_reports_its_tokens_so_far_by_agent(smollm: LiteLLMModel) -> None:
    """What the front ends show while a model thinks ("… 48 tokens"): sampled from another
    thread during one real call, the count grows, and is gone once the call ends."""
    from sale_tui.models.progress import PROGRESS_EVERY, tokens_so_far

    smollm.complete(SHORT, max_tokens=2)  # loaded
    seen: list[int] = []
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            count = tokens_so_far("smollm2")
            if count is not None:
                seen.append(count)
            time.sleep(0.02)

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        reply = smollm.complete(STORY, max_tokens=200, logprobs=True)
    finally:
        done.set()
        sampler.join()
    assert reply.usage.completion_tokens > 4 * PROGRESS_EVERY
    assert seen == sorted(seen) and len(set(seen)) >= 3  # it moved, and only forward
    assert max(seen) <= reply.usage.completion_tokens + 1
    assert tokens_so_far("smollm2") is None  # nothing running now
    assert tokens_so_far("nobody") is None


def test_a_worker_killed_mid_call_is_one_error_and_the_next_call_works(
    smollm: LiteLLMModel,
) -> None:
    smollm.complete(SHORT, max_tokens=2)  # loaded
    pid = runner_of().pid
    assert pid is not None

    def kill_on_first_text(_: str) -> None:
        os.kill(pid, signal.SIGKILL)

    with pytest.raises(LocalEngineError) as raised:
        smollm.complete(LONG, max_tokens=2000, on_text=kill_on_first_text)
    line = raised.value.one_line()
    assert "\n" not in line
    assert "crashed: killed by SIGKILL" in line and "smollm2" in line
    assert "restarts on the next call" in line
    reply = smollm.complete(SHORT, max_tokens=4)
    assert reply.usage.completion_tokens > 0
    assert runner_of().pid not in (None, pid)  # a fresh worker


def test_a_segfault_names_the_signal(smollm: LiteLLMModel) -> None:
    smollm.complete(SHORT, max_tokens=2)
    pid = runner_of().pid
    assert pid is not None
    with pytest.raises(LocalEngineError, match=r"SIGSEGV \(Segmentation fault\)"):
        smollm.complete(LONG, max_tokens=2000, on_text=lambda _: os.kill(pid, signal.SIGSEGV))


def test_a_stop_during_a_long_generation_returns_at_once_and_keeps_the_model(
    smollm: LiteLLMModel,
) -> None:
    """The stop is asked for while tokens stream (2000 would take half a minute); the call
    ends within a few tokens, not when the stream would have ended, and the worker cancels
    at its next token, so the model stays loaded for the next call."""
    smollm.complete(SHORT, max_tokens=2)
    pid = runner_of().pid
    asked: list[float] = []
    after_stop: list[str] = []

    def stop_after_some_text(piece: str) -> None:
        if asked:
            after_stop.append(piece)
        elif len(piece) and time.monotonic() > started + 0.5:
            asked.append(time.monotonic())
            request_stop()

    started = time.monotonic()
    with pytest.raises(StopRequested):
        smollm.complete(STORY, max_tokens=2000, on_text=stop_after_some_text)
    took = time.monotonic() - asked[0]
    assert took < 2.0, f"the stop took {took:.1f} s"
    assert len(after_stop) <= 5, f"{len(after_stop)} more pieces streamed after the stop"
    clear_stop()
    assert smollm.complete(SHORT, max_tokens=4).usage.completion_tokens > 0
    assert runner_of().pid == pid  # cancelled, not killed


def test_a_stop_from_another_thread_cancels_a_plain_call(smollm: LiteLLMModel) -> None:
    """As in the TUI: the job's thread waits in a non-streamed call, the UI thread stops."""
    smollm.complete(SHORT, max_tokens=2)
    timer = threading.Timer(0.5, request_stop)
    timer.start()
    started = time.monotonic()
    try:
        with pytest.raises(StopRequested):
            smollm.complete(STORY, max_tokens=2000, logprobs=True)
    finally:
        timer.cancel()
    assert time.monotonic() - started < 2.5
    with pytest.raises(StopRequested):  # no new call starts until the stop is cleared
        smollm.complete(SHORT, max_tokens=2)


def test_a_stop_while_the_worker_loads_kills_it_and_the_next_call_starts_afresh(
    smollm: LiteLLMModel,
) -> None:
    ENGINE.close()  # the next call starts a worker and loads the model
    timer = threading.Timer(0.05, request_stop)
    timer.start()
    started = time.monotonic()
    try:
        with pytest.raises(StopRequested):
            smollm.complete(SHORT, max_tokens=2)
    finally:
        timer.cancel()
    assert time.monotonic() - started < 3.0
    assert runner_of().pid is None  # a load cannot be cancelled: the worker was killed
    clear_stop()
    assert smollm.complete(SHORT, max_tokens=2).usage.completion_tokens > 0


def test_a_worker_whose_app_dies_exits_too(with_smollm: Path) -> None:
    """No orphans: the app is SIGKILLed (it cannot clean up); its worker sees the socket
    close and exits by itself."""
    script = textwrap.dedent(
        """
        import sys
        from sale_tui.config import Settings
        from sale_tui.models.client import LiteLLMModel
        from sale_tui.models.engine_client import ENGINE
        from sale_tui.roster import build_roster
        settings = Settings()
        agent = next(a for a in build_roster(settings) if a.name == "smollm2")
        LiteLLMModel.for_agent(agent, settings).complete([{"role": "user", "content": "Hi"}],
                                                          max_tokens=2)
        print(ENGINE.runners()[0].pid, flush=True)
        sys.stdin.read()  # wait to be killed
        """
    )
    app = subprocess.Popen(
        [sys.executable, "-c", script],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "SALE_TUI_CACHE_DIR": str(with_smollm)},
    )
    assert app.stdout is not None
    worker = int(app.stdout.readline())
    os.kill(worker, 0)  # alive
    app.kill()
    app.wait()
    deadline = time.monotonic() + 10
    while Path(f"/proc/{worker}").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    state = Path(f"/proc/{worker}/stat")
    # gone, or a zombie waiting for init to reap it
    assert not state.exists() or state.read_text().split()[2] == "Z"


def test_the_apps_output_keeps_flowing_while_a_model_loads(with_smollm: Path) -> None:
    """llama.cpp points file descriptors 1 and 2 at /dev/null while it loads a model; in the
    app's own process that swallowed the TUI's frames. A thread prints numbered ticks while
    the main thread loads and calls the model: every tick must arrive."""
    script = textwrap.dedent(
        """
        import sys, threading, time
        from sale_tui.config import Settings
        from sale_tui.models.client import LiteLLMModel, litellm_module
        from sale_tui.roster import build_roster
        litellm_module()
        settings = Settings()
        agent = next(a for a in build_roster(settings) if a.name == "smollm2")
        model = LiteLLMModel.for_agent(agent, settings)
        done = threading.Event()
        def tick():
            n = 0
            while not done.is_set():
                sys.stdout.write(f"tick {n}\\n"); sys.stdout.flush(); n += 1
                time.sleep(0.002)
            sys.stdout.write(f"last {n - 1}\\n"); sys.stdout.flush()
        thread = threading.Thread(target=tick); thread.start()
        model.complete([{"role": "user", "content": "Hi"}], max_tokens=4)
        done.set(); thread.join()
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env={**os.environ, "SALE_TUI_CACHE_DIR": str(with_smollm)},
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    last = int(lines[-1].split()[1])
    ticks = [int(line.split()[1]) for line in lines if line.startswith("tick")]
    assert last > 10
    assert ticks == list(range(last + 1)), "some of the app's output was lost"


def test_an_engine_crash_during_a_bid_drops_that_bid_and_the_auction_goes_on(
    with_smollm: Path, with_minilm: Path, isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The worker is killed (as the OOM killer would) as the first agent bids: that bid is
    dropped with the cause, the memory keeps the reason, and the other agent's bid, the jury
    and the winner still happen, on a fresh worker."""
    from sale_tui.auction import Job
    from sale_tui.auction.events import BidDropped, WinnerChosen
    from sale_tui.runner import build_runner

    isolated_home.mkdir(parents=True, exist_ok=True)
    (isolated_home / "config.toml").write_text(TWO_TINY)  # two agents, one model
    ENGINE.close()
    runner = build_runner(None)
    killed: list[int] = []
    complete = EngineRunner.complete

    def killed_during_the_first_call(self: EngineRunner, request: dict) -> dict:
        if not killed:  # as the OOM killer would: the worker is up, the call is on its way
            self._connection()
            assert self.pid is not None
            killed.append(self.pid)
            os.kill(self.pid, signal.SIGKILL)
        return complete(self, request)

    monkeypatch.setattr(EngineRunner, "complete", killed_during_the_first_call)
    events = list(runner.run(Job("Explain what add() in calc.py does", "research", "")))
    assert killed
    dropped = [e for e in events if isinstance(e, BidDropped)]
    assert [d.agent for d in dropped] == ["tiny"]
    assert "crashed: killed by SIGKILL" in dropped[0].reason
    (winner,) = [e for e in events if isinstance(e, WinnerChosen)]
    assert winner.winner.agent == "tiny-pricey"
    rows = list(
        runner.memory.db.query(
            "select status, status_reason from bids where auction_id = ? and agent = 'tiny'",
            [runner.auction_ids[-1]],
        )
    )
    assert rows[0]["status"] == "dropped" and "SIGKILL" in rows[0]["status_reason"]


@pytest.mark.anyio
async def test_the_tui_paints_during_a_held_real_model_call_and_stops_within_seconds(
    with_smollm: Path, with_minilm: Path, tmp_path: Path
) -> None:
    """A real SmolLM2 agent is bidding when the test freezes its engine worker (SIGSTOP: a
    model call that does not answer, like a long prompt being read). The screen keeps
    changing; F8 ends the job within seconds (the worker is killed, since it cannot answer
    the cancel) and the auction is recorded as interrupted. (Removing the container on a stop
    during execution: test_tui.py, and Ctrl-C in `do`: test_do.py.)"""
    from textual.widgets import Static, TabbedContent

    from sale_tui.auction import AuctionAgent
    from sale_tui.memory import AuctionMemory
    from sale_tui.tui.app import SaleApp
    from sale_tui.tui.services import SandboxStatus
    from tests.sandbox_helpers import make_repo
    from tests.tui_helpers import ready, services_for, type_job, wait_until

    settings = Settings()
    agent = next(a for a in build_roster(settings) if a.name == "smollm2")
    model = LiteLLMModel.for_agent(agent, settings)
    memory_path = tmp_path / "memory.db"
    ok = SandboxStatus(True, "not used: the job is stopped in its auction")
    app = SaleApp(
        services_for(
            make_repo(tmp_path / "repo"),
            memory_path,
            [AuctionAgent("tiny", 0.1, model)],
            sandbox=lambda: ok,
        )
    )
    ENGINE.close()  # the job's first call starts the worker
    frozen: list[int] = []

    def bidding() -> bool:
        runners = [r for r in ENGINE.runners() if r.spec.key == "smollm2-135m"]
        return bool(runners) and runners[0].info is not None and runners[0].busy

    try:
        async with app.run_test(size=(100, 30)) as pilot:
            await ready(pilot)
            await type_job(pilot, "Fix add() in calc.py")
            await pilot.press("ctrl+r")
            await wait_until(pilot, bidding, timeout=60)
            pid = runner_of().pid
            assert pid is not None
            os.kill(pid, signal.SIGSTOP)
            frozen.append(pid)
            await pilot.pause(1.0)  # the call is held
            before = app.export_screenshot()
            await pilot.press("f6")
            assert app.query_one(TabbedContent).active == "history"
            assert app.export_screenshot() != before, "the screen did not change"
            await pilot.press("f2", "end", "!")
            assert app.query_one("#request").text.endswith("!")  # type: ignore[attr-defined]
            assert app.running and runner_of().busy  # all of that while the call was held
            status = app.query_one("#execution-status", Static)
            pressed = time.monotonic()
            await pilot.press("f8")
            await wait_until(pilot, lambda: not app.running, timeout=30)
            took = time.monotonic() - pressed
            assert took < 5.0, f"the stop took {took:.1f} s"
            assert "stopped" in str(status.render())
        assert runner_of().pid is None  # killed; the next call starts a fresh worker
        assert AuctionMemory(memory_path).auctions()[0]["status"] == "interrupted"
    finally:
        for pid in frozen:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        clear_stop()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def engine_workers_of(pid: int) -> list[int]:
    """The engine workers among a process's children (not git, docker or other helpers)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            try:
                command = Path(f"/proc/{child}/cmdline").read_bytes()
            except OSError:
                continue  # already gone
            if b"sale_tui.models.engine_worker" in command:
                found.append(int(child))
    return found


def test_ctrl_c_in_do_during_a_held_model_call_exits_within_seconds(
    with_smollm: Path, with_minilm: Path, isolated_home: Path, tmp_path: Path
) -> None:
    """`do` is in its auction, inside a model call; the test freezes the worker (a call that
    cannot answer) and presses Ctrl-C: `do` exits 130 in seconds, not when the call would
    have ended, the worker is gone and the auction is recorded as interrupted."""
    import json

    from sale_tui.memory.db import open_database
    from tests.sandbox_helpers import make_repo

    repo = make_repo(tmp_path / "repo")
    process = subprocess.Popen(
        [sys.executable, "-m", "sale_tui", "do", "Fix add()", "--repo", str(repo), "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "SALE_TUI_CACHE_DIR": str(with_smollm)},
    )
    assert process.stdout is not None
    started = json.loads(process.stdout.readline())  # the session and the base, then the auction
    assert started["event"] == "JobStarted"
    first = json.loads(process.stdout.readline())
    assert first["event"] == "AuctionStarted"
    deadline = time.monotonic() + 60
    while not (workers := engine_workers_of(process.pid)) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert workers, "no engine worker started"
    maps = Path(f"/proc/{workers[0]}/maps")
    while b".gguf" not in maps.read_bytes() and time.monotonic() < deadline:
        time.sleep(0.02)  # the model file is mapped: the worker is loading it or bidding
    time.sleep(0.5)
    os.kill(workers[0], signal.SIGSTOP)
    pressed = time.monotonic()
    process.send_signal(signal.SIGINT)
    process.wait(timeout=30)
    took = time.monotonic() - pressed
    assert process.returncode == 130, process.stderr.read() if process.stderr else ""
    assert took < 5.0, f"Ctrl-C took {took:.1f} s"
    time.sleep(0.5)
    state = Path(f"/proc/{workers[0]}/stat")
    assert not state.exists() or state.read_text().split()[2] == "Z"
    db = open_database(isolated_home / "data" / "memory.db")
    status = db.execute("SELECT status FROM auctions WHERE id = ?", [first["auction_id"]])
    assert status.fetchone() == ("interrupted",)
