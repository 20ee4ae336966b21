"""Shared fixtures: every test gets its own SALE_TUI_HOME; real weights are shared read-only."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import platformdirs
import pytest

from sale_tui.stopping import clear_stop

# The suite never talks to a network: litellm must use its bundled price map.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

PROVIDER_KEYS = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "OPENROUTER_API_KEY")
SHARED_CACHE = Path(
    os.environ.get("SALE_TUI_TEST_CACHE") or platformdirs.user_cache_path("sale-tui")
)


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Config, data and cache under a fresh tmp dir; no user config or provider keys leak in."""
    home = tmp_path / "sale-home"
    monkeypatch.setenv("SALE_TUI_HOME", str(home))
    monkeypatch.delenv("SALE_TUI_CACHE_DIR", raising=False)
    monkeypatch.delenv("SALE_TUI_CONFIG", raising=False)
    for name in list(os.environ):
        if name.startswith("SALE_TUI__"):
            monkeypatch.delenv(name)
    for key in PROVIDER_KEYS:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.chdir(tmp_path)
    clear_stop()  # a stop pressed in an earlier test's app must not stop this test's calls
    return home


@pytest.fixture(scope="session")
def smollm_cache() -> Path:
    """The shared model cache with SmolLM2 pulled (pulls it once if missing)."""
    pytest.importorskip("llama_cpp", reason="llama-cpp-python not installed (make test does)")
    env = {**os.environ, "SALE_TUI_CACHE_DIR": str(SHARED_CACHE)}
    subprocess.run(
        [sys.executable, "-m", "sale_tui", "models", "pull", "smollm2"], env=env, check=True
    )
    return SHARED_CACHE


@pytest.fixture
def with_smollm(smollm_cache: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SALE_TUI_CACHE_DIR", str(smollm_cache))
    return smollm_cache


@pytest.fixture(scope="session")
def minilm_cache() -> Path:
    """The shared model cache with the memory's embedder pulled (pulls it once if missing)."""
    env = {**os.environ, "SALE_TUI_CACHE_DIR": str(SHARED_CACHE)}
    subprocess.run(
        [sys.executable, "-m", "sale_tui", "models", "pull", "minilm"],
        env=env,
        check=True,
        capture_output=True,
    )
    return SHARED_CACHE


@pytest.fixture
def with_minilm(minilm_cache: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SALE_TUI_CACHE_DIR", str(minilm_cache))
    return minilm_cache


def run_cli(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the real CLI in a subprocess (as a user would), with the test's environment."""
    return subprocess.run(
        [sys.executable, "-m", "sale_tui", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        cwd=cwd,
        timeout=300,
    )
