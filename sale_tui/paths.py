"""Where sale-tui keeps its files: config, data (the auction memory) and cache (model weights).

Defaults come from platformdirs. ``SALE_TUI_HOME`` redirects config, data and cache under one
folder (tests point it at a tmp dir); ``SALE_TUI_CACHE_DIR`` moves only the cache, so a test
suite can share pulled weights while keeping everything else private.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP_NAME = "sale-tui"
REPO_CONFIG_NAME = ".sale-tui.toml"


def _home() -> Path | None:
    value = os.environ.get("SALE_TUI_HOME")
    return Path(value).expanduser() if value else None


def config_dir() -> Path:
    home = _home()
    return home if home else platformdirs.user_config_path(APP_NAME)


def data_dir() -> Path:
    home = _home()
    return home / "data" if home else platformdirs.user_data_path(APP_NAME)


def cache_dir() -> Path:
    explicit = os.environ.get("SALE_TUI_CACHE_DIR")
    if explicit:
        return Path(explicit).expanduser()
    home = _home()
    return home / "cache" if home else platformdirs.user_cache_path(APP_NAME)


def models_dir() -> Path:
    """Where assembled GGUF files live."""
    return cache_dir() / "models"


def user_config_file() -> Path:
    explicit = os.environ.get("SALE_TUI_CONFIG")
    return Path(explicit).expanduser() if explicit else config_dir() / "config.toml"


def find_repo_config(start: Path | None = None) -> Path | None:
    """The per-repo config: ``.sale-tui.toml`` in the nearest folder up to the git root."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / REPO_CONFIG_NAME
        if candidate.is_file():
            return candidate
        if (folder / ".git").exists():
            return None
    return None


def shipped_folder(top_level: str, marker: str) -> Path:
    """A folder the project ships at its top level (``prompts/``, ``sandbox/``): beside the
    package in a source checkout, or inside it (``sale_tui/<name>``) when installed."""
    here = Path(__file__).resolve().parent
    for candidate in (here.parent / top_level, here / top_level):
        if (candidate / marker).exists() or any(candidate.glob(marker)):
            return candidate
    raise FileNotFoundError(f"{top_level}/ is missing from the installation (reinstall sale-tui)")
