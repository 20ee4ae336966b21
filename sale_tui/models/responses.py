"""litellm's response objects read into the protocol's plain dataclasses (usage, token
log-probabilities with entropies, tool calls). Attribute access only: no litellm import."""

from __future__ import annotations

from typing import Any

from sale_tui.protocols import TokenLogprob, ToolCall, Usage


def usage_of(response: Any) -> Usage:
    usage = getattr(response, "usage", None)
    if usage is None:
        return Usage()
    details = getattr(usage, "prompt_tokens_details", None)
    if isinstance(details, dict):
        cached = details.get("cached_tokens")
    else:
        cached = getattr(details, "cached_tokens", None)
    prompt = int(usage.prompt_tokens or 0)
    return Usage(prompt, int(usage.completion_tokens or 0), min(int(cached or 0), prompt))


def logprobs_of(choice: Any) -> tuple[tuple[TokenLogprob, ...] | None, str | None]:
    raw = getattr(choice, "logprobs", None)
    if raw is None:
        return None, None
    content = raw.get("content") if isinstance(raw, dict) else getattr(raw, "content", None)
    if not content:
        return None, None

    def field(item: Any, name: str) -> Any:
        return item.get(name) if isinstance(item, dict) else getattr(item, name, None)

    tokens = []
    exact = True
    for item in content:
        entropy = field(item, "entropy")
        exact = exact and entropy is not None
        top = tuple(
            (str(field(alt, "token")), float(field(alt, "logprob")))
            for alt in (field(item, "top_logprobs") or ())
        )
        tokens.append(
            TokenLogprob(
                str(field(item, "token")),
                float(field(item, "logprob")),
                top,
                None if entropy is None else float(entropy),
            )
        )
    return tuple(tokens), ("exact" if exact else "top_k")


def tool_calls_of(message: Any) -> tuple[ToolCall, ...]:
    calls = getattr(message, "tool_calls", None) or ()
    return tuple(
        ToolCall(str(call.id), str(call.function.name), str(call.function.arguments or ""))
        for call in calls
    )
