"""The one home of litellm: lazy import, retries, streaming, cost, error translation.

``import litellm`` costs 4–5 s and fetches a price map from the network unless
``LITELLM_LOCAL_MODEL_COST_MAP`` is set first, so it happens here, on first use, never at
import time of this module (``sale-tui --help`` must not pay for it; a test checks that).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from tenacity import (
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    stop_before_delay,
    wait_exponential,
)
from tenacity.stop import stop_base

from sale_tui.config import LocalConfig, ModelCallConfig, Settings
from sale_tui.errors import (
    LocalEngineError,
    MissingApiKeyError,
    ModelError,
    SaleError,
    UnknownModelError,
)
from sale_tui.models import progress
from sale_tui.models.catalog import LOCAL_MODELS, LOCAL_PROVIDER
from sale_tui.models.provider_errors import (
    StreamBroken,
    is_transient,
    own_error_inside,
    translate_error,
    within,
)
from sale_tui.models.responses import logprobs_of, tool_calls_of, usage_of
from sale_tui.protocols import Message, Reply, Usage
from sale_tui.roster import Agent
from sale_tui.stopping import raise_if_stopped
from sale_tui.untrusted_text import without_surrogates

_import_lock = threading.Lock()
_litellm: ModuleType | None = None


def litellm_module() -> ModuleType:
    """Import litellm once, offline, quietly, with the local llama.cpp provider registered."""
    global _litellm
    with _import_lock:
        if _litellm is None:
            os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
            import litellm

            litellm.suppress_debug_info = True
            litellm.telemetry = False
            from sale_tui.models.local_llama import LlamaCppProvider

            litellm.custom_provider_map = [
                *[p for p in litellm.custom_provider_map if p.get("provider") != LOCAL_PROVIDER],
                {"provider": LOCAL_PROVIDER, "custom_handler": LlamaCppProvider()},
            ]
            # Register local models so cost look-ups and model info never hit "unknown model".
            litellm.register_model(
                {
                    spec.model_id: {
                        "litellm_provider": LOCAL_PROVIDER,
                        "mode": "chat",
                        "input_cost_per_token": spec.nominal_price / 1e6,
                        "output_cost_per_token": spec.nominal_price / 1e6,
                        "cache_creation_input_token_cost": 0.0,
                        "cache_read_input_token_cost": 0.0,
                        "supports_function_calling": True,
                    }
                    for spec in LOCAL_MODELS
                }
            )
            _litellm = litellm
        return _litellm


@dataclass(frozen=True)
class KnownModel:
    price_in: float | None
    price_out: float | None
    context: int | None
    tool_calls: bool = False
    price_cached: float | None = None


def price_map_lookup(model: str) -> KnownModel:
    """Prices ($/M tokens) and context from litellm's bundled price map, where it knows them."""
    litellm = litellm_module()
    try:
        info = litellm.get_model_info(model)
    except Exception:  # litellm raises a bare Exception for unmapped models
        return KnownModel(None, None, None)

    def per_million(key: str) -> float | None:
        value = info.get(key)
        return None if value is None else round(value * 1e6, 6)

    context = info.get("max_input_tokens") or info.get("max_tokens")
    return KnownModel(
        per_million("input_cost_per_token"),
        per_million("output_cost_per_token"),
        context,
        bool(info.get("supports_function_calling")),
        per_million("cache_read_input_token_cost"),
    )


def environment_problem(model: str) -> SaleError | None:
    """Why ``model`` cannot be called from this environment (unknown, key missing), or None."""
    litellm = litellm_module()
    try:
        litellm.get_llm_provider(model)
    except Exception:
        return UnknownModelError(
            f"unknown model '{model}'",
            fix="use a litellm model id with its provider prefix, e.g. openai/gpt-4o-mini "
            "(see https://docs.litellm.ai/docs/providers)",
        )
    check = litellm.validate_environment(model=model)
    missing = check.get("missing_keys") or []
    if missing:
        return MissingApiKeyError(
            f"{missing[0]} is not set", fix=f"export {missing[0]}=… (or remove this agent)"
        )
    return None


