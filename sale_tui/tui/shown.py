"""Filling a pane from a worker's read: the read can finish while the app is closing, when
the pane's widgets are gone (a NoMatches failed a job-stop test once); then there is nothing
to fill."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

from textual.css.query import NoMatches


def fill_if_shown(fill: Callable[..., None], *data: Any) -> None:
    with contextlib.suppress(NoMatches):
        fill(*data)
