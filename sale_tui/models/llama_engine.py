"""llama.cpp itself (llama-cpp-python): load a GGUF model safely for this CPU, and run chat
completions and streams on it. The one home of ``llama_cpp``.

It runs inside the engine worker (``engine_worker``), a child process per model, so a crash
here (a segfault, the OOM killer) ends that process, not the app. ``local.engine =
"in-process"`` runs it in the caller instead (for measuring what the process boundary costs).

CPU safety. pip builds llama.cpp with ``-march=native``. On Intel CPUs with AMX (Sapphire
Rapids and later) such a build routes Q4 weights through the AMX "extra buffer type", whose
matrix multiply segfaults in the first decode (llama.cpp's "segfault in
ggml_backend_amx_mul_mat"). The Makefile builds without the AMX instructions; for a build that
has them anyway (an older wheel from pip's cache, a wheel from elsewhere) ``extra_buffers =
"auto"`` loads with llama.cpp's extra buffer types off. It is decided from what the build
says it was compiled with, so every other machine keeps llama.cpp's default (the CPU repack
buffers; on the AVX2 machine measured in docs/BENCHMARKS.md they changed no token rate but
made loading slower, so they are not claimed as a speed-up).

Log-probabilities: llama.cpp's own ``logprobs`` path needs ``logits_all=True`` and computes a
log-softmax over the whole vocabulary in Python at every position (measured 10x slower, see
docs/LOCAL_MODELS.md). Instead a ``logits_processor`` sees each step's raw scores once and
records, in numpy, the exact full-vocabulary entropy, the top-k alternatives and the chosen
token's log-probability (+10% time). The reply carries them in the OpenAI ``logprobs`` shape
with an extra ``entropy`` per token.

Stopping: every call takes a ``should_stop`` callable, asked at each generated token; when it
says yes the generation ends at that token and the call raises ``Cancelled``. (Prompt
processing is one llama.cpp call that cannot be interrupted from Python: the worker's parent
kills the worker when a stop is not answered within a second.) A request with
``stop_if_repeating`` also ends, as if finished, once its text is a repetition loop (the
auction asks it for bids: a looping bid is dropped anyway).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from sale_tui import repetition

ExtraBuffers = Literal["auto", "on", "off"]
ShouldStop = Callable[[], bool]


class Cancelled(Exception):
    """The caller asked to stop during a generation."""


def system_info() -> str:
    """What llama.cpp was compiled with, e.g. ``CPU : SSE3 = 1 | AVX2 = 1 | … | AMX_INT8 = 1``."""
    import llama_cpp

    return bytes(llama_cpp.llama_print_system_info()).decode("utf-8", errors="replace")


def has_amx_path(info: str) -> bool:
    """Whether the build has llama.cpp's AMX kernels (they only run on CPUs that have AMX)."""
    return re.search(r"AMX_INT8\s*=\s*1", info) is not None


def extra_buffers_enabled(setting: ExtraBuffers, info: str) -> bool:
    if setting == "auto":
        return not has_amx_path(info)
    return setting == "on"


@contextmanager
def _model_params(use_extra_bufts: bool) -> Iterator[None]:
    """llama-cpp-python's ``Llama`` has no argument for ``use_extra_bufts``; it starts from the
    low-level ``llama_model_default_params()``, so that is where the flag is set, for one load."""
    import llama_cpp.llama_cpp as low_level

    original = low_level.llama_model_default_params

    def patched() -> Any:
        params = original()
        params.use_extra_bufts = use_extra_bufts
        return params

    low_level.llama_model_default_params = patched
    try:
        yield
    finally:
        low_level.llama_model_default_params = original


class _StepRecorder:
    """A llama.cpp logits processor recording each generation step's distribution."""

    def __init__(self, top_k: int) -> None:
        self.top_k = max(1, top_k)
        self.steps: list[dict[str, Any]] = []
        self._last_logp: np.ndarray | None = None

    def __call__(self, input_ids: np.ndarray, scores: np.ndarray) -> np.ndarray:
        if self._last_logp is not None and self.steps:
            # The token chosen at the previous step is now the last input id.
            chosen = int(input_ids[-1])
            self.steps[-1]["chosen"] = chosen
            self.steps[-1]["logprob"] = float(self._last_logp[chosen])
        logits = scores.astype(np.float64)
        shifted = logits - logits.max()
        logp = shifted - np.log(np.exp(shifted).sum())
        probs = np.exp(logp)
        entropy = float(-(probs[probs > 0] * logp[probs > 0]).sum())
        top = np.argpartition(logp, -self.top_k)[-self.top_k :]
        top = top[np.argsort(-logp[top])]
        self.steps.append(
            {
                "entropy": entropy,
                "top": [(int(i), float(logp[i])) for i in top],
                "chosen": int(top[0]),
                "logprob": float(logp[top[0]]),
            }
        )
        self._last_logp = logp
        return scores