STREAM_CAP = 10
"""A streamed hosted answer may take at most this many times ``models.timeout_s`` in all."""
SDK_TIMEOUT_GRACE_S = 1.0
"""The SDK's own timeout is a backstop, this much later than the call's deadline: when both
fired together, the SDK's "Request timed out" could win the race and the user got a retry
count instead of "no complete answer within N s" (seen once in the hang test)."""


class LiteLLMModel:
    """A roster agent's model behind the ``Model`` protocol; every call goes through litellm."""

    def __init__(
        self,
        agent: Agent,
        call_config: ModelCallConfig | None = None,
        local_config: LocalConfig | None = None,
    ) -> None:
        self.agent = agent
        self.call_config = call_config or ModelCallConfig()
        self.local_config = local_config or LocalConfig()
        self._ready = False

    @classmethod
    def for_agent(cls, agent: Agent, settings: Settings) -> LiteLLMModel:
        return cls(agent, settings.models, settings.local)

    @property
    def agent_name(self) -> str:
        return self.agent.name

    def check_ready(self) -> None:
        """Raise the clear error (weights, engine, API key) before any call is attempted."""
        from sale_tui.roster import availability

        if self._ready:
            return
        if self.agent.local is None:
            problem = environment_problem(self.agent.model)
            if problem is not None:
                problem.message = f"agent '{self.agent.name}' ({self.agent.model}): " + (
                    problem.message
                )
                raise problem
        else:
            state = availability(self.agent)
            if not state.ready:
                raise LocalEngineError(
                    f"agent '{self.agent.name}' ({self.agent.model}): {state.detail}",
                    fix=state.fix,
                )
        self._ready = True

    def cost_usd(self, usage: Usage) -> float:
        agent = self.agent
        return usage.priced(agent.price_in, agent.price_out, agent.price_cached)

    def _request(
        self,
        messages: Sequence[Message],
        max_tokens: int | None,
        temperature: float | None,
        tools: Sequence[dict[str, Any]] | None,
        logprobs: bool,
        top_logprobs: int | None,
        stop: Sequence[str] | None,
    ) -> dict[str, Any]:
        request: dict[str, Any] = {
            "model": self.agent.model,
            "messages": list(messages),
            "timeout": self.call_config.timeout_s,
        }
        optional = {
            "max_tokens": max_tokens,
            "temperature": temperature,
            "api_base": self.agent.api_base,
            "stop": list(stop) if stop else None,
        }
        request.update({key: value for key, value in optional.items() if value is not None})
        if tools:
            request["tools"] = list(tools)
            request["tool_choice"] = "auto"  # llama.cpp ignores tools without it
        if self.agent.local is not None:
            # Engine settings travel to the local provider through extra_body.
            request["extra_body"] = {
                "n_ctx": self.agent.context or self.local_config.n_ctx,
                "n_threads": self.local_config.n_threads,
                "engine": self.local_config.engine,
                "extra_buffers": self.local_config.extra_buffers,
            }
        if logprobs and self.agent.logprobs:
            request["logprobs"] = True
            request["top_logprobs"] = top_logprobs or 5
        return request

    def _call(self, request: dict[str, Any], on_text: Callable[[str], None] | None) -> Any:
        litellm = litellm_module()
        if on_text is None:
            return litellm.completion(**request)
        stream = litellm.completion(**request, stream=True, stream_options={"include_usage": True})
        chunks = []
        shown = False
        try:
            for chunk in stream:
                chunks.append(chunk)
                delta = chunk.choices[0].delta.content if chunk.choices else None
                if delta:
                    shown = True
                    on_text(delta)
        except Exception as exc:
            if shown:
                raise StreamBroken(exc) from exc
            raise
        return litellm.stream_chunk_builder(chunks, messages=request["messages"])

    def _call_by(
        self, deadline: float, request: dict[str, Any], on_text: Callable[[str], None] | None
    ) -> Any:
        """``_call`` that gives up at ``deadline``; a call given up on shows no more text. Text
        streaming in moves the deadline to ``timeout_s`` after the latest piece (a long answer
        that keeps coming is not cut), up to ``STREAM_CAP`` times ``timeout_s`` in all."""
        live = threading.Event()
        live.set()
        timeout_s = self.call_config.timeout_s
        latest = [deadline]
        cap = time.monotonic() + STREAM_CAP * timeout_s

        def show(delta: str) -> None:
            if live.is_set() and on_text is not None:
                latest[0] = min(max(latest[0], time.monotonic() + timeout_s), cap)
                on_text(delta)

        remaining = max(deadline - time.monotonic(), 0.1) + SDK_TIMEOUT_GRACE_S
        try:
            return within(
                lambda: latest[0],
                lambda: self._call({**request, "timeout": remaining}, show if on_text else None),
            )
        finally:
            live.clear()

    def complete(
        self,
        messages: Sequence[Message],
        *,
        max_tokens: int | None = None,
        temperature: float | None = None,
        tools: Sequence[dict[str, Any]] | None = None,
        logprobs: bool = False,
        top_logprobs: int | None = None,
        stop: Sequence[str] | None = None,
        on_text: Callable[[str], None] | None = None,
        repetition_penalty: float | None = None,
        seed: int | None = None,
        stop_if_repeating: bool = False,
    ) -> Reply:
        """One chat completion with retries on transient errors; streams text to ``on_text``.

        Log-probabilities are only requested when the agent's provider returns them, and
        never together with streaming (bids and jury calls are short and need them whole).
        """
        raise_if_stopped()  # no new call after the user's stop (it stays set until the next job)
        self.check_ready()
        request = self._request(
            messages, max_tokens, temperature, tools, logprobs, top_logprobs, stop
        )
        if repetition_penalty is not None and "extra_body" in request:
            request["extra_body"]["repeat_penalty"] = repetition_penalty
        if seed is not None and "extra_body" in request:  # local: hosted seeds vary by provider
            request["extra_body"]["seed"] = seed
        if stop_if_repeating and "extra_body" in request:  # local: the engine sees each token
            request["extra_body"]["stop_if_repeating"] = True
        if "logprobs" in request:
            on_text = None
        attempts = 0
        timeout_s = self.call_config.timeout_s
        hosted = self.agent.local is None
        give_up: stop_base = stop_after_attempt(self.call_config.retries + 1)
        if hosted:
            # One deadline for the whole call, its retries and waits included; the SDK's own
            # retries are off so that ours are the only ones (it would add 2 per attempt).
            request["max_retries"] = 0
            give_up = give_up | stop_before_delay(timeout_s)
        retrying = Retrying(
            stop=give_up,
            wait=wait_exponential(multiplier=self.call_config.retry_wait_s, max=30),
            # never a BaseException (the user's stop): tenacity would otherwise sleep on it
            retry=retry_if_exception(lambda e: isinstance(e, Exception) and is_transient(e)),
            reraise=True,
        )
        started = time.perf_counter()
        deadline = time.monotonic() + timeout_s
        if self.agent.local is not None:  # the front ends may ask how far it has got
            progress.call_started(self.agent.name, self.agent.local.key)
        try:
            for attempt in retrying:
                with attempt:
                    attempts = attempt.retry_state.attempt_number
                    if hosted:
                        response = self._call_by(deadline, request, on_text)
                    else:  # the local engine answers a stop itself and never hangs on a socket
                        response = self._call(request, on_text)
        except ModelError:
            raise
        except Exception as exc:
            error = translate_error(exc, self.agent, attempts, timeout_s)
            # our own error came out of litellm's wrapper: chaining it back would make a cycle
            raise error from (None if error is own_error_inside(exc) else exc)
        finally:
            progress.call_ended(self.agent.name)
        choice = response.choices[0]
        usage = usage_of(response)
        tokens, kind = logprobs_of(choice)
        hidden = getattr(response, "_hidden_params", None) or {}
        return Reply(
            agent=self.agent.name,
            model=self.agent.model,
            text=without_surrogates(choice.message.content or ""),
            usage=usage,
            cost_usd=self.cost_usd(usage),
            finish_reason=choice.finish_reason,
            tool_calls=tool_calls_of(choice.message),
            logprobs=tokens,
            logprob_kind=kind,  # type: ignore[arg-type]
            vocab_size=hidden.get("vocab_size") if isinstance(hidden, dict) else None,
            latency_s=time.perf_counter() - started,
        )
