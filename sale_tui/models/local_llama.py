"""The embedded local provider: llama.cpp in-process, registered with litellm as ``sale-local``.

Log-probabilities: llama.cpp's own ``logprobs`` path needs ``logits_all=True`` and computes a
log-softmax over the whole vocabulary in Python at every position (measured 10x slower, see
docs/LOCAL_MODELS.md). Instead a ``logits_processor`` sees each step's raw scores once and
records, in numpy, the exact full-vocabulary entropy, the top-k alternatives and the chosen
token's log-probability (+10% time). The reply carries them in the OpenAI ``logprobs`` shape
with an extra ``entropy`` per token.

Models are loaded once per process and guarded by a lock each: a llama.cpp context is not
thread-safe, so concurrent calls to the same model queue up instead of corrupting it.
"""

from __future__ import annotations

import atexit
import os
import threading
from collections.abc import Iterator
from typing import Any

import numpy as np
from litellm import ModelResponse
from litellm.llms.custom_llm import CustomLLM, CustomLLMError
from litellm.types.utils import GenericStreamingChunk

from sale_tui.errors import LocalEngineError
from sale_tui.models import weights
from sale_tui.models.catalog import find_local_model


class _StepRecorder:
    """A llama.cpp logits processor recording each generation step's distribution."""

    def __init__(self, top_k: int) -> None:
        self.top_k = max(1, top_k)
        self.prompt_len: int | None = None
        self.steps: list[dict[str, Any]] = []
        self._last_logp: np.ndarray | None = None

    def __call__(self, input_ids: np.ndarray, scores: np.ndarray) -> np.ndarray:
        if self.prompt_len is None:
            self.prompt_len = len(input_ids)
        elif self._last_logp is not None and self.steps:
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
    """A no-op logits processor that counts prompt and generated tokens for stream usage."""

    def __init__(self) -> None:
        self.prompt_len = 0
        self.calls = 0

    def __call__(self, input_ids: np.ndarray, scores: np.ndarray) -> np.ndarray:
        if self.calls == 0:
            self.prompt_len = len(input_ids)
        self.calls += 1
        return scores


