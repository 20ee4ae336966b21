"""What an executing agent acts on: a protocol the sandbox implements.

The tools (``file_tools``, ``search_tool``) are plain functions of an ``Environment`` (run a
command, read and write a file), so the step loop and its tests do not care whether the files
live in Docker or elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

OBSERVATION_CHARS = 3000


@dataclass(frozen=True)
class Outcome:
    exit_code: int
    output: str
    timed_out: bool = False

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.timed_out


class Environment(Protocol):
    def run(self, command: str, timeout_s: float | None = None) -> Outcome: ...

    def read(self, path: str) -> str | None:
        """The file's text, or None when it does not exist."""
        ...

    def write(self, path: str, content: str) -> None: ...


def clip(text: str, limit: int = OBSERVATION_CHARS) -> str:
    if len(text) <= limit:
        return text
    half = limit // 2
    return f"{text[:half]}\n[… {len(text) - limit} characters cut …]\n{text[-half:]}"


def run_tests(env: Environment, command: str | None, limit: int = OBSERVATION_CHARS) -> str:
    if not command:
        return "Error: no test command is configured for this repository; use `ACTION: run`."
    result = env.run(command)
    verdict = "PASSED" if result.ok else ("TIMED OUT" if result.timed_out else "FAILED")
    return f"Tests {verdict} (`{command}`, exit {result.exit_code}):\n{clip(result.output, limit)}"


def failing_summary(output: str, limit: int = 900) -> str:
    """Which tests fail and on what, without the tracebacks a small model has no room for:
    pytest's failing lines (``>``) and their errors (``E``), then its short summary
    (``FAILED test_x.py::test_a - AssertionError``) and last line."""
    lines = [line.rstrip() for line in output.splitlines() if line.strip()]
    where = [line for line in lines if line.startswith((">", "E "))]
    named = [line for line in lines if line.startswith(("FAILED ", "ERROR "))]
    tail = "\n".join(dict.fromkeys([*named, *lines[-1:]]))
    room = limit - len(tail)
    head = "\n".join(where)
    head = head if len(head) <= room else head[: max(room - 3, 0)].rstrip() + " …"
    return f"{head}\n{tail}".strip() if room > 0 else tail[:limit]


def list_files(env: Environment, limit: int = 2000) -> list[str]:
    """The repository's files (tracked or new, never .git), sorted, at most ``limit``."""
    found = env.run(
        f"git ls-files --cached --others --exclude-standard 2>/dev/null | head -n {limit}",
        timeout_s=30,
    )
    return sorted(line for line in found.output.splitlines() if line.strip()) if found.ok else []
