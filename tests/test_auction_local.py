"""Integration: a full auction among real llama.cpp models through the CLI, stored in SQLite."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from sale_tui.memory.db import open_database
from tests.conftest import run_cli

pytestmark = pytest.mark.local_model

ROSTER = """
[auction]
max_bid_tokens = 40

[[agents]]
name = "tiny"
model = "sale-local/smollm2-135m"
price_in = 0.001
price_out = 0.001

[[agents]]
name = "tiny-pricey"
model = "sale-local/smollm2-135m"
price_in = 0.01
price_out = 0.01
"""


@pytest.fixture
def sample_repo(tmp_path: Path) -> Path:
    repo = tmp_path / "sample"
    repo.mkdir()
    (repo / "calc.py").write_text("def add(a, b):\n    return a - b\n")
    (repo / "README.md").write_text("# calc\nA tiny calculator.\n")
    for command in (
        ["git", "init", "-q"],
        ["git", "add", "-A"],
        ["git", "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "init"],
    ):
        subprocess.run(command, cwd=repo, check=True)
    return repo


def test_a_real_auction_end_to_end(
    with_smollm: Path, with_minilm: Path, isolated_home: Path, sample_repo: Path
) -> None:
    isolated_home.mkdir(parents=True, exist_ok=True)
    (isolated_home / "config.toml").write_text(ROSTER)
    result = run_cli(
        "auction",
        "Fix add() in calc.py so that add(2, 3) == 5",
        "--json",
        "--repo",
        str(sample_repo),
        env={"SALE_TUI_CACHE_DIR": str(with_smollm)},
    )
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    kinds = [e["event"] for e in events]
    assert kinds[0] == "AuctionStarted" and kinds[-1] == "WinnerChosen"
    bids = [e["bid"] for e in events if e["event"] == "BidReceived"]
    assert sorted(b["agent"] for b in bids) == ["tiny", "tiny-pricey"]
    for bid in bids:
        assert 0 < bid["tokens"] <= 40
        assert bid["entropy_kind"] == "exact"  # the full-vocabulary entropy from llama.cpp
        assert 0.0 < bid["entropy"] < 1.0
    jury = [e for e in events if e["event"] == "JuryScored"]
    assert len(jury) == 4  # every agent judges every bid, its own included
    assert {(e["bidder"], e["juror"]) for e in jury} == {
        (b, j) for b in ("tiny", "tiny-pricey") for j in ("tiny", "tiny-pricey")
    }
    for juror in jury:
        if juror["score"] is not None:
            assert 0.0 <= juror["score"] <= 5.0
            assert juror["note"] in ("logprobs", "text")
    assert any(e["score"] is not None for e in jury)
    final = events[-1]
    assert final["winner"]["bid"]["agent"] in ("tiny", "tiny-pricey")
    assert final["auction_tokens"] == sum(final["tokens_by_phase"].values()) > 0
    # everything is in the memory, under the id the events carry
    db = open_database(isolated_home / "data" / "memory.db")
    auction = db.execute(
        "SELECT status, winner FROM auctions WHERE id = ?", [final["auction_id"]]
    ).fetchone()
    assert auction == ("won", final["winner"]["bid"]["agent"])
    assert db.execute("SELECT count(*) FROM jury_scores").fetchone()[0] == 4


def test_auction_outside_a_git_repo_is_a_clear_error(tmp_path: Path) -> None:
    result = run_cli("auction", "anything", "--repo", str(tmp_path))
    assert result.returncode == 2
    assert "not inside a git repository" in result.stderr and "git init" in result.stderr


def test_ctrl_c_exits_130_and_keeps_the_auction(
    with_smollm: Path, with_minilm: Path, isolated_home: Path, sample_repo: Path
) -> None:
    import os
    import signal
    import sys

    isolated_home.mkdir(parents=True, exist_ok=True)
    (isolated_home / "config.toml").write_text(ROSTER)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sale_tui",
            "auction",
            "Fix add()",
            "--json",
            "--repo",
            str(sample_repo),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "SALE_TUI_CACHE_DIR": str(with_smollm)},
    )
    assert process.stdout is not None
    first = json.loads(process.stdout.readline())  # the auction has started
    assert first["event"] == "AuctionStarted"
    process.send_signal(signal.SIGINT)
    process.wait(timeout=60)
    assert process.returncode == 130
    db = open_database(isolated_home / "data" / "memory.db")
    status = db.execute(
        "SELECT status FROM auctions WHERE id = ?", [first["auction_id"]]
    ).fetchone()
    assert status == ("interrupted",)


def test_a_real_panel_jury_asks_each_juror_once(
    with_smollm: Path, with_minilm: Path, isolated_home: Path, sample_repo: Path
) -> None:
    isolated_home.mkdir(parents=True, exist_ok=True)
    (isolated_home / "config.toml").write_text(
        ROSTER.replace("max_bid_tokens = 40", 'max_bid_tokens = 40\njury = "panel"')
    )
    result = run_cli(
        "auction",
        "Fix add() in calc.py so that add(2, 3) == 5",
        "--json",
        "--repo",
        str(sample_repo),
        env={"SALE_TUI_CACHE_DIR": str(with_smollm)},
    )
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    jury = [e for e in events if e["event"] == "JuryScored"]
    assert len(jury) == 4  # both bids (as in the test above), each scored by both jurors
    # one call per juror: its tokens sit on one of its two verdicts, the other has none
    for juror in ("tiny", "tiny-pricey"):
        mine = [e["tokens"] for e in jury if e["juror"] == juror]
        assert sorted(mine)[0] == 0 and sorted(mine)[1] > 0
    for verdict in jury:  # a score read from the reply, or a gap that says why
        assert (verdict["score"] is not None and 0 <= verdict["score"] <= 5) or (
            "no score for plan" in verdict["note"]
        )
    final = events[-1]
    assert final["event"] == "WinnerChosen"
    assert final["tokens_by_phase"]["jury"] == sum(e["tokens"] for e in jury)
