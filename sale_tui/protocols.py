"""The seams between the pure core and the adapters: plain dataclasses and Protocols.

Standard library only, so that the auction core can depend on this module without pulling in
any I/O library (a test checks that).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

Message = dict[str, Any]
"""An OpenAI-shaped chat message: ``{"role": ..., "content": ...}``."""


@dataclass(frozen=True)
class TokenLogprob:
    """One generated token with its log-probability and the top alternatives.

    ``entropy`` is the exact entropy (nats) of the full next-token distribution when the
    provider computed it (the local llama.cpp provider does); hosted providers give only the
    top-k alternatives, from which an approximation can be made.
    """

    token: str
    logprob: float
    top: tuple[tuple[str, float], ...] = ()
    entropy: float | None = None


@dataclass(frozen=True)
class ToolCall:
    id: str
    name: str
    arguments: str
    """The raw JSON arguments exactly as the model wrote them (may be invalid JSON)."""


@dataclass(frozen=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    """Of ``prompt_tokens``, those read from the provider's prompt cache rather than computed
    (llama.cpp's reused KV prefix; a hosted provider's cache hit)."""

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    @property
    def computed_prompt_tokens(self) -> int:
        return self.prompt_tokens - self.cached_tokens

    @property
    def computed_tokens(self) -> int:
        """What the model actually computed: prompt tokens not read from a cache, and output."""
        return self.computed_prompt_tokens + self.completion_tokens

    def priced(
        self, price_in: float | None, price_out: float | None, price_cached: float | None = None
    ) -> float:
        """$ of the call at these prices ($/M tokens): computed prompt tokens at the input
        price, cached ones at the cache-read price (the input price when there is none)."""
        price_in = price_in or 0.0
        cached_price = price_in if price_cached is None else price_cached
        return (
            self.computed_prompt_tokens * price_in
            + self.cached_tokens * cached_price
            + self.completion_tokens * (price_out or 0.0)
        ) / 1e6

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.prompt_tokens + other.prompt_tokens,
            self.completion_tokens + other.completion_tokens,
            self.cached_tokens + other.cached_tokens,
        )


@dataclass(frozen=True)
class Reply:
    """What every model call returns: text or tool calls, usage, $ cost, log-probabilities."""

    agent: str
    model: str
    text: str
    usage: Usage
    cost_usd: float
    finish_reason: str | None = None
    tool_calls: tuple[ToolCall, ...] = ()
    logprobs: tuple[TokenLogprob, ...] | None = None
    """``None`` when log-probabilities were not requested or the provider returned none."""
    logprob_kind: Literal["exact", "top_k"] | None = None
    """``exact``: full-vocabulary entropies are present; ``top_k``: only top-k alternatives."""
    vocab_size: int | None = None
    latency_s: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)


class Model(Protocol):
    """A chat model bound to one roster agent. Implemented in ``sale_tui.models.client``."""

    @property
    def agent_name(self) -> str: ...

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
        """``repetition_penalty``: llama.cpp-style multiplicative penalty on recently used
        tokens (1.0 = off). Providers without one ignore it. ``seed``: the sampler's seed
        (local models), so a sampled call gives the same reply when run again.
        ``stop_if_repeating``: end the generation once its text is a repetition loop
        (``repetition.repeats_itself``); local models do, hosted ones ignore it."""
        ...
