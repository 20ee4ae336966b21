"""One bidder's entry in the config (``[[agents]]``), apart from the rest of ``config.py``."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True, frozen=True)


class AgentConfig(_Section):
    """One bidder in the auction."""

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9._-]+$")
    """Short unique name, shown in the auction table and used by ``--agents``."""
    model: str = Field(min_length=1)
    """litellm model id, e.g. ``gpt-4o-mini``, ``anthropic/claude-haiku-4-5``,
    ``ollama/qwen2.5-coder:7b``, or a local one: ``sale-local/qwen2.5-coder-0.5b``."""
    price_in: float | None = Field(default=None, ge=0)
    """$ per million prompt tokens. Default: litellm's price map (nominal rule for local models)."""
    price_out: float | None = Field(default=None, ge=0)
    """$ per million completion tokens. Default: litellm's price map."""
    price_cached: float | None = Field(default=None, ge=0)
    """$ per million prompt tokens read from the provider's prompt cache. Default: litellm's
    cache-read price, else ``price_in`` (local models: a tenth of ``price_in``)."""
    context: int | None = Field(default=None, gt=0)
    """Context window in tokens. Default: litellm's model info (local: ``local.n_ctx``)."""
    logprobs: bool | None = None
    """Whether the provider returns token log-probabilities (bid entropy, jury scores).
    Default: true for local and OpenAI-compatible providers, false otherwise."""
    api_base: str | None = None
    """Base URL for self-hosted providers (Ollama, vLLM, llama.cpp server)."""
    tool_calls: bool | None = None
    """Whether the agent executes with the provider's native tool calls instead of the text
    action format. Default: true for hosted models litellm knows support function calling,
    false for local models (small models follow the text format better)."""
    edit_format: Literal["whole", "diff"] | None = None
    """How the agent changes files: ``whole`` (writes the whole file) or ``diff``
    (search/replace blocks, whole files for new or short ones). Default: ``whole`` for local
    models (aider's finding, and ours: small models cannot copy old lines exactly), ``diff``
    for hosted ones."""
    stop_when_tests_pass: bool | None = None
    """Whether a change that turns the job's failing tests green ends the run, as aider's
    auto-test loop does. Default: true for local models (measured: small models that go on
    after that mostly break the working code), false for hosted ones (they finish
    themselves, and may have more to do than the tests check)."""
    draft_first: bool | None = None
    """Whether step 1 is asked as one call would ask it: on a coding job that names one file,
    that file whole (``whole`` edit format only). The loop's rules and tools come from step 2
    on. Default: true for local
    models (measured: the loop's long first prompt cost the 1.5B a fifth of its one-call
    solve rate), false for hosted ones."""
    drafts: int | None = Field(default=None, ge=1, le=8)
    """How many candidate drafts a coding job may get before the loop's own steps (test-time
    compute for small models): when a draft leaves the job's failing tests failing, the next
    is sampled afresh (temperature 0.7) from the same prompt, and the first that turns them
    green is kept. Only with ``draft_first`` and tests that fail before the change. Default:
    3 for local models, 1 for hosted ones."""
