"""A scripted model: the fake at the model seam, for tests of the logic above it.

It implements the same ``Model`` protocol as ``LiteLLMModel``; a ``respond`` function sees
the request and returns the text and, optionally, the log-probabilities the model "emits".
Usage is counted from whitespace tokens so cost arithmetic stays real, and like llama.cpp it
keeps the previous call's tokens: the words a prompt shares from its start with the previous
prompt and reply count as cached, so tests can see what a prompt layout lets a cache reuse.
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sale_tui import repetition
from sale_tui.protocols import Message, Reply, TokenLogprob, ToolCall, Usage


@dataclass(frozen=True)
class Request:
    messages: Sequence[Message]
    max_tokens: int | None
    logprobs: bool
    top_logprobs: int | None
    tools: Sequence[dict[str, Any]] | None
    temperature: float | None = None
    seed: int | None = None
    stop_if_repeating: bool = False

    @property
    def prompt(self) -> str:
        return "\n".join(str(m.get("content", "")) for m in self.messages)


@dataclass(frozen=True)
class Scripted:
    """What a scripted model says: text, optional per-token logprobs, optional tool calls."""

    text: str = ""
    logprobs: tuple[TokenLogprob, ...] | None = None
    tool_calls: tuple[ToolCall, ...] = ()
    vocab_size: int | None = None


def digit_distribution(probabilities: dict[int, float]) -> tuple[TokenLogprob, ...]:
    """A one-token reply whose top alternatives are the given digit probabilities."""
    top = tuple(
        sorted(
            ((str(d), math.log(p)) for d, p in probabilities.items() if p > 0),
            key=lambda item: -item[1],
        )
    )
    return (TokenLogprob(top[0][0], top[0][1], top),)


@dataclass
class ScriptedModel:
    """A ``Model`` whose replies come from ``respond``; records every request it gets."""

    name: str
    respond: Callable[[Request], Scripted | str | Exception]
    price_in: float = 0.0
    price_out: float = 0.0
    price_cached: float | None = None
    supports_logprobs: bool = True
    requests: list[Request] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _last_words: list[str] = field(default_factory=list, repr=False)

    @property
    def agent_name(self) -> str:
        return self.name

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
        request = Request(
            list(messages),
            max_tokens,
            logprobs and self.supports_logprobs,
            top_logprobs,
            tools,
            temperature,
            seed,
            stop_if_repeating,
        )
        with self._lock:
            self.requests.append(request)
        answer = self.respond(request)
        if isinstance(answer, Exception):
            raise answer
        scripted = Scripted(text=answer) if isinstance(answer, str) else answer
        text = scripted.text
        spans = [m.end() for m in re.finditer(r"\S+", text)]
        if max_tokens is not None and len(spans) > max_tokens:
            text = text[: spans[max_tokens - 1]]  # cut at the cap, keeping the whitespace
        if stop_if_repeating:  # as the local engine does: checked every few words
            text = _cut_at_repetition(text)
        words = text.split()
        if on_text and text:
            on_text(text)
        prompt_words = [w for m in messages for w in str(m.get("content", "")).split()]
        with self._lock:
            cached = _common_prefix(self._last_words, prompt_words)
            self._last_words = prompt_words + words
        usage = Usage(
            len(prompt_words),
            len(words) or len(scripted.tool_calls),
            min(cached, max(len(prompt_words) - 1, 0)),
        )
        token_logprobs = scripted.logprobs if request.logprobs else None
        kind = None
        if token_logprobs:
            kind = "exact" if all(t.entropy is not None for t in token_logprobs) else "top_k"
        return Reply(
            agent=self.name,
            model=f"scripted/{self.name}",
            text=text,
            usage=usage,
            cost_usd=usage.priced(self.price_in, self.price_out, self.price_cached),
            finish_reason="tool_calls" if scripted.tool_calls else "stop",
            tool_calls=scripted.tool_calls,
            logprobs=token_logprobs,
            logprob_kind=kind,  # type: ignore[arg-type]
            vocab_size=scripted.vocab_size,
        )


def _common_prefix(before: list[str], now: list[str]) -> int:
    count = 0
    for old, new in zip(before, now, strict=False):
        if old != new:
            break
        count += 1
    return count


def _cut_at_repetition(text: str) -> str:
    """``text`` up to the first checkpoint where it is a repetition loop."""
    spans = [m.end() for m in re.finditer(r"\S+", text)]
    for count in range(repetition.CHECK_EVERY, len(spans) + 1, repetition.CHECK_EVERY):
        if repetition.repeats_itself(text[: spans[count - 1]]) is not None:
            return text[: spans[count - 1]]
    return text
