from __future__ import annotations

from pathlib import Path

import pytest

from sale_tui.config import AgentConfig, Settings
from sale_tui.errors import UnknownModelError, UsageError
from sale_tui.models.catalog import (
    LOCAL_MODELS,
    NOMINAL_USD_PER_M_TOKENS_PER_BILLION_PARAMS,
    find_local_model,
)
from sale_tui.roster import availability, build_roster, select_agents


def test_default_roster_is_the_three_local_models_priced_by_size() -> None:
    roster = build_roster(Settings())
    assert [a.model for a in roster] == [m.model_id for m in LOCAL_MODELS]
    prices = [a.price for a in roster]
    assert prices == sorted(prices) and len(set(prices)) == 3  # strictly rising with size
    for agent in roster:
        assert agent.local is not None
        expected = NOMINAL_USD_PER_M_TOKENS_PER_BILLION_PARAMS * agent.local.params_billion
        assert agent.price_in == pytest.approx(expected, abs=1e-5)
        assert agent.logprobs is True


def test_the_nominal_rule_matches_the_papers_price_list() -> None:
    # SALE's Qwen3 4B/8B/14B/32B prices; the slope must reproduce them within 15%.
    for params, price in ((4, 0.05), (8, 0.09), (14, 0.16), (32, 0.36)):
        assert NOMINAL_USD_PER_M_TOKENS_PER_BILLION_PARAMS * params == pytest.approx(
            price, rel=0.15
        )


def test_configured_prices_override_defaults() -> None:
    settings = Settings(
        agents=(
            AgentConfig(name="tiny", model="sale-local/smollm2-135m", price_in=1.0, price_out=2.0),
        )
    )
    (agent,) = build_roster(settings)
    assert (agent.price_in, agent.price_out, agent.price) == (1.0, 2.0, 1.5)


def test_hosted_prices_come_from_litellms_price_map() -> None:
    settings = Settings(agents=(AgentConfig(name="mini", model="gpt-4o-mini"),))
    (agent,) = build_roster(settings)
    assert agent.price_in == pytest.approx(0.15)
    assert agent.price_out == pytest.approx(0.60)
    assert agent.context and agent.context > 100_000
    assert agent.logprobs is True


def test_native_tool_calls_default_to_what_the_price_map_says() -> None:
    settings = Settings(
        agents=(
            AgentConfig(name="mini", model="gpt-4o-mini"),
            AgentConfig(name="mini-text", model="gpt-4o-mini", tool_calls=False),
            AgentConfig(name="ollama", model="ollama/qwen2.5-coder:7b"),
            AgentConfig(name="tiny", model="sale-local/smollm2-135m"),
        )
    )
    assert [a.native_tools for a in build_roster(settings)] == [True, False, False, False]
    assert not any(a.native_tools for a in build_roster(Settings()))


def test_unmapped_hosted_model_has_unknown_price_and_is_not_ready(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    settings = Settings(agents=(AgentConfig(name="x", model="openai/my-finetune-v9"),))
    (agent,) = build_roster(settings)
    assert agent.price is None
    state = availability(agent)
    assert not state.ready and "price" in state.detail and "price_in" in (state.fix or "")


def test_unknown_local_model_is_refused() -> None:
    settings = Settings(agents=(AgentConfig(name="x", model="sale-local/llama-70b"),))
    with pytest.raises(UnknownModelError) as info:
        build_roster(settings)
    assert "sale-local/qwen2.5-coder-0.5b" in (info.value.fix or "")


def test_missing_api_key_is_reported_with_the_variable() -> None:
    settings = Settings(agents=(AgentConfig(name="claude", model="anthropic/claude-haiku-4-5"),))
    state = availability(build_roster(settings)[0])
    assert not state.ready
    assert "ANTHROPIC_API_KEY" in state.detail and "ANTHROPIC_API_KEY" in (state.fix or "")


def test_unknown_hosted_model_is_reported() -> None:
    settings = Settings(
        agents=(AgentConfig(name="x", model="no-such-model-xyz", price_in=1, price_out=1),)
    )
    state = availability(build_roster(settings)[0])
    assert not state.ready and "unknown model" in state.detail


def test_local_model_without_weights_says_pull(isolated_home: Path) -> None:
    agent = build_roster(Settings())[1]
    state = availability(agent)
    assert not state.ready
    assert state.fix in ("sale-tui models pull qwen-0.5b", "pip install 'sale-tui[local]'")


def test_select_agents() -> None:
    roster = build_roster(Settings())
    assert [a.name for a in select_agents(roster, ["qwen-1.5b"])] == ["qwen-1.5b"]
    assert select_agents(roster, None) == roster
    with pytest.raises(UsageError) as info:
        select_agents(roster, ["gpt-9"])
    assert "smollm2" in (info.value.fix or "")


def test_find_local_model_by_any_name() -> None:
    spec = LOCAL_MODELS[1]
    assert find_local_model(spec.key) is spec
    assert find_local_model(spec.agent_name) is spec
    assert find_local_model(spec.model_id) is spec
    assert find_local_model("nope") is None


def test_how_an_agent_executes_defaults_by_where_it_runs_and_the_config_overrides() -> None:
    local = build_roster(Settings())[0]
    assert (local.edit_format, local.stop_when_tests_pass, local.draft_first, local.drafts) == (
        "whole",
        True,
        True,
        3,
    )
    hosted = AgentConfig(name="big", model="gpt-4o-mini", price_in=1, price_out=1, context=8)
    agent = build_roster(Settings(agents=[hosted]), resolve_prices=False)[0]
    assert (agent.edit_format, agent.stop_when_tests_pass, agent.draft_first, agent.drafts) == (
        "diff",
        False,
        False,
        1,
    )
    mine = AgentConfig(
        name="q", model=local.model, stop_when_tests_pass=False, edit_format="diff", drafts=1
    )
    agent = build_roster(Settings(agents=[mine]), resolve_prices=False)[0]
    assert (agent.edit_format, agent.stop_when_tests_pass, agent.drafts) == ("diff", False, 1)


def test_smollm2_bids_only_when_named_and_every_configured_agent_bids() -> None:
    roster = build_roster(Settings())
    bidders = [a.name for a in select_agents(roster, None, bidders=True)]
    assert bidders == ["qwen-0.5b", "qwen-1.5b"]
    assert [a.name for a in select_agents(roster, ["smollm2", "qwen-0.5b"], bidders=True)] == [
        "smollm2",
        "qwen-0.5b",
    ]
    assert len(select_agents(roster, None)) == 3  # `sale-tui models` and `prompt` see all
    configured = build_roster(
        Settings(agents=[AgentConfig(name="tiny", model="sale-local/smollm2-135m")])
    )
    assert [a.name for a in select_agents(configured, None, bidders=True)] == ["tiny"]
