"""The model layer against litellm's own mock responses (no network, real litellm code)."""

from __future__ import annotations

from typing import Any

import pytest

from sale_tui.config import ModelCallConfig
from sale_tui.errors import MissingApiKeyError, ProviderError, UnknownModelError
from sale_tui.models import client
from sale_tui.models.client import LiteLLMModel
from sale_tui.roster import Agent

MESSAGES = [{"role": "user", "content": "hi"}]


@pytest.fixture
def agent(monkeypatch: pytest.MonkeyPatch) -> Agent:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-used")
    return Agent(
        name="mini",
        model="gpt-4o-mini",
        price_in=0.15,
        price_out=0.60,
        context=128_000,
        logprobs=True,
    )


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Record every request that reaches litellm.completion (the real one runs after)."""
    litellm = client.litellm_module()
    real = litellm.completion
    seen: list[dict[str, Any]] = []

    def spy(**kwargs: Any) -> Any:
        seen.append(kwargs)
        return real(**kwargs)

    monkeypatch.setattr(litellm, "completion", spy)
    return seen


def fast(retries: int = 3) -> ModelCallConfig:
    return ModelCallConfig(retries=retries, retry_wait_s=0.0)


def test_reply_has_text_usage_and_cost(agent: Agent, calls: list[dict[str, Any]]) -> None:
    model = LiteLLMModel(agent, fast())
    model_request = {"mock_response": "hello there"}
    calls.clear()
    reply = _complete(model, model_request)
    assert reply.text == "hello there"
    assert reply.usage.prompt_tokens > 0 and reply.usage.completion_tokens > 0
    expected = (reply.usage.prompt_tokens * 0.15 + reply.usage.completion_tokens * 0.60) / 1e6
    assert reply.cost_usd == pytest.approx(expected)
    assert reply.agent == "mini" and reply.finish_reason == "stop"


def _complete(model: LiteLLMModel, extra: dict[str, Any], **kwargs: Any) -> Any:
    """Call through the real model with extra litellm kwargs (mock_response & co)."""
    original = model._request

    def with_extra(*args: Any) -> dict[str, Any]:
        return {**original(*args), **extra}

    model._request = with_extra  # type: ignore[method-assign]
    return model.complete(MESSAGES, **kwargs)


def test_transient_errors_are_retried(agent: Agent, monkeypatch: pytest.MonkeyPatch) -> None:
    litellm = client.litellm_module()
    real = litellm.completion
    attempts: list[int] = []

    def flaky(**kwargs: Any) -> Any:
        attempts.append(1)
        if len(attempts) < 3:
            raise litellm.RateLimitError("slow down", llm_provider="openai", model=agent.model)
        return real(**kwargs, mock_response="finally")

    monkeypatch.setattr(litellm, "completion", flaky)
    reply = LiteLLMModel(agent, fast()).complete(MESSAGES)
    assert reply.text == "finally"
    assert len(attempts) == 3


def test_retries_give_up_with_a_clear_error(agent: Agent, monkeypatch: pytest.MonkeyPatch) -> None:
    litellm = client.litellm_module()
    attempts: list[int] = []

    def down(**kwargs: Any) -> Any:
        attempts.append(1)
        raise litellm.ServiceUnavailableError(
            "overloaded", llm_provider="openai", model=agent.model
        )

    monkeypatch.setattr(litellm, "completion", down)
    with pytest.raises(ProviderError) as info:
        LiteLLMModel(agent, fast(retries=2)).complete(MESSAGES)
    assert len(attempts) == 3
    assert "agent 'mini'" in info.value.message and "3 attempt(s)" in info.value.message
    assert info.value.fix


def test_a_full_context_window_is_not_retried(
    agent: Agent, monkeypatch: pytest.MonkeyPatch
) -> None:
    litellm = client.litellm_module()
    attempts: list[int] = []

    def full(**kwargs: Any) -> Any:
        attempts.append(1)
        # what litellm raised for the local engine, seen on a real 0.5B run
        raise litellm.APIConnectionError(
            "Requested tokens (4125) exceed context window of 4096",
            llm_provider="sale-local",
            model=agent.model,
        )

    monkeypatch.setattr(litellm, "completion", full)
    with pytest.raises(ProviderError, match="context window"):
        LiteLLMModel(agent, fast(retries=3)).complete(MESSAGES)
    assert len(attempts) == 1


def test_auth_errors_are_not_retried(agent: Agent, monkeypatch: pytest.MonkeyPatch) -> None:
    litellm = client.litellm_module()
    attempts: list[int] = []

    def denied(**kwargs: Any) -> Any:
        attempts.append(1)
        raise litellm.AuthenticationError("bad key", llm_provider="openai", model=agent.model)

    monkeypatch.setattr(litellm, "completion", denied)
    with pytest.raises(MissingApiKeyError) as info:
        LiteLLMModel(agent, fast()).complete(MESSAGES)
    assert len(attempts) == 1
    assert "agent 'mini'" in info.value.message


def test_bad_request_is_not_retried(agent: Agent, monkeypatch: pytest.MonkeyPatch) -> None:
    litellm = client.litellm_module()
    attempts: list[int] = []

    def bad(**kwargs: Any) -> Any:
        attempts.append(1)
        raise litellm.BadRequestError(
            "max_tokens too large", llm_provider="openai", model=agent.model
        )

    monkeypatch.setattr(litellm, "completion", bad)
    with pytest.raises(ProviderError, match="max_tokens too large"):
        LiteLLMModel(agent, fast()).complete(MESSAGES)
    assert len(attempts) == 1


def test_missing_api_key_fails_before_any_call(
    agent: Agent, calls: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY")
    with pytest.raises(MissingApiKeyError) as info:
        LiteLLMModel(agent, fast()).complete(MESSAGES)
    assert "OPENAI_API_KEY" in info.value.message and "OPENAI_API_KEY" in (info.value.fix or "")
    assert calls == []


def test_unknown_model_is_a_clear_error(calls: list[dict[str, Any]]) -> None:
    agent = Agent(
        name="x", model="no-such-model-xyz", price_in=1, price_out=1, context=None, logprobs=False
    )
    with pytest.raises(UnknownModelError) as info:
        LiteLLMModel(agent, fast()).complete(MESSAGES)
    assert "no-such-model-xyz" in info.value.message
    assert calls == []


def test_streaming_delivers_text_and_usage(agent: Agent) -> None:
    pieces: list[str] = []
    reply = _complete(
        LiteLLMModel(agent, fast()), {"mock_response": "streamed reply text"}, on_text=pieces.append
    )
    assert len(pieces) > 1
    assert "".join(pieces) == reply.text == "streamed reply text"
    assert reply.usage.completion_tokens > 0
    assert reply.cost_usd > 0


def test_tool_calls_come_back(agent: Agent) -> None:
    tool_call = {
        "id": "c1",
        "type": "function",
        "function": {"name": "run", "arguments": '{"cmd": "ls"}'},
    }
    tools = [{"type": "function", "function": {"name": "run", "parameters": {"type": "object"}}}]
    reply = _complete(LiteLLMModel(agent, fast()), {"mock_tool_calls": [tool_call]}, tools=tools)
    assert [(c.id, c.name, c.arguments) for c in reply.tool_calls] == [
        ("c1", "run", '{"cmd": "ls"}')
    ]


def test_logprobs_are_requested_only_where_supported(
    agent: Agent, calls: list[dict[str, Any]]
) -> None:
    _complete(LiteLLMModel(agent, fast()), {"mock_response": "x"}, logprobs=True, top_logprobs=7)
    assert calls[-1]["logprobs"] is True and calls[-1]["top_logprobs"] == 7
    no_lp = Agent(
        name="n", model="gpt-4o-mini", price_in=0.15, price_out=0.6, context=None, logprobs=False
    )
    _complete(LiteLLMModel(no_lp, fast()), {"mock_response": "x"}, logprobs=True)
    assert "logprobs" not in calls[-1]


def test_tools_force_auto_tool_choice(agent: Agent, calls: list[dict[str, Any]]) -> None:
    tools = [{"type": "function", "function": {"name": "run", "parameters": {"type": "object"}}}]
    _complete(LiteLLMModel(agent, fast()), {"mock_response": "x"}, tools=tools)
    assert calls[-1]["tool_choice"] == "auto"
