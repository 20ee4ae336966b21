"""``sale-tui sandbox``: build the image, say what is there, remove leftovers."""

from __future__ import annotations

import json
import subprocess
from typing import Annotated

import typer
from rich.table import Table

from sale_tui.cli_common import JsonFlag, out
from sale_tui.errors import SandboxError

sandbox_app = typer.Typer(
    help="The Docker sandbox: build the image, status, prune.", no_args_is_help=True
)


@sandbox_app.command("build")
def sandbox_build(
    force: Annotated[bool, typer.Option("--force", help="Rebuild even if present.")] = False,
) -> None:
    """Build the sandbox image (offline with debootstrap when no registry is reachable)."""
    from sale_tui.paths import shipped_folder

    script = shipped_folder("sandbox", "build-image.sh") / "build-image.sh"
    result = subprocess.run(["bash", str(script), *(["--force"] if force else [])], check=False)
    if result.returncode != 0:
        raise SandboxError(
            "building the sandbox image failed (see the lines above)",
            fix="run it as root on Debian, with Docker running",
        )


@sandbox_app.command("status")
def sandbox_status(as_json: JsonFlag = False) -> None:
    """Is the Docker daemon up, is the image built, are containers left behind?"""
    from sale_tui.sandboxes import status

    state = status()
    if as_json:
        print(json.dumps(state))
        return
    table = Table("what", "state", title="Sandbox")
    if not state["daemon"]:
        table.add_row("Docker daemon", f"[red]down[/] — {state['detail']}")
    else:
        table.add_row("Docker daemon", f"[green]running[/] (Docker {state['docker_version']})")
        built = (
            f"[green]built[/] ({state['size_mb']} MB)"
            if state["built"]
            else "[red]missing[/] → sale-tui sandbox build"
        )
        table.add_row(f"image {state['image']}", built)
        table.add_row(
            "leftover containers",
            str(state["leftover_containers"])
            + (" → sale-tui sandbox prune" if state["leftover_containers"] else ""),
        )
    out.print(table)


@sandbox_app.command("prune")
def sandbox_prune() -> None:
    """Remove sandbox containers left behind (found by their sale-tui label)."""
    from sale_tui.sandboxes import prune

    out.print(f"removed {prune()} sandbox container(s)")
