"""Research answers must cite their evidence as ``path:line``; this checks the citations exist.

A citation is good when the file is in the repository snapshot and the line (or range) is
inside it. It does not judge whether the line supports the claim: that is the user's verdict.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sale_tui.agents.environment import Environment

_PATH = r"(?<![\w/.-])(?P<path>(?:[\w.-]+/)*[\w.-]+\.\w+)"
# path:line or path:start-end, where path has an extension (src/app.py:42, README.md:3-9), and
# the prose form models write as often: "`calc.py` on line 1", "app.py, lines 3 to 9".
_CITATION = re.compile(
    _PATH
    + r"(?::(?P<first>\d+)(?:-(?P<last>\d+))?\b"
    + r"|`?,?\s+(?:(?:on|at|in)\s+)?lines?\s+(?P<pfirst>\d+)"
    + r"(?:\s*(?:-|–|to|and)\s*(?P<plast>\d+))?\b)"
)


@dataclass(frozen=True)
class CitationCheck:
    good: tuple[str, ...]
    bad: tuple[str, ...]
    """Each with the reason, e.g. ``app.py:90 (app.py has 40 lines)``."""

    @property
    def ok(self) -> bool:
        return bool(self.good) and not self.bad

    def feedback(self, question: str = "", read: tuple[str, ...] = ()) -> str:
        """What the agent is told when the answer cannot be accepted yet; ``read``: the
        files it has viewed, the ones its citations should come from."""
        if not self.good and not self.bad:
            files = f" You have read: {', '.join(read[-5:])}." if read else ""
            again = f" The question: {question.strip()}" if question.strip() else ""
            return (
                "Not finished: the answer cites no evidence. Reply "
                "`ACTION: finish <the short answer> (<path>:<line>)`, citing the line numbers "
                f"view showed for the lines that say it.{files}{again}"
            )
        return (
            "Not finished: these citations do not exist: "
            + "; ".join(self.bad)
            + ". View the files and cite lines that are there."
        )


def check_citations(env: Environment, answer: str) -> CitationCheck:
    good: list[str] = []
    bad: list[str] = []
    line_counts: dict[str, int | None] = {}
    for match in _CITATION.finditer(answer):
        path = match.group("path").removeprefix("./")
        first = int(match.group("first") or match.group("pfirst"))
        last = int(match.group("last") or match.group("plast") or first)
        if path not in line_counts:
            content = env.read(path)
            line_counts[path] = None if content is None else len(content.splitlines())
        count = line_counts[path]
        cited = f"{path}:{first}" + (f"-{last}" if last != first else "")
        if count is None:
            bad.append(f"{cited} (no such file)")
        elif not 1 <= first <= last <= count:
            bad.append(f"{cited} ({path} has {count} lines)")
        elif cited not in good:
            good.append(cited)
    return CitationCheck(tuple(good), tuple(dict.fromkeys(bad)))
