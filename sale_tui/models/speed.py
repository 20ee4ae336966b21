"""Measure how fast roster agents are on this machine: load, prompt and generation speed.

Used by ``sale-tui models bench``. Each agent gets one warm-up call (the first run after a
llama.cpp build or a cold page cache can be many times slower), then ``runs`` measured calls
of a fixed ~420-token prompt (its first line numbered per run, so no run reuses the
previous run's cached prompt) with greedy decoding of ``max_tokens`` tokens, streamed so that
the time to the first token (prompt processing) and the generation rate can be told apart.
"""

from __future__ import annotations

import statistics
import threading
import time
from dataclasses import dataclass, field

from sale_tui.models.client import LiteLLMModel, litellm_module
from sale_tui.models.cpu import this_cpu

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
    first_token_s: float
    """Median time from the request to the first streamed token (prompt processing)."""
    cpu: str
    engine: str
    """Where the model ran and how (local: worker or in-process, extra buffers on/off)."""


@dataclass
class _Timings:
    load_s: float = 0.0
    prompt_tokens: int = 0
    generated: int = 0
    prompt_rates: list[float] = field(default_factory=list)
    generation_rates: list[float] = field(default_factory=list)
    first_token: list[float] = field(default_factory=list)


def _warm_up(model: LiteLLMModel) -> float:
    started = time.perf_counter()
    model.complete([{"role": "user", "content": "Say OK."}], max_tokens=4, temperature=0.0)
    return time.perf_counter() - started


def _timed_run(model: LiteLLMModel, run: int, max_tokens: int, into: _Timings) -> None:
    # A different first line every run: llama.cpp would otherwise reuse the cached prompt.
    messages = [{"role": "user", "content": BENCH_PROMPT.replace("{run}", str(run + 1))}]
    first: list[float] = []

    def mark(_: str) -> None:
        if not first:
            first.append(time.perf_counter())

    begin = time.perf_counter()
    reply = model.complete(messages, max_tokens=max_tokens, temperature=0.0, on_text=mark)
    end = time.perf_counter()
    first_at = first[0] if first else end
    into.prompt_tokens = reply.usage.prompt_tokens
    into.generated = reply.usage.completion_tokens
    into.first_token.append(first_at - begin)
    into.prompt_rates.append(into.prompt_tokens / max(first_at - begin, 1e-9))
    if into.generated > 1 and end > first_at:
        into.generation_rates.append((into.generated - 1) / (end - first_at))


def measure(model: LiteLLMModel, *, runs: int = 3, max_tokens: int = 64) -> SpeedResult:
    return measure_side_by_side([model], runs=runs, max_tokens=max_tokens)[0]


def measure_side_by_side(
    models: list[LiteLLMModel], *, runs: int = 3, max_tokens: int = 64
) -> list[SpeedResult]:
    """Measure several set-ups of the same agent (e.g. worker and in-process engine) with
    their runs interleaved, so that a machine's drift over the minutes lands on all alike."""
    litellm_module()  # import cost is not the model's
    timings = [_Timings(load_s=_warm_up(model)) for model in models]
    for run in range(runs):
        for model, into in zip(models, timings, strict=True):
            _timed_run(model, run, max_tokens, into)
    cpu = this_cpu().summary()
    return [
        SpeedResult(
            agent=model.agent_name,
            model=model.agent.model,
            load_s=round(t.load_s, 2),
            prompt_tokens=t.prompt_tokens,
            prompt_tokens_per_s=round(statistics.median(t.prompt_rates), 1),
            generated_tokens=t.generated,
            generation_tokens_per_s=round(statistics.median(t.generation_rates or [0.0]), 1),
            first_token_s=round(statistics.median(t.first_token), 3),
            cpu=cpu,
            engine=engine_description(model),
        )
        for model, t in zip(models, timings, strict=True)
    ]


def engine_description(model: LiteLLMModel) -> str:
    """``worker, extra buffers on`` for a local agent (after a call loaded it); ``hosted``."""
    if model.agent.local is None:
        return "hosted"
    from sale_tui.models.local_llama import loaded_info

    where = model.local_config.engine
    info = loaded_info(model.agent.local.key, where)
    if info is None:
        return where
    return f"{where}, extra buffers {'on' if info['extra_buffers'] else 'off'}"


STORY = "Write a very long story, at least 3000 words, about a dragon who learns to program."
LONG_PROMPT = "def identity(x):\n    return x\n\n" * 300 + "\nWhat do these functions do?"


@dataclass(frozen=True)
class StopResult:
    agent: str
    engine: str
    cpu: str
    while_generating_s: float
    """Median time from the stop to the call's ``StopRequested``, asked 0.5 s into streaming."""
    while_reading_prompt_s: float
    """The same, asked 0.3 s into reading a ~3,600-token prompt (one llama.cpp call)."""
    runs: int


def _time_a_stop(
    model: LiteLLMModel, messages: list[dict], after: threading.Event, wait_s: float
) -> float:
    from sale_tui.errors import StopRequested
    from sale_tui.stopping import clear_stop, request_stop

    clear_stop()
    asked: list[float] = []

    def stop_later() -> None:
        after.wait(60)
        time.sleep(wait_s)
        asked.append(time.perf_counter())
        request_stop()

    helper = threading.Thread(target=stop_later)
    helper.start()
    try:
        model.complete(messages, max_tokens=2000, temperature=0.0, on_text=lambda _: after.set())
    except StopRequested:
        return time.perf_counter() - asked[0]
    finally:
        after.set()
        helper.join()
        clear_stop()
    raise RuntimeError(f"{model.agent_name} finished before the stop; no time measured")


def measure_stops(model: LiteLLMModel, *, runs: int = 3) -> StopResult:
    """How fast a user's stop (F8 in the TUI: set from another thread) ends a local call."""
    _warm_up(model)
    engine = engine_description(model)  # now: a stop in a prompt kills the worker
    generating, reading = [], []
    for _ in range(runs):
        first_text = threading.Event()
        story = [{"role": "user", "content": STORY}]
        generating.append(_time_a_stop(model, story, first_text, 0.5))
        started = threading.Event()
        started.set()  # the clock starts with the call: the prompt is being read
        reading.append(
            _time_a_stop(model, [{"role": "user", "content": LONG_PROMPT}], started, 0.3)
        )
    return StopResult(
        agent=model.agent_name,
        engine=engine,
        cpu=this_cpu().summary(),
        while_generating_s=round(statistics.median(generating), 3),
        while_reading_prompt_s=round(statistics.median(reading), 3),
        runs=runs,
    )
