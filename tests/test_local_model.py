"""Integration: the real SmolLM2 GGUF through litellm and the in-process llama.cpp provider.

SmolLM2 is for plumbing: these tests assert on usage, log-probabilities, streaming and cost,
never on what the model says.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from sale_tui.config import Settings
from sale_tui.models.client import LiteLLMModel
from sale_tui.repetition import repeats_itself
from sale_tui.roster import build_roster
from tests.conftest import run_cli

pytestmark = pytest.mark.local_model


@pytest.fixture
def smollm(with_smollm: Path) -> LiteLLMModel:
    settings = Settings()
    agent = next(a for a in build_roster(settings) if a.name == "smollm2")
    return LiteLLMModel.for_agent(agent, settings)


def test_completion_with_usage_cost_and_exact_logprobs(smollm: LiteLLMModel) -> None:
    reply = smollm.complete(
        [{"role": "user", "content": "Name a colour."}],
        max_tokens=12,
        logprobs=True,
        top_logprobs=4,
        temperature=0.0,
    )
    assert reply.text.strip()
    assert reply.usage.prompt_tokens > 5
    assert 0 < reply.usage.completion_tokens <= 12
    assert reply.cost_usd == pytest.approx(reply.usage.total_tokens * 0.00153 / 1e6, rel=1e-6)
    assert reply.logprob_kind == "exact"
    assert reply.vocab_size == 49152
    assert reply.logprobs is not None
    assert len(reply.logprobs) == reply.usage.completion_tokens
    for token in reply.logprobs:
        assert token.logprob <= 0
        assert len(token.top) == 4
        assert token.top[0][1] >= token.top[-1][1]  # sorted, best first
        assert token.entropy is not None
        assert 0 <= token.entropy <= math.log(49152) + 1e-9
    # Greedy decoding picks the most likely token: the chosen one is the top-1 alternative.
    assert reply.logprobs[0].token == reply.logprobs[0].top[0][0]
    assert "".join(t.token for t in reply.logprobs).strip() == reply.text.strip()


def test_a_generation_that_loops_ends_early_when_asked(smollm: LiteLLMModel) -> None:
    # greedy SmolLM2 loops on this prompt: the auction asks bids to end such a loop
    messages = [
        {"role": "user", "content": "List the same step again and again: Step: run the tests."}
    ]
    whole, cut = (
        smollm.complete(
            messages, max_tokens=256, temperature=0.0, logprobs=True, stop_if_repeating=stop
        )
        for stop in (False, True)
    )
    assert repeats_itself(whole.text) is not None
    assert repeats_itself(cut.text) is not None  # the bid check drops it all the same
    assert cut.usage.completion_tokens < whole.usage.completion_tokens
    assert cut.logprobs is not None and len(cut.logprobs) == cut.usage.completion_tokens


def test_a_shared_prompt_prefix_is_reported_cached_and_priced_lower(smollm: LiteLLMModel) -> None:
    shared = "Here is a list of colours: red, green, blue, yellow, purple, orange. " * 4
    smollm.complete([{"role": "user", "content": "Name a fruit."}], max_tokens=4)
    second = smollm.complete([{"role": "user", "content": shared + "Pick one."}], max_tokens=4)
    third = smollm.complete([{"role": "user", "content": shared + "Pick two."}], max_tokens=4)
    assert third.usage.prompt_tokens == second.usage.prompt_tokens
    # llama.cpp kept the shared block in its KV cache: only "two." and the tail are computed
    assert third.usage.cached_tokens > 0.8 * third.usage.prompt_tokens
    # the call before shared only the chat header with it
    assert second.usage.cached_tokens < 0.5 * second.usage.prompt_tokens
    assert third.cost_usd < second.cost_usd  # cache reads at a tenth of the input price
    expected = (
        third.usage.computed_prompt_tokens * 0.00153
        + third.usage.cached_tokens * 0.000153
        + third.usage.completion_tokens * 0.00153
    ) / 1e6
    assert third.cost_usd == pytest.approx(expected, rel=1e-6)


def test_streaming_reports_the_same_usage_as_a_plain_call(smollm: LiteLLMModel) -> None:
    messages = [{"role": "user", "content": "Count from one to ten."}]
    plain = smollm.complete(messages, max_tokens=16, temperature=0.0)
    pieces: list[str] = []
    streamed = smollm.complete(messages, max_tokens=16, temperature=0.0, on_text=pieces.append)
    assert "".join(pieces) == streamed.text == plain.text
    assert streamed.usage.prompt_tokens == plain.usage.prompt_tokens
    assert streamed.usage.completion_tokens == plain.usage.completion_tokens
    # the same prompt again: all of it but the last token comes from llama.cpp's KV cache
    assert streamed.usage.cached_tokens == plain.usage.prompt_tokens - 1


def test_cli_prompt_json_end_to_end(with_smollm: Path) -> None:
    result = run_cli(
        "prompt",
        "Say hello.",
        "--agent",
        "smollm2",
        "--max-tokens",
        "8",
        "--json",
        env={"SALE_TUI_CACHE_DIR": str(with_smollm)},
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["agent"] == "smollm2"
    assert 0 < data["completion_tokens"] <= 8
    assert data["tokens_per_s"] > 0
    assert data["cost_usd"] > 0


def test_models_bench_measures_a_real_local_model(with_smollm: Path) -> None:
    result = run_cli(
        "models",
        "bench",
        "smollm2",
        "--runs",
        "1",
        "--max-tokens",
        "8",
        "--json",
        env={"SALE_TUI_CACHE_DIR": str(with_smollm)},
    )
    assert result.returncode == 0, result.stderr
    (row,) = json.loads(result.stdout)
    assert row["agent"] == "smollm2"
    assert row["prompt_tokens"] > 200  # the fixed ~280-token review prompt
    assert row["prompt_tokens_per_s"] > 0 and row["generation_tokens_per_s"] > 0
    assert 1 < row["generated_tokens"] <= 8
    assert row["first_token_s"] > 0
    assert row["engine"].startswith("worker") and row["cpu"]  # named beside every speed


def test_models_bench_measures_how_fast_a_stop_lands(with_smollm: Path) -> None:
    result = run_cli(
        "models",
        "bench",
        "smollm2",
        "--stops",
        "--runs",
        "1",
        "--json",
        env={"SALE_TUI_CACHE_DIR": str(with_smollm)},
    )
    assert result.returncode == 0, result.stderr
    (row,) = json.loads(result.stdout)
    assert row["engine"].startswith("worker, extra buffers ")  # on, or off on an AMX build
    # a generation stops at its next token; a prompt being read is ended by killing the worker
    assert 0 < row["while_generating_s"] < row["while_reading_prompt_s"]
