"""Which repo config files the user trusts, by content (direnv's ``allow``, VS Code's workspace
trust, Codex CLI's trusted projects).

A repo's ``.sale-tui.toml`` arrives with a clone, so it is untrusted input: it could add an agent
whose ``api_base`` receives the user's API key with every prompt, or give the sandbox a network
and 64 GiB. Such a file is applied only once the user has run ``sale-tui trust`` on it. The
store keeps the SHA-256 of the bytes trusted, keyed by the file's absolute path, so a file that
changes afterwards (a pull, a patch from the sandbox) is untrusted again until trusted anew.

The store lives in the user's data folder, outside every repo, where no patch can write.
Standard library only: the config loader, which every command runs, imports this.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from sale_tui import paths, repo_files

STORE_NAME = "trusted-configs.json"
CONFIG_LIMIT_BYTES = 64_000

TrustState = Literal["trusted", "untrusted", "changed", "unreadable"]


@dataclass(frozen=True)
class RepoConfig:
    """A repo config file as read once: its bytes, what they hash to, and whether the user
    trusts exactly these bytes. Callers parse ``data``, never the file again, so what is
    checked is what is applied."""

    path: Path
    data: bytes
    sha256: str
    state: TrustState

    @property
    def trusted(self) -> bool:
        return self.state == "trusted"


def store_path() -> Path:
    return paths.data_dir() / STORE_NAME


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _key(path: Path) -> str:
    return str(path.resolve())


def _load() -> dict[str, dict[str, str]]:
    try:
        raw = json.loads(store_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}  # no store yet, or a broken one: nothing is trusted
    files = raw.get("files") if isinstance(raw, dict) else None
    return {k: v for k, v in (files or {}).items() if isinstance(v, dict)}


def _save(files: dict[str, dict[str, str]]) -> None:
    target = store_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    # Written whole and renamed into place: two commands trusting at once never leave half a file.
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".trust-", suffix=".json")
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        json.dump({"version": 1, "files": files}, out, indent=2, sort_keys=True)
    os.chmod(temporary, 0o600)
    os.replace(temporary, target)


def read_repo_config(path: Path) -> RepoConfig:
    """Read a repo config once and check it against the store. It is ``unreadable`` (and never
    applied) when it is not a regular file inside its own folder (a link to ``~/.ssh/config``
    or ``/dev/zero`` is not read) or is larger than any config needs."""
    data = repo_files.read_bytes(path.parent, path.name, CONFIG_LIMIT_BYTES + 1)
    if data is None or len(data) > CONFIG_LIMIT_BYTES:
        return RepoConfig(path, b"", "", "unreadable")
    sha = digest(data)
    recorded = _load().get(_key(path), {}).get("sha256")
    state: TrustState = (
        "untrusted" if recorded is None else "trusted" if recorded == sha else "changed"
    )
    return RepoConfig(path, data, sha, state)


def trust(config: RepoConfig) -> None:
    """Trust exactly these bytes at this path."""
    files = _load()
    files[_key(config.path)] = {
        "sha256": config.sha256,
        "trusted_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    _save(files)


def revoke(path: Path) -> bool:
    """Stop trusting the file at ``path``; False when it was not trusted."""
    files = _load()
    if files.pop(_key(path), None) is None:
        return False
    _save(files)
    return True


def trusted_files() -> dict[str, dict[str, str]]:
    """Every trusted path with its recorded hash and when it was trusted."""
    return _load()
