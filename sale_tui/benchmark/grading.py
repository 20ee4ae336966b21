"""Graders: Python tests run in the Docker sandbox; answers by normalised exact match and F1
(the SQuAD/HotpotQA normalisation: lower case, no punctuation, no articles, single spaces)."""

from __future__ import annotations

import re
import string
from collections import Counter
from dataclasses import dataclass
from typing import Protocol

from sale_tui.benchmark.tasks import Task

TEST_TIMEOUT_S = 15
_CODE_BLOCK = re.compile(r"```(?:python|py)?\s*\n(.*?)```", re.DOTALL)


class Runner(Protocol):
    """What grading needs from a sandbox (``sale_tui.sandboxes.DockerSandbox``)."""

    def put_file(self, path: str, content: bytes, mode: int = 0o644) -> None: ...

    def run(self, command: str, *, timeout_s: float | None = None) -> object: ...


@dataclass(frozen=True)
class Grade:
    passed: bool
    score: float
    """1/0 for tests; F1 for answers (``passed`` is then the exact match)."""
    detail: str = ""


def program(task: Task, reply: str) -> str:
    """The code to test: the reply's code block (or the reply), after the prompt when the
    reply is only the function's body or does not define the entry point."""
    blocks = _CODE_BLOCK.findall(reply)
    code = max(blocks, key=len) if blocks else reply
    if task.entry_point and not re.search(rf"def\s+{re.escape(task.entry_point)}\s*\(", code):
        code = task.prompt + code
    return f"{code}\n\n{task.test}"


def grade_python(task: Task, reply: str, box: Runner, name: str) -> Grade:
    path = f"/tmp/bench_{re.sub(r'[^A-Za-z0-9_]', '_', name)}.py"
    box.put_file(path, program(task, reply).encode())
    result = box.run(f"python3 {path}", timeout_s=TEST_TIMEOUT_S)
    ok = bool(getattr(result, "ok", False))
    output = str(getattr(result, "output", ""))
    return Grade(
        ok,
        1.0 if ok else 0.0,
        "" if ok else output.strip().splitlines()[-1:][0][:200] if output.strip() else "failed",
    )


def normalise(text: str) -> str:
    text = text.lower()
    text = "".join(ch for ch in text if ch not in set(string.punctuation))
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


def f1(prediction: str, truth: str) -> float:
    pred, gold = normalise(prediction).split(), normalise(truth).split()
    common = Counter(pred) & Counter(gold)
    same = sum(common.values())
    if not pred or not gold or same == 0:
        return 0.0
    precision, recall = same / len(pred), same / len(gold)
    return 2 * precision * recall / (precision + recall)


def final_answer(reply: str) -> str:
    """The text after the last ``Answer:``, first line; else the reply's last non-empty line."""
    match = re.findall(r"answer\s*:\s*(.+)", reply, flags=re.IGNORECASE)
    if match:
        return match[-1].strip()
    lines = [line.strip() for line in reply.splitlines() if line.strip()]
    return lines[-1] if lines else ""


def grade_answer(task: Task, reply: str) -> Grade:
    answer = final_answer(reply)
    exact = any(normalise(answer) == normalise(truth) for truth in task.answers)
    score = max((f1(answer, truth) for truth in task.answers), default=0.0)
    return Grade(exact, 1.0 if exact else score, f"answer: {answer[:120]}")
