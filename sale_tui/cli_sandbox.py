"""``sale-tui sandbox``: build the image, say what is there, remove leftovers."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from sale_tui import cli_common
from sale_tui.cli_common import JsonFlag, err, load_cli_settings, out
from sale_tui.errors import SandboxError, UsageError

sandbox_app = typer.Typer(
    help="The Docker sandbox: build the image, status, prune.", no_args_is_help=True
)

AllowProtected = Annotated[
    list[str] | None,
    typer.Option(
        "--allow-protected",
        metavar="PATH",
        help="Also apply this file, one of those that act on your machine by themselves "
        "(.sale-tui.toml, .git*, hooks, .envrc, .vscode/); repeat per file.",
    ),
]


SHOWN_PATCH_BYTES = 200_000
"""How much of a diff is printed; the rest is counted, not shown (printing 40 MB of base85
took over 15 minutes). What is applied is always the whole patch."""


def print_patch(patch: bytes) -> None:
    """The diff as it will be applied: inert (the console's), never re-wrapped; a binary
    file's blob as one line, and past ``SHOWN_PATCH_BYTES`` only a count."""
    from sale_tui import patches

    shown, left_out = 0, []
    before = patches.preamble(patch)  # shown too: git applies what it can parse in it
    if before.strip():
        out.print(before[:SHOWN_PATCH_BYTES].decode(errors="replace"), end="", markup=False)
    for file in patches.split(patch):
        text = file.header + b"".join(file.hunks)
        blob = text.find(b"\nGIT binary patch\n")
        if blob >= 0:
            text = text[: blob + 1] + b"(binary: %d KB of base85 not shown)\n" % (
                (len(text) - blob) // 1000
            )
        if shown + len(text) > SHOWN_PATCH_BYTES:
            left_out.append(file.path)
            continue
        shown += len(text)
        out.print(text.decode(errors="replace"), end="", markup=False, soft_wrap=True)
    if left_out:
        out.print(
            f"… {len(left_out)} more file(s) not shown ({', '.join(left_out[:5])}"
            f"{', …' if len(left_out) > 5 else ''}): the diff is {len(patch) // 1000} KB",
            markup=False,
            soft_wrap=True,
        )


def consent_to_protected(
    root: Path, patch: bytes, allowed: list[str] | None, *, ask: bool
) -> tuple[bytes, list[str]]:
    """(the patch to apply, the protected files the user allowed). A patch that writes files
    acting on the host by themselves applies them only when the user names them: by
    ``--allow-protected``, or by answering yes when asked; otherwise they are left out."""
    from rich.markup import escape

    from sale_tui import host_files, patches
    from sale_tui.repo import patch_paths

    allow = list(allowed or [])
    found = host_files.protected(patch_paths(root, patch), allow)
    if not found:
        return patch, allow
    err.print(
        f"[yellow]the patch also writes[/] {escape(host_files.describe(found))}: "
        "files that act on your machine by themselves"
    )
    if ask and cli_common.ask(f"Apply {', '.join(found)} too?", default=False):
        return patch, [*allow, *found]
    err.print(
        f"left out {escape(', '.join(found))}"
        + ("" if ask else f" (apply one with --allow-protected {escape(next(iter(found)))})")
    )
    return patches.drop(patch, found), allow


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
        table.add_row("containers of running jobs", str(state["running_jobs"]))
    out.print(table)


@sandbox_app.command("prune")
def sandbox_prune() -> None:
    """Remove sandbox containers left behind: those whose sale-tui process has exited.

    A running job's container is spared; stop the job (Ctrl-C, or kill a hung process) and
    its container is removed with it, or becomes a leftover that prune removes."""
    from sale_tui.sandboxes import prune

    out.print(f"removed {prune()} sandbox container(s)")


def choose_snapshot_mode(root: Path, with_uncommitted: bool | None) -> bool:
    """Whether to include uncommitted changes: the flag, else ask, else refuse with the fix."""
    from sale_tui.repo import is_dirty

    if with_uncommitted is not None or not is_dirty(root):
        return bool(with_uncommitted)
    if sys.stdin.isatty():
        err.print("[yellow]warning:[/] the working tree has uncommitted changes")
        return bool(cli_common.ask("Include them in the sandbox snapshot?", default=True))
    raise UsageError(
        "the working tree has uncommitted changes",
        fix="pass --with-uncommitted to include them, or --head-only",
    )


@sandbox_app.command("run")
def sandbox_run(
    command: Annotated[str, typer.Argument(help="Shell command to run on the snapshot.")],
    repo: Annotated[Path, typer.Option(help="The git repository.")] = Path(),
    with_uncommitted: Annotated[
        bool | None,
        typer.Option(
            "--with-uncommitted/--head-only",
            help="Snapshot HEAD plus uncommitted changes, or HEAD only (asked when dirty).",
        ),
    ] = None,
    apply: Annotated[
        str, typer.Option(help="What to do with the changes: no, worktree, or branch.")
    ] = "no",
    network: Annotated[
        bool | None,
        typer.Option("--network/--no-network", help="Override [sandbox] network for this run."),
    ] = None,
    allow_protected: AllowProtected = None,
) -> None:
    """Run a command in a sandbox on a snapshot of the repo; show (and apply) its changes."""
    import secrets

    from sale_tui.repo import apply_patch, open_repo, snapshot
    from sale_tui.sandboxes import SandboxLimits, Workspace

    if apply not in ("no", "worktree", "branch"):
        raise UsageError(f"unknown --apply '{apply}'", fix="use no, worktree or branch")
    root = Path(open_repo(repo.resolve()).working_dir)
    settings = load_cli_settings(root)
    snap = snapshot(root, with_uncommitted=choose_snapshot_mode(root, with_uncommitted))
    job = f"run-{secrets.token_hex(3)}"
    limits = SandboxLimits.from_config(settings.sandbox, network=network)
    with Workspace(snap, job, settings.sandbox.image, limits) as ws:
        result = ws.run(
            command, on_output=lambda text: out.print(text, end="", markup=False, soft_wrap=True)
        )
        patch = ws.patch()
    out.print(
        f"\n[dim]exit {result.exit_code}{' (timed out)' if result.timed_out else ''} · "
        f"{result.seconds:.1f} s · snapshot of {snap.files} files[/]"
    )
    if not patch.strip():
        out.print("no changes")
    else:
        print_patch(patch)
        if apply != "no":
            patch, allowed = consent_to_protected(root, patch, allow_protected, ask=False)
        if apply != "no" and patch.strip():
            applied = apply_patch(
                root,
                patch,
                snap,
                mode=apply,  # type: ignore[arg-type]
                branch=f"sale/{job}",
                title=f"sale-tui sandbox run: {command}",
                trailers={"Sale-Sandbox-Command": command},
                allow_protected=allowed,
            )
            where = f"branch {applied.branch}" if applied.branch else "the working tree"
            out.print(f"[green]applied[/] to {where}")
        elif apply != "no":
            out.print("nothing left to apply")
    if not result.ok:
        raise typer.Exit(1)
