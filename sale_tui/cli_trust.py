"""``sale-tui trust``: apply a repo's ``.sale-tui.toml`` after reading it, or stop applying it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from sale_tui.cli_common import JsonFlag, out
from sale_tui.errors import ConfigError, UsageError


def trust_command(
    repo: Annotated[Path, typer.Option(help="The repo (or a folder in it) whose config.")] = Path(),
    revoke: Annotated[
        bool, typer.Option("--revoke", help="Stop applying the repo's config.")
    ] = False,
    list_all: Annotated[bool, typer.Option("--list", help="List every trusted file.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Apply the repo's .sale-tui.toml from now on: it can choose agents and endpoints and
    loosen the sandbox, so it is ignored until you have read it and trust it. A later change
    to the file makes it untrusted again."""
    from sale_tui import paths, trust
    from sale_tui.config import check_repo_file, keys_set

    if list_all:
        _list(as_json)
        return
    path = paths.find_repo_config(repo.resolve())
    if path is None:
        raise UsageError(
            f"no {paths.REPO_CONFIG_NAME} in {repo.resolve()} or above it up to the git root",
            fix="create one, or pass --repo",
        )
    if revoke:
        done = trust.revoke(path)
        out.print(f"{'no longer trusted' if done else 'was not trusted'}: {path}", markup=False)
        return
    config = trust.read_repo_config(path)
    if config.state == "unreadable":
        raise ConfigError(
            f"{path} is not a regular file inside its folder, or is over "
            f"{trust.CONFIG_LIMIT_BYTES // 1000} KB",
            fix="make it a plain file of the repo",
        )
    check_repo_file(config)  # a file that would not load is not worth trusting
    trust.trust(config)
    keys = keys_set(config.data)
    if as_json:
        print(json.dumps({"path": str(path), "sha256": config.sha256, "keys": keys}))
        return
    out.print(f"trusted {path} (sha256 {config.sha256[:12]}); it sets:", markup=False)
    for key in keys:
        out.print(f"  {key}", markup=False)
    out.print("[dim]it applies until it changes; `sale-tui trust --revoke` undoes this[/]")


def _list(as_json: bool) -> None:
    from sale_tui import trust

    rows = []
    for name, record in sorted(trust.trusted_files().items()):
        path = Path(name)
        now = trust.read_repo_config(path).sha256 if path.exists() else ""
        state = "trusted" if now == record.get("sha256") else "changed" if now else "missing"
        rows.append({"path": name, "state": state, "trusted_at": record.get("trusted_at", "")})
    if as_json:
        print(json.dumps(rows))
        return
    table = Table("repo config", "state", "trusted at")
    for row in rows:  # Text: a path is never read as markup
        table.add_row(Text(row["path"]), row["state"], row["trusted_at"])
    out.print(table if rows else "no trusted repo configs")
