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

from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential

from sale_tui.config import LocalConfig, ModelCallConfig, Settings
from sale_tui.errors import (
    LocalEngineError,
    MissingApiKeyError,
    ModelError,
    ProviderError,
    SaleError,
    UnknownModelError,
)
from sale_tui.models.catalog import LOCAL_MODELS, LOCAL_PROVIDER
from sale_tui.models.responses import logprobs_of, tool_calls_of, usage_of
from sale_tui.protocols import Message, Reply, Usage
from sale_tui.roster import Agent
from sale_tui.stopping import raise_if_stopped

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


# Matched by class name over the MRO so that litellm's and openai's classes both count.
# Not "APIError": auth and bad-request errors inherit from it and must never be retried.
_TRANSIENT_NAMES = {
    "RateLimitError",
    "Timeout",
    "APITimeoutError",
    "APIConnectionError",
    "ServiceUnavailableError",
    "InternalServerError",
}


def _own_error_inside(exc: BaseException) -> SaleError | None:
    """litellm wraps what a custom provider raises in its APIConnectionError; the local
    engine's own errors (a crashed worker, weights not pulled) are found in the chain."""
    seen: BaseException | None = exc
    visited: set[int] = set()
    while seen is not None and id(seen) not in visited:
        if isinstance(seen, SaleError):
            return seen
        visited.add(id(seen))
        seen = seen.__cause__ or (None if seen.__suppress_context__ else seen.__context__)
    return None


def _is_transient(exc: BaseException) -> bool:
    if _own_error_inside(exc) is not None:
        # A crashed engine worker restarts on the next call, but the same request would
        # most likely crash it the same way (a CPU fault, the OOM killer): no retry.
        return False
    if isinstance(exc, _StreamBroken) or "context window" in str(exc).lower():
        # litellm wraps the local engine's "exceed context window" in APIConnectionError;
        # the same request would fail the same way.
        return False
    return any(cls.__name__ in _TRANSIENT_NAMES for cls in type(exc).__mro__)


class _StreamBroken(Exception):
    """A stream failed after text was shown: retrying would repeat text, so we do not."""

    def __init__(self, cause: BaseException) -> None:
        super().__init__(str(cause))
        self.cause = cause


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else type(exc).__name__


def translate_error(exc: BaseException, agent: Agent, attempts: int) -> SaleError:
    """A provider exception as one clear ``SaleError`` naming the agent and the fix."""
    who = f"agent '{agent.name}' ({agent.model})"
    own = _own_error_inside(exc)
    if own is not None:
        if not own.message.startswith("agent '"):
            own.message = f"{who}: {own.message}"
        return own
    cause = exc.cause if isinstance(exc, _StreamBroken) else exc
    names = {cls.__name__ for cls in type(cause).__mro__}
    message = _first_line(cause)
    if "AuthenticationError" in names:
        problem = environment_problem(agent.model)
        key = problem.message.split()[0] if isinstance(problem, MissingApiKeyError) else None
        return MissingApiKeyError(
            f"{who}: the provider rejected the credentials ({message})",
            fix=f"export {key}=… with a valid key" if key else "check the provider's API key",
        )
    if "LiteLLMUnknownProvider" in names or "LLM Provider NOT provided" in message:
        return UnknownModelError(
            f"{who}: unknown model or provider",
            fix="use a litellm model id with its provider prefix, e.g. openai/gpt-4o-mini",
        )
    if "NotFoundError" in names:
        return UnknownModelError(
            f"{who}: the provider does not know this model ({message})",
            fix="check the model name in your roster",
        )
    if "ContextWindowExceededError" in names:
        return ProviderError(
            f"{who}: the prompt is longer than the model's context window",
            fix="use a model with a larger context or a smaller job",
        )
    if _is_transient(cause):
        return ProviderError(
            f"{who}: provider error after {attempts} attempt(s): {message}",
            fix="try again later, or raise models.retries in the config",
        )
    return ProviderError(f"{who}: {message}", fix="check the request and the provider's status")


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
        price_in = self.agent.price_in or 0.0
        price_out = self.agent.price_out or 0.0
        return (usage.prompt_tokens * price_in + usage.completion_tokens * price_out) / 1e6

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
                raise _StreamBroken(exc) from exc
            raise
        return litellm.stream_chunk_builder(chunks, messages=request["messages"])

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
        if "logprobs" in request:
            on_text = None
        attempts = 0
        retrying = Retrying(
            stop=stop_after_attempt(self.call_config.retries + 1),
            wait=wait_exponential(multiplier=self.call_config.retry_wait_s, max=30),
            # never a BaseException (the user's stop): tenacity would otherwise sleep on it
            retry=retry_if_exception(lambda e: isinstance(e, Exception) and _is_transient(e)),
            reraise=True,
        )
        started = time.perf_counter()
        try:
            for attempt in retrying:
                with attempt:
                    attempts = attempt.retry_state.attempt_number
                    response = self._call(request, on_text)
        except ModelError:
            raise
        except Exception as exc:
            error = translate_error(exc, self.agent, attempts)
            # our own error came out of litellm's wrapper: chaining it back would make a cycle
            raise error from (None if error is _own_error_inside(exc) else exc)
        choice = response.choices[0]
        usage = usage_of(response)
        tokens, kind = logprobs_of(choice)
        hidden = getattr(response, "_hidden_params", None) or {}
        return Reply(
            agent=self.agent.name,
            model=self.agent.model,
            text=choice.message.content or "",
            usage=usage,
            cost_usd=self.cost_usd(usage),
            finish_reason=choice.finish_reason,
            tool_calls=tool_calls_of(choice.message),
            logprobs=tokens,
            logprob_kind=kind,  # type: ignore[arg-type]
            vocab_size=hidden.get("vocab_size") if isinstance(hidden, dict) else None,
            latency_s=time.perf_counter() - started,
        )