class _StepCounter:
    """A no-op logits processor that counts prompt and generated tokens, and how many prompt
    tokens llama.cpp read from its KV cache instead of computing them.

    llama-cpp-python's ``generate`` keeps the longest common prefix of the previous call's
    tokens (``before``) and the new prompt in the KV cache and evaluates only the rest; a prompt
    that is all prefix replays its last token to get fresh logits. At the first logits call the
    input ids are exactly the prompt, so the same rule gives the reused count.
    """

    def __init__(self, before: np.ndarray) -> None:
        self.before = before
        self.prompt_len = 0
        self.cached = 0
        self.calls = 0

    def __call__(self, input_ids: np.ndarray, scores: np.ndarray) -> np.ndarray:
        if self.calls == 0:
            self.prompt_len = len(input_ids)
            self.cached = _reused_prefix(self.before, input_ids)
        self.calls += 1
        return scores


def _reused_prefix(before: np.ndarray, prompt: np.ndarray) -> int:
    n = min(len(before), len(prompt))
    differs = np.flatnonzero(before[:n] != prompt[:n])
    common = int(differs[0]) if len(differs) else n
    return min(common, len(prompt) - 1) if common else 0


def _end_of_sequence(scores: np.ndarray, eos_token: int) -> np.ndarray:
    """Scores that leave the sampler only end-of-sequence."""
    forced = np.full_like(scores, -np.inf)
    forced[eos_token] = 0.0
    return forced


class _StopGuard:
    """Ends the generation at the next token once ``should_stop()`` says so.

    llama.cpp calls logits processors through a ctypes callback that swallows exceptions, so
    a stop cannot be raised from here: it forces end-of-sequence instead, and the caller
    raises ``Cancelled`` when the generation is over (``raise_if_hit``).
    """

    def __init__(self, should_stop: ShouldStop, eos_token: int) -> None:
        self.should_stop = should_stop
        self.eos_token = eos_token
        self.hit = False

    def __call__(self, input_ids: np.ndarray, scores: np.ndarray) -> np.ndarray:
        if self.hit or self.should_stop():
            self.hit = True
            return _end_of_sequence(scores, self.eos_token)
        return scores

    def raise_if_hit(self) -> None:
        if self.hit or self.should_stop():
            raise Cancelled


class _RepetitionStop:
    """Ends a generation whose text has become a repetition loop (``repetition``), checked
    every ``CHECK_EVERY`` tokens: a looping bid is dropped anyway, and the rest of its tokens
    would cost seconds on a CPU. Like ``_StopGuard`` it forces end-of-sequence."""

    def __init__(self, detokenize: Callable[[list[int]], str], eos_token: int) -> None:
        self.detokenize, self.eos_token = detokenize, eos_token
        self.prompt_len: int | None = None
        self.hit = False

    def __call__(self, input_ids: np.ndarray, scores: np.ndarray) -> np.ndarray:
        if self.prompt_len is None:  # the first call sees exactly the prompt
            self.prompt_len = len(input_ids)
        generated = len(input_ids) - self.prompt_len
        if not self.hit and generated and generated % repetition.CHECK_EVERY == 0:
            text = self.detokenize([int(i) for i in input_ids[self.prompt_len :]])
            self.hit = repetition.repeats_itself(text) is not None
        return _end_of_sequence(scores, self.eos_token) if self.hit else scores


def _cached_details(cached: int) -> dict[str, Any]:
    """The OpenAI usage field for prompt-cache hits, which litellm reads for every provider."""
    return {"prompt_tokens_details": {"cached_tokens": cached}}


def _never() -> bool:
    return False


@dataclass(frozen=True)
class LoadInfo:
    n_vocab: int
    extra_buffers: bool
    system_info: str
    load_s: float


