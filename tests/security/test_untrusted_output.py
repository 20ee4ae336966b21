"""Probes 7, 8, 9 and 11 of issue 18: untrusted text (sandbox output, diffs, model replies, job
texts) is shown inert, never read as markup, never re-wrapped; sizes are bounded and parsing
is linear; bad input gets one line with the fix. Each replays what the probe did, through the
real CLI, real Docker, a real memory file, and a fake provider at the model seam."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sale_tui.agents import StepRan
from sale_tui.agents.actions import Action, ActionError, parse
from sale_tui.agents.native_tools import from_tool_call
from sale_tui.auction import Job
from sale_tui.cli_common import InertConsole
from sale_tui.config import ModelCallConfig, Settings
from sale_tui.memory import AuctionMemory
from sale_tui.models.client import LiteLLMModel
from sale_tui.prompting import PromptLibrary
from sale_tui.protocols import ToolCall
from sale_tui.render import job_event_line
from sale_tui.roster import Agent
from sale_tui.runner import AuctionRunner
from tests.auction_helpers import bidder
from tests.conftest import run_cli
from tests.sandbox_helpers import git, make_repo
from tests.security.fake_provider import fake_provider

HOSTILE = r"\033[2J\033[1A\033[2K\033]52;c;aGVsbG8=\007 [/] [exit 0] root:x:0:0 :x:"


def no_escapes(text: str) -> bool:
    return "\x1b" not in text and "\x9b" not in text and "\x07" not in text


@pytest.mark.sandbox
def test_sandbox_output_and_diffs_reach_the_terminal_inert_and_unwrapped(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    long_line = "x = '" + "y" * 300 + "'"
    ran = run_cli(
        "sandbox", "run", "--repo", str(repo),
        f"printf '{HOSTILE}\\n'; printf \"{long_line}\\n\\033[2K\" >> calc.py",
    )  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    assert no_escapes(ran.stdout)
    assert "␛[2J" in ran.stdout and "␛]52;c;aGVsbG8=" in ran.stdout  # visible, not done
    assert "[/] [exit 0] root:x:0:0 :x:" in ran.stdout  # no markup, no emoji codes
    assert f"+{long_line}" in ran.stdout  # the diff line as applied, not cut at 80 columns


@pytest.mark.sandbox
def test_a_big_binary_artefact_is_summarised_and_a_cut_output_says_so(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    ran = run_cli(
        "sandbox", "run", "--repo", str(repo),
        "head -c 10000000 /dev/urandom > blob.bin; head -c 300000 /dev/zero | tr '\\0' a",
    )  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    assert "(binary: 12" in ran.stdout  # ~12,900 KB of base85 for 10 MB
    assert "KB of base85 not shown" in ran.stdout
    assert "output cut at 200000 bytes" in ran.stdout
    assert len(ran.stdout) < 500_000  # was: 13 MB of base85 printed (95 s)


@pytest.mark.sandbox
def test_running_out_of_memory_is_named(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    ran = run_cli(
        "sandbox", "run", "--repo", str(repo),
        "python3 -c 'x = bytearray(1024 ** 3)'",
        env={"SALE_TUI__SANDBOX__MEMORY": "256m"},
    )  # fmt: skip
    assert "exit 137" in ran.stdout
    assert "out of memory (the sandbox has 256m" in ran.stdout, ran.stdout


def test_a_model_action_with_markup_is_a_line_not_a_crash() -> None:
    step = StepRan(
        1, Action("run", "echo '[/]' \x1b[2J"), "", "[/] [exit 0]\x1b]52;c;x\x07", 0, 0, 0
    )
    buffer = io.StringIO()
    InertConsole(file=buffer, width=80).print(job_event_line(step))
    shown = buffer.getvalue()
    assert "echo '[/]' ␛[2J" in shown and "[/] [exit 0]" in shown and no_escapes(shown)


@pytest.mark.usefixtures("with_minilm")
def test_history_and_show_print_a_hostile_job_text(isolated_home: Path) -> None:
    memory = AuctionMemory(isolated_home / "data" / "memory.db")
    runner = AuctionRunner(Settings(), [bidder("small", 0.1)], memory, PromptLibrary())
    list(runner.run(Job("Fix [/] the \x1b[2J :x: parser", "coding", "")))
    listed = run_cli("history", env={"COLUMNS": "120"})
    assert listed.returncode == 0, listed.stderr
    assert "Fix [/] the ␛" in listed.stdout and no_escapes(listed.stdout)  # a narrow column
    shown = run_cli("show", memory.auctions()[0]["id"])
    assert shown.returncode == 0, shown.stderr
    assert "Fix [/] the ␛[2J :x: parser" in shown.stdout and no_escapes(shown.stdout)


def test_the_edit_parser_is_linear_on_hostile_replies() -> None:
    # Each took 10-27 s of CPU at a hundredth of this size (Intel Xeon, this machine), and
    # grew with the cube of it; now each is a single forward scan.
    for reply in (
        "ACTION: edit x.py\n" + "<<<<<<< SEARCH\n=======\n" * 15_000,
        "ACTION: edit x.py\n<<<<<<< SEARCH\n" + "=======\nline\n" * 80_000,
        "\n" * 2_000_000 + "no action",
    ):
        with pytest.raises(ActionError):
            parse(reply)
    found = parse("ACTION: edit x.py\n<<<<<<< SEARCH\na\n=======\nb\n>>>>>>> REPLACE" * 5000)
    assert (found.search, found.replace) == ("a", "b")


def test_a_lone_surrogate_from_a_model_becomes_a_replacement_character(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    action = from_tool_call(ToolCall("c1", "run", '{"command": "echo \\ud800"}'))
    assert action.arg == "echo \ufffd"
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    with fake_provider("plan: fix it \ud800") as provider:
        agent = Agent("hosted", "openai/gpt-4o-mini", 0.15, 0.6, 128_000, True, provider.api_base)
        reply = LiteLLMModel(agent, ModelCallConfig(retries=0)).complete(
            [{"role": "user", "content": "bid"}]
        )
    assert reply.text == "plan: fix it \ufffd"
    reply.text.encode("utf-8")  # what SQLite and the terminal need


def test_bad_input_gets_one_line_with_the_fix(tmp_path: Path) -> None:
    empty = run_cli("do", "   ", "--repo", str(make_repo(tmp_path / "repo")))
    assert empty.returncode == 2 and "the job is empty" in empty.stderr
    assert len(empty.stderr.strip().splitlines()) == 1
    long = run_cli("auction", "Fix it. " + "Detail. " * 5000, "--repo", str(tmp_path / "repo"))
    assert long.returncode == 2 and "the job is 40 KB (about 10,002 tokens)" in long.stderr
    lots = run_cli("config", "show", env={"SALE_TUI__SANDBOX__MEMORY": "lots"})
    assert lots.returncode == 2 and "sandbox.memory" in lots.stderr and "'lots'" in lots.stderr
    assert len(lots.stderr.strip().splitlines()) == 1


@pytest.mark.usefixtures("with_minilm")
def test_a_damaged_memory_file_is_one_line(isolated_home: Path) -> None:
    path = isolated_home / "data" / "memory.db"
    memory = AuctionMemory(path)
    runner = AuctionRunner(Settings(), [bidder("small", 0.1)], memory, PromptLibrary())
    for n in range(30):
        list(runner.run(Job(f"job {n} " + "words " * 200, "coding", "")))
    memory.db.conn.close()
    data = bytearray(path.read_bytes())
    page = 4096
    for start in range(2 * page, len(data) - page, page):  # every page but the header's
        data[start : start + 64] = os.urandom(64)
    path.write_bytes(bytes(data))
    listed = run_cli("history", "--search", "job")
    assert listed.returncode != 0
    assert "Traceback" not in listed.stderr and len(listed.stderr.strip().splitlines()) == 1
    assert "move" in listed.stderr


def test_ctrl_c_at_a_question_exits_130(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    (repo / "calc.py").write_text("changed\n")  # dirty: sandbox run asks whether to include it
    main, follower = os.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "sale_tui", "sandbox", "run", "--repo", str(repo), "true"],
        stdin=follower,
        stdout=follower,
        stderr=follower,
    )
    os.close(follower)
    seen, deadline = b"", time.monotonic() + 60
    while b"Include them" not in seen and time.monotonic() < deadline:
        try:
            seen += os.read(main, 4096)
        except OSError:
            break
    assert b"Include them" in seen, seen
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=20) == 130
    os.close(main)
    assert git(repo, "status", "--porcelain").strip() == "M calc.py"  # nothing else changed


def test_a_job_too_long_for_every_agents_context_is_refused_with_the_numbers(
    tmp_path: Path, isolated_home: Path, with_smollm: Path
) -> None:
    isolated_home.mkdir(parents=True, exist_ok=True)
    (isolated_home / "config.toml").write_text(
        '[[agents]]\nname = "tiny"\nmodel = "sale-local/smollm2-135m"\n'
    )
    repo = make_repo(tmp_path / "repo")
    refused = run_cli("auction", "Fix it. " + "Detail. " * 2500, "--repo", str(repo))
    assert refused.returncode == 2, refused.stderr
    assert "about 5,002 tokens, over a quarter of the largest context" in refused.stderr
    assert "(4,096 tokens)" in refused.stderr and len(refused.stderr.strip().splitlines()) == 1
