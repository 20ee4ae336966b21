"""TUI start-up: ``sale-tui bench tui``.

Each run is a fresh Python process (a warm one would hide the imports): the app starts headless
at 80×24 on the given repo, and the child reports, as wall-clock times from the moment the
parent spawned it, when Textual's ready callback ran (the first screen composed and painted)
and when the start-up checks had finished (repo, memory, Docker, and the roster, which imports
litellm), with the peak RSS at each point.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

CHILD = """
import json, resource, sys, time
from pathlib import Path
from sale_tui.tui.app import SaleApp

def rss_mb():
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)

marks = {}

async def measure(pilot):
    marks["paint"] = time.time()
    marks["rss_paint_mb"] = rss_mb()
    await pilot.app.workers.wait_for_complete()
    marks["ready"] = time.time()
    marks["rss_ready_mb"] = rss_mb()
    pilot.app.exit()

SaleApp(repo=Path(sys.argv[1])).run(headless=True, size=(80, 24), auto_pilot=measure)
print(json.dumps(marks))
"""


@dataclass(frozen=True)
class StartupTiming:
    runs: int
    first_paint_s: float
    """Median, spawn to the first screen painted."""
    first_paint_max_s: float
    checks_done_s: float
    """Median, spawn to repo, Docker and roster shown on the Job tab."""
    rss_at_paint_mb: float
    rss_after_checks_mb: float


def run_once(repo: Path) -> dict[str, float]:
    spawned = time.time()
    result = subprocess.run(
        [sys.executable, "-c", CHILD, str(repo)],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    marks = json.loads(result.stdout.strip().splitlines()[-1])
    return {
        "paint": marks["paint"] - spawned,
        "ready": marks["ready"] - spawned,
        "rss_paint": marks["rss_paint_mb"],
        "rss_ready": marks["rss_ready_mb"],
    }


def measure(repo: Path, runs: int) -> StartupTiming:
    samples = [run_once(repo) for _ in range(runs)]

    def median(key: str) -> float:
        return round(statistics.median(s[key] for s in samples), 3)

    return StartupTiming(
        runs=runs,
        first_paint_s=median("paint"),
        first_paint_max_s=round(max(s["paint"] for s in samples), 3),
        checks_done_s=median("ready"),
        rss_at_paint_mb=median("rss_paint"),
        rss_after_checks_mb=median("rss_ready"),
    )
