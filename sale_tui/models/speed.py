"""Measure how fast roster agents are on this machine: load, prompt and generation speed.

Used by ``sale-tui models bench``. Each agent gets one warm-up call (the first run after a
llama.cpp build or a cold page cache can be many times slower), then ``runs`` measured calls
of a fixed ~420-token prompt (its first line numbered per run, so no run reuses the
previous run's cached prompt) with greedy decoding of ``max_tokens`` tokens, streamed so that
the time to the first token (prompt processing) and the generation rate can be told apart.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass

from sale_tui.models.client import LiteLLMModel, litellm_module

_CONTEXT = (
    "def parse_duration(text):\n"
    '    """Parse strings like 1h30m, 45s or 2d into seconds."""\n'
    "    units = {'d': 86400, 'h': 3600, 'm': 60, 's': 1}\n"
    "    total, number = 0, ''\n"
    "    for char in text:\n"
    "        if char.isdigit():\n"
    "            number += char\n"
    "        elif char in units and number:\n"
    "            total += int(number) * units[char]\n"
    "            number = ''\n"
    "        else:\n"
    "            raise ValueError(f'bad duration: {text!r}')\n"
    "    return total\n"
)
BENCH_PROMPT = (
    "Review {run}: you are reviewing a small Python utility before it is merged.\n\n"
    + _CONTEXT * 2
    + "\nList the edge cases this function gets wrong and write pytest tests for them."
)


@dataclass(frozen=True)
class SpeedResult:
    agent: str
    model: str
    load_s: float
    """Warm-up call time: model load (local) or connection set-up, plus one short reply."""
    prompt_tokens: int
    prompt_tokens_per_s: float
    generated_tokens: int
    generation_tokens_per_s: float


def measure(model: LiteLLMModel, *, runs: int = 3, max_tokens: int = 64) -> SpeedResult:
    litellm_module()  # import cost is not the model's
    started = time.perf_counter()
    model.complete([{"role": "user", "content": "Say OK."}], max_tokens=4, temperature=0.0)
    load_s = time.perf_counter() - started
    prompt_rates, generation_rates = [], []
    prompt_tokens = generated = 0
    for run in range(runs):
        # A different first line every run: llama.cpp would otherwise reuse the cached prompt.
        messages = [{"role": "user", "content": BENCH_PROMPT.replace("{run}", str(run + 1))}]
        first: list[float] = []

        def mark(_: str, first: list[float] = first) -> None:
            if not first:
                first.append(time.perf_counter())

        begin = time.perf_counter()
        reply = model.complete(messages, max_tokens=max_tokens, temperature=0.0, on_text=mark)
        end = time.perf_counter()
        first_at = first[0] if first else end
        prompt_tokens = reply.usage.prompt_tokens
        generated = reply.usage.completion_tokens
        prompt_rates.append(prompt_tokens / max(first_at - begin, 1e-9))
        if generated > 1 and end > first_at:
            generation_rates.append((generated - 1) / (end - first_at))
    return SpeedResult(
        agent=model.agent_name,
        model=model.agent.model,
        load_s=round(load_s, 2),
        prompt_tokens=prompt_tokens,
        prompt_tokens_per_s=round(statistics.median(prompt_rates), 1),
        generated_tokens=generated,
        generation_tokens_per_s=round(statistics.median(generation_rates or [0.0]), 1),
    )
