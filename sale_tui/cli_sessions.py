"""``sale-tui show SESSION``: a whole session, job by job, and where its next job starts."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sale_tui.cli_common import out
from sale_tui.errors import SaleError
from sale_tui.render import safe

if TYPE_CHECKING:
    from sale_tui.memory import AuctionMemory


def show_session(memory: AuctionMemory, session: dict[str, Any], as_json: bool) -> None:
    from sale_tui.cli_sandbox import print_patch
    from sale_tui.sessions import outcome_line, session_base

    jobs = memory.session_jobs(session["id"])
    if as_json:
        rows = [
            {**asdict(job), "patch": job.patch.decode(errors="replace"), "outcome": job.outcome}
            for job in jobs
        ]
        print(json.dumps({**session, "jobs": rows}, default=str, indent=2))
        return
    out.print(
        f"[bold]session {session['id']}[/] · {safe(session['repo'])} · {len(jobs)} job(s) · "
        f"started {session['created_at'][:16].replace('T', ' ')} UTC"
    )
    for number, job in enumerate(jobs, 1):
        out.print(f"\n[bold]{number}. {job.kind}[/] {safe(job.text)}")
        out.print(f"   {safe(outcome_line(job))} · auction {job.auction_id or '—'}")
        if job.summary.strip():
            label = "answer" if job.kind == "research" else "summary"
            out.print(f"   {label}: {safe(job.summary.strip())}")
        if job.applied_mode and job.patch.strip():
            print_patch(job.patch)
    try:
        base = session_base(Path(session["repo"]), jobs).label
    except SaleError as error:  # the repo moved or is gone: the record is still shown
        base = f"unknown ({error.message})"
    out.print(f"\nthe next job starts from: {safe(base)}")
    ident = session["id"]
    out.print(f'follow up: sale-tui do --session {ident} "…"  ·  sale-tui --resume {ident}')
