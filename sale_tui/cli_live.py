"""A live line on the terminal while a model thinks (issue 16, item 5): "qwen-1.5b is writing
its bid… 12 s · 48 tokens", redrawn by rich's status spinner, gone once the next event is
printed. Only on a terminal: a pipe or ``--json`` gets the plain lines, as before."""

from __future__ import annotations

import time

from rich.console import Console
from rich.status import Status
from rich.text import Text

from sale_tui.models.progress import tokens_so_far


class Thinking:
    """The line itself, drawn afresh at every refresh (rich asks ``__rich__`` each time)."""

    def __init__(self, agent: str, doing: str) -> None:
        self.agent, self.doing, self.since = agent, doing, time.monotonic()

    def __rich__(self) -> Text:
        tokens = tokens_so_far(self.agent)
        return Text(
            f"{self.agent} is {self.doing}… {time.monotonic() - self.since:.0f} s"
            + (f" · {tokens} tokens" if tokens else ""),
            style="dim",
        )


class LiveWait:
    """At most one live line at a time; nothing at all when the output is not a terminal."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.status: Status | None = None

    @property
    def live(self) -> bool:
        return self.console.is_terminal

    def show(self, agent: str, doing: str) -> None:
        self.stop()
        if self.live:
            self.status = self.console.status(Thinking(agent, doing))
            self.status.start()

    def stop(self) -> None:
        if self.status is not None:
            self.status.stop()
            self.status = None
