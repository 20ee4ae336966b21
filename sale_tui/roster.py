"""The roster: configured agents resolved to prices, context sizes and availability.

An empty ``agents`` list in the config means the embedded local roster. Prices missing from
the config come from litellm's price map (local models: the nominal size rule in
``models.catalog``). Nothing here imports litellm directly; hosted-model look-ups go through
``sale_tui.models.client`` and only happen when a hosted agent needs them.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, replace

from sale_tui.agents.task import EditFormat
from sale_tui.config import AgentConfig, Settings
from sale_tui.errors import UnknownModelError, UsageError
from sale_tui.models import weights
from sale_tui.models.catalog import LOCAL_MODELS, LOCAL_PROVIDER, LocalModel, find_local_model

# Providers known to return OpenAI-style token log-probabilities.
_LOGPROB_PROVIDERS = ("openai/", "hosted_vllm/", "together_ai/", "fireworks_ai/", "deepinfra/")


@dataclass(frozen=True)
class Agent:
    """A roster entry with every default resolved."""

    name: str
    model: str
    price_in: float | None
    """$ per million prompt tokens; ``None`` when neither config nor litellm knows it."""
    price_out: float | None
    context: int | None
    logprobs: bool
    api_base: str | None = None
    local: LocalModel | None = None
    native_tools: bool = False
    """Execute with provider tool calls rather than the text action format."""
    edit_format: EditFormat = "diff"
    """``whole`` files or search/replace ``diff`` blocks (config.AgentConfig.edit_format)."""
    stop_when_tests_pass: bool = False
    """A change that turns the failing tests green ends the run (config, same name)."""
    draft_first: bool = False
    """Step 1 is asked as one call would ask it (config, same name)."""
    drafts: int = 1
    """Candidate drafts a coding job may get (config, same name)."""
    bids_by_default: bool = True
    """Bids when ``--agents`` names none: every configured agent; of the default local roster,
    the models that can do the work (``LocalModel.bids_by_default``)."""
    price_cached: float | None = None
    """$ per million prompt tokens read from a prompt cache; ``None``: same as ``price_in``."""

    @property
    def price(self) -> float | None:
        """The single price pi(a) the auction uses: the mean of input and output prices."""
        if self.price_in is None or self.price_out is None:
            return None
        return (self.price_in + self.price_out) / 2


@dataclass(frozen=True)
class Availability:
    ready: bool
    detail: str
    fix: str | None = None


LOCAL_CACHE_READ_SHARE = 0.1
"""A local model's nominal price for a prompt token it reads from llama.cpp's KV cache, as a
share of ``price_in``. Reading costs next to nothing but memory, so it is priced as the hosted
providers with the cheapest cache reads price theirs (Anthropic: 10% of input)."""

LOCAL_DRAFTS = 3
"""Measured on the 0.5B (docs/BENCHMARKS.md): a second and third sampled draft cost a few
hundred tokens each, less than one step of the loop."""


def _default_logprobs(model: str) -> bool:
    if model.startswith(f"{LOCAL_PROVIDER}/"):
        return True
    return "/" not in model or model.startswith(_LOGPROB_PROVIDERS)


def _local_agent(spec: LocalModel, settings: Settings, config: AgentConfig | None) -> Agent:
    price_in = config.price_in if config and config.price_in is not None else spec.nominal_price
    return Agent(
        name=config.name if config else spec.agent_name,
        model=spec.model_id,
        price_in=price_in,
        price_cached=(
            config.price_cached
            if config and config.price_cached is not None
            else price_in * LOCAL_CACHE_READ_SHARE
        ),
        price_out=(
            config.price_out if config and config.price_out is not None else spec.nominal_price
        ),
        context=(config.context if config and config.context else settings.local.n_ctx),
        logprobs=True if config is None or config.logprobs is None else config.logprobs,
        local=spec,
        native_tools=bool(config and config.tool_calls),
        edit_format=(config.edit_format if config and config.edit_format else "whole"),
        stop_when_tests_pass=(
            True
            if config is None or config.stop_when_tests_pass is None
            else config.stop_when_tests_pass
        ),
        draft_first=True if config is None or config.draft_first is None else config.draft_first,
        drafts=LOCAL_DRAFTS if config is None or config.drafts is None else config.drafts,
    )


def _hosted_agent(config: AgentConfig, *, resolve_prices: bool) -> Agent:
    price_in, price_out, context = config.price_in, config.price_out, config.context
    price_cached, native_tools = config.price_cached, config.tool_calls
    unknown = None in (price_in, price_out, context, native_tools)
    if resolve_prices and unknown:
        from sale_tui.models.client import price_map_lookup  # lazy: imports litellm

        known = price_map_lookup(config.model)
        price_in = price_in if price_in is not None else known.price_in
        price_out = price_out if price_out is not None else known.price_out
        if price_cached is None and config.price_in is None:  # a set input price wins
            price_cached = known.price_cached
        context = context or known.context
        native_tools = known.tool_calls if native_tools is None else native_tools
    return Agent(
        name=config.name,
        model=config.model,
        price_in=price_in,
        price_out=price_out,
        price_cached=price_cached,
        context=context,
        logprobs=_default_logprobs(config.model) if config.logprobs is None else config.logprobs,
        api_base=config.api_base,
        native_tools=bool(native_tools),
        edit_format=config.edit_format or "diff",
        stop_when_tests_pass=bool(config.stop_when_tests_pass),
        draft_first=bool(config.draft_first),
        drafts=config.drafts or 1,
    )


def build_roster(settings: Settings, *, resolve_prices: bool = True) -> tuple[Agent, ...]:
    """Resolve the configured roster (or the local default) into ``Agent`` records."""
    if not settings.agents:
        return tuple(
            replace(_local_agent(spec, settings, None), bids_by_default=spec.bids_by_default)
            for spec in LOCAL_MODELS
        )
    agents = []
    for config in settings.agents:
        if config.model.startswith(f"{LOCAL_PROVIDER}/"):
            spec = find_local_model(config.model)
            if spec is None:
                known = ", ".join(m.model_id for m in LOCAL_MODELS)
                raise UnknownModelError(
                    f"agent '{config.name}': unknown local model '{config.model}'",
                    fix=f"use one of: {known}",
                )
            agents.append(_local_agent(spec, settings, config))
        else:
            agents.append(_hosted_agent(config, resolve_prices=resolve_prices))
    return tuple(agents)


def select_agents(
    roster: tuple[Agent, ...], names: list[str] | None, *, bidders: bool = False
) -> tuple[Agent, ...]:
    """The agents named by ``--agents``; when ``names`` is empty, all of them, or with
    ``bidders`` those that bid by default (``Agent.bids_by_default``)."""
    if not names:
        chosen = tuple(a for a in roster if a.bids_by_default) if bidders else roster
        return chosen or roster
    by_name = {agent.name: agent for agent in roster}
    unknown = [name for name in names if name not in by_name]
    if unknown:
        raise UsageError(
            f"unknown agent '{unknown[0]}'",
            fix=f"choose from the roster: {', '.join(by_name)} (see `sale-tui models`)",
        )
    return tuple(by_name[name] for name in names)


def availability(agent: Agent) -> Availability:
    """Can this agent be called right now? Says why not, and the fix."""
    if agent.local is not None:
        if importlib.util.find_spec("llama_cpp") is None:
            return Availability(
                False, "llama-cpp-python is not installed", "pip install 'sale-tui[local]'"
            )
        if not weights.is_pulled(agent.local):
            return Availability(
                False, "weights not pulled", f"sale-tui models pull {agent.local.agent_name}"
            )
        return Availability(True, f"local weights ready ({agent.local.title})")
    from sale_tui.models.client import environment_problem  # lazy: imports litellm

    problem = environment_problem(agent.model)
    if problem is not None:
        return Availability(False, problem.message, problem.fix)
    if agent.price is None:
        return Availability(
            False, "price unknown", f"set price_in and price_out for agent '{agent.name}'"
        )
    return Availability(True, "provider configured")