class LlamaCppProvider(CustomLLM):
    """litellm custom provider running the catalogue's GGUF models with llama-cpp-python."""

    def __init__(self) -> None:
        super().__init__()
        self._models: dict[str, Any] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._load_lock = threading.Lock()
        # llama.cpp's own finaliser fails at interpreter shutdown; close models while we can.
        atexit.register(self.close)

    def close(self) -> None:
        with self._load_lock:
            for llm in self._models.values():
                llm.close()
            self._models.clear()

    def _load(self, key: str, n_ctx: int, n_threads: int | None) -> tuple[Any, threading.Lock]:
        spec = find_local_model(key)
        if spec is None:
            raise CustomLLMError(status_code=404, message=f"unknown local model '{key}'")
        with self._load_lock:
            if key not in self._models:
                if not weights.is_pulled(spec):
                    raise LocalEngineError(
                        f"weights for {spec.model_id} are not pulled",
                        fix=f"sale-tui models pull {spec.agent_name}",
                    )
                try:
                    from llama_cpp import Llama
                except ImportError as exc:
                    raise LocalEngineError(
                        "llama-cpp-python is not installed", fix="pip install 'sale-tui[local]'"
                    ) from exc
                self._models[key] = Llama(
                    model_path=str(weights.model_path(spec)),
                    n_ctx=n_ctx,
                    n_threads=n_threads or os.cpu_count() or 1,
                    # Plain ChatML (both SmolLM2 and Qwen2.5 use it), formatted in Python.
                    # llama-cpp-python's Jinja-based formatters autoescape string templates,
                    # so they would show the model "&lt;" for every "<" in a prompt.
                    chat_format="chatml",
                    verbose=False,
                )
                self._locks[key] = threading.Lock()
            return self._models[key], self._locks[key]

    def _prepare(
        self, model: str, messages: list, kwargs: dict[str, Any]
    ) -> tuple[Any, threading.Lock, dict[str, Any], dict[str, Any]]:
        params: dict[str, Any] = dict(kwargs.get("optional_params") or {})
        params.update(params.pop("extra_body", None) or {})
        key = model.split("/", 1)[-1]
        llm, lock = self._load(key, int(params.get("n_ctx", 4096)), params.get("n_threads"))
        request: dict[str, Any] = {
            "messages": messages,
            "max_tokens": params.get("max_tokens") or params.get("max_completion_tokens"),
            "temperature": params.get("temperature", 0.0),
            "stop": params.get("stop"),
            "seed": params.get("seed"),
            # Off unless asked for: code and edit blocks must repeat tokens (a penalty makes
            # small models write "&lt;" for "<"); the auction asks for it on bids, where
            # greedy decoding otherwise loops.
            "repeat_penalty": params.get("repeat_penalty", 1.0),
        }
        if params.get("tools"):
            request["tools"] = params["tools"]
            request["tool_choice"] = params.get("tool_choice") or "auto"
        return llm, lock, request, params

    def completion(self, model: str, messages: list, *args: Any, **kwargs: Any) -> ModelResponse:
        llm, lock, request, params = self._prepare(model, messages, kwargs)
        recorder = None
        if params.get("logprobs"):
            from llama_cpp import LogitsProcessorList

            recorder = _StepRecorder(int(params.get("top_logprobs") or 5))
            request["logits_processor"] = LogitsProcessorList([recorder])
        with lock:
            if "tools" in request:
                # Only the function-calling handler knows tools (it still HTML-escapes the
                # messages, a llama-cpp-python bug; the agents use the text action format).
                from llama_cpp.llama_chat_format import get_chat_completion_handler

                handler = get_chat_completion_handler("chatml-function-calling")
                output: Any = handler(llama=llm, **request)
            else:
                output = llm.create_chat_completion(**request)
            vocab = llm.n_vocab()
            if recorder is not None:
                content = self._logprob_content(llm, recorder, output)
        response = ModelResponse(**output)
        response.model = model
        if recorder is not None:
            response.choices[0].logprobs = {"content": content}
        response._hidden_params["vocab_size"] = vocab
        return response

    def streaming(
        self, model: str, messages: list, *args: Any, **kwargs: Any
    ) -> Iterator[GenericStreamingChunk]:
        """Stream text chunks; the last chunk carries usage counted by a logits processor."""
        from llama_cpp import LogitsProcessorList

        llm, lock, request, _ = self._prepare(model, messages, kwargs)
        counter = _StepCounter()
        request.pop("tools", None)  # llama.cpp cannot stream automatic tool choice
        request.pop("tool_choice", None)
        with lock:
            finish = "stop"
            for chunk in llm.create_chat_completion(
                **request, stream=True, logits_processor=LogitsProcessorList([counter])
            ):
                choice = chunk["choices"][0]
                finish = choice.get("finish_reason") or finish
                text = choice.get("delta", {}).get("content") or ""
                if text:
                    yield GenericStreamingChunk(
                        text=text,
                        is_finished=False,
                        finish_reason="",
                        usage=None,
                        index=0,
                        tool_use=None,
                    )
        # On "stop" the last processor call chose end-of-sequence, which is not a token of text.
        generated = counter.calls - (1 if finish == "stop" and counter.calls else 0)
        yield GenericStreamingChunk(
            text="",
            is_finished=True,
            finish_reason=finish,
            index=0,
            tool_use=None,
            usage={
                "prompt_tokens": counter.prompt_len,
                "completion_tokens": generated,
                "total_tokens": counter.prompt_len + generated,
            },
        )

    @staticmethod
    def _logprob_content(llm: Any, recorder: _StepRecorder, output: dict) -> list[dict]:
        count = int(output["usage"]["completion_tokens"])
        # Steps past the completion are the end-of-sequence choice, which is not text.
        steps = recorder.steps[:count]

        def text(token_id: int) -> str:
            return bytes(llm.detokenize([token_id])).decode("utf-8", errors="replace")

        return [
            {
                "token": text(step["chosen"]),
                "logprob": step["logprob"],
                "entropy": step["entropy"],
                "top_logprobs": [{"token": text(i), "logprob": lp} for i, lp in step["top"]],
            }
            for step in steps
        ]
