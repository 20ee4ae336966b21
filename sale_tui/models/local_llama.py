"""The embedded local provider, registered with litellm as ``sale-local``: litellm stays the
one door to every model, and behind this door llama.cpp runs in an engine worker process per
model (``engine_client``), or, with ``local.engine = "in-process"``, in this process (kept to
measure what the boundary costs; a crash there takes the app down).

Both engines give the same replies: exact usage, and with ``logprobs`` the exact
full-vocabulary entropy of every generated token (computed by ``llama_engine``).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import asdict
from typing import Any

from litellm import ModelResponse
from litellm.llms.custom_llm import CustomLLM, CustomLLMError
from litellm.types.utils import GenericStreamingChunk

from sale_tui.errors import LocalEngineError, StopRequested
from sale_tui.models import weights
from sale_tui.models.catalog import find_local_model
from sale_tui.models.engine_client import ENGINE, EngineSpec, LocalEngine
from sale_tui.stopping import stop_requested


class InProcessEngine:
    """``llama_engine`` in this process, with the worker's interface: one model per spec,
    loaded once, one call at a time per model (a llama.cpp context is not thread-safe)."""

    def __init__(self, spec: EngineSpec) -> None:
        from sale_tui.models.llama_engine import LoadedModel

        self.spec = spec
        self.model = LoadedModel(spec.path, spec.n_ctx, spec.n_threads, spec.extra_buffers)  # type: ignore[arg-type]
        self.info: dict[str, Any] | None = asdict(self.model.info)
        self.lock = threading.Lock()

    def close(self) -> None:
        self.model.close()

    def complete(self, request: dict[str, Any]) -> dict[str, Any]:
        from sale_tui.models.llama_engine import Cancelled

        with self.lock:
            try:
                return self.model.complete(request, stop_requested)
            except Cancelled:
                raise StopRequested from None

    def stream(self, request: dict[str, Any]) -> Iterator[str | dict[str, Any]]:
        from sale_tui.models.llama_engine import Cancelled

        with self.lock:
            try:
                yield from self.model.stream(request, stop_requested)
            except Cancelled:
                raise StopRequested from None


IN_PROCESS = LocalEngine(InProcessEngine)


def _engines(where: str) -> LocalEngine[Any]:
    return IN_PROCESS if where == "in-process" else ENGINE


def loaded_info(key: str, where: str) -> dict[str, Any] | None:
    """What the engine that serves ``key`` reported when it loaded (None: not loaded)."""
    return next((r.info for r in _engines(where).runners() if r.spec.key == key and r.info), None)


class LlamaCppProvider(CustomLLM):
    """litellm custom provider running the catalogue's GGUF models with llama.cpp."""

    def _prepare(
        self, model: str, messages: list, kwargs: dict[str, Any]
    ) -> tuple[Any, dict[str, Any]]:
        params: dict[str, Any] = dict(kwargs.get("optional_params") or {})
        params.update(params.pop("extra_body", None) or {})
        key = model.split("/", 1)[-1]
        local = find_local_model(key)
        if local is None:
            raise CustomLLMError(status_code=404, message=f"unknown local model '{key}'")
        if not weights.is_pulled(local):
            raise LocalEngineError(
                f"weights for {local.model_id} are not pulled",
                fix=f"sale-tui models pull {local.agent_name}",
            )
        spec = EngineSpec(
            key,
            str(weights.model_path(local)),
            int(params.get("n_ctx", 4096)),
            params.get("n_threads"),
            params.get("extra_buffers", "auto"),
        )
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
            "stop_if_repeating": bool(params.get("stop_if_repeating")),
        }
        if params.get("tools"):
            request["tools"] = params["tools"]
            request["tool_choice"] = params.get("tool_choice") or "auto"
        if params.get("logprobs"):
            request["logprobs"] = True
            request["top_logprobs"] = int(params.get("top_logprobs") or 5)
        return _engines(params.get("engine", "worker")).runner(spec), request

    def completion(self, model: str, messages: list, *args: Any, **kwargs: Any) -> ModelResponse:
        engine, request = self._prepare(model, messages, kwargs)
        output = dict(engine.complete(request))
        vocab = output.pop("vocab_size", None)
        logprobs = output["choices"][0].pop("logprobs", None)
        response = ModelResponse(**output)
        response.model = model
        if logprobs is not None:
            response.choices[0].logprobs = logprobs
        response._hidden_params["vocab_size"] = vocab
        return response

    def streaming(
        self, model: str, messages: list, *args: Any, **kwargs: Any
    ) -> Iterator[GenericStreamingChunk]:
        """Stream text chunks; the last chunk carries the exact usage."""
        engine, request = self._prepare(model, messages, kwargs)
        for piece in engine.stream(request):
            if isinstance(piece, str):
                yield GenericStreamingChunk(
                    text=piece,
                    is_finished=False,
                    finish_reason="",
                    usage=None,
                    index=0,
                    tool_use=None,
                )
            else:
                yield GenericStreamingChunk(
                    text="",
                    is_finished=True,
                    finish_reason=piece["finish_reason"],
                    index=0,
                    tool_use=None,
                    usage=piece["usage"],
                )