class LoadedModel:
    """One GGUF model loaded with llama.cpp; not thread-safe (one call at a time)."""

    def __init__(
        self, path: str, n_ctx: int, n_threads: int | None, extra_buffers: ExtraBuffers = "auto"
    ) -> None:
        import time

        from llama_cpp import Llama

        started = time.perf_counter()
        info = system_info()
        use_extra = extra_buffers_enabled(extra_buffers, info)
        with _model_params(use_extra):
            # Any: llama-cpp-python's return types are unions of stream and non-stream shapes
            self.llm: Any = Llama(
                model_path=path,
                n_ctx=n_ctx,
                n_threads=n_threads or os.cpu_count() or 1,
                # Plain ChatML (both SmolLM2 and Qwen2.5 use it), formatted in Python.
                # llama-cpp-python's Jinja-based formatters autoescape string templates,
                # so they would show the model "&lt;" for every "<" in a prompt.
                chat_format="chatml",
                verbose=False,
            )
        self.info = LoadInfo(
            self.llm.n_vocab(), use_extra, info, round(time.perf_counter() - started, 3)
        )

    def close(self) -> None:
        self.llm.close()

    def _guard(self, should_stop: ShouldStop) -> _StopGuard:
        return _StopGuard(should_stop, self.llm.token_eos())

    def _counter(self) -> _StepCounter:
        return _StepCounter(np.array(self.llm._input_ids, copy=True))

    def _repetition_stop(self, request: dict[str, Any]) -> _RepetitionStop | None:
        if not request.pop("stop_if_repeating", False):
            return None
        return _RepetitionStop(self._text, self.llm.token_eos())

    def _text(self, token_ids: list[int]) -> str:
        return bytes(self.llm.detokenize(token_ids)).decode("utf-8", errors="replace")

    def complete(self, request: dict[str, Any], should_stop: ShouldStop = _never) -> dict:
        """One chat completion: an OpenAI-shaped dict with exact usage, and with
        ``logprobs.content`` (entropy per token) when ``request["logprobs"]``."""
        from llama_cpp import LogitsProcessorList

        request = dict(request)
        want_logprobs = bool(request.pop("logprobs", False))
        top_k = int(request.pop("top_logprobs", None) or 5)
        recorder = _StepRecorder(top_k) if want_logprobs else None
        counter, guard = self._counter(), self._guard(should_stop)
        repeating = self._repetition_stop(request)
        request["logits_processor"] = LogitsProcessorList(
            [p for p in (counter, recorder, guard, repeating) if p]
        )
        if "tools" in request:
            # Only the function-calling handler knows tools (it still HTML-escapes the
            # messages, a llama-cpp-python bug; the agents use the text action format).
            from llama_cpp.llama_chat_format import get_chat_completion_handler

            handler: Any = get_chat_completion_handler("chatml-function-calling")
            output: dict = dict(handler(llama=self.llm, **request))
        else:
            output = dict(self.llm.create_chat_completion(**request))
        guard.raise_if_hit()
        if recorder is not None:
            content = self._logprob_content(recorder, output)
            output["choices"][0]["logprobs"] = {"content": content}
        output["usage"] = dict(output["usage"], **_cached_details(counter.cached))
        output["vocab_size"] = self.info.n_vocab
        return output

    def stream(
        self, request: dict[str, Any], should_stop: ShouldStop = _never
    ) -> Iterator[str | dict]:
        """Yield text pieces, then one dict: ``{"finish_reason", "usage"}``."""
        from llama_cpp import LogitsProcessorList

        request = dict(request)
        for key in ("tools", "tool_choice", "logprobs", "top_logprobs"):
            request.pop(key, None)  # llama.cpp cannot stream automatic tool choice
        counter, guard = self._counter(), self._guard(should_stop)
        repeating = self._repetition_stop(request)
        processors = LogitsProcessorList([p for p in (counter, guard, repeating) if p])
        finish = "stop"
        for chunk in self.llm.create_chat_completion(
            **request, stream=True, logits_processor=processors
        ):
            choice = chunk["choices"][0]
            finish = choice.get("finish_reason") or finish
            text = choice.get("delta", {}).get("content") or ""
            if text:
                yield text
        guard.raise_if_hit()
        # On "stop" the last processor call chose end-of-sequence, which is not a token of text.
        generated = counter.calls - (1 if finish == "stop" and counter.calls else 0)
        yield {
            "finish_reason": finish,
            "usage": {
                "prompt_tokens": counter.prompt_len,
                "completion_tokens": generated,
                "total_tokens": counter.prompt_len + generated,
                **_cached_details(counter.cached),
            },
        }

    def _logprob_content(self, recorder: _StepRecorder, output: dict) -> list[dict]:
        count = int(output["usage"]["completion_tokens"])
        # Steps past the completion are the end-of-sequence choice, which is not text.
        steps = recorder.steps[:count]

        def text(token_id: int) -> str:
            return self._text([token_id])

        return [
            {
                "token": text(step["chosen"]),
                "logprob": step["logprob"],
                "entropy": step["entropy"],
                "top_logprobs": [{"token": text(i), "logprob": lp} for i, lp in step["top"]],
            }
            for step in steps
        ]
