"""What goes wrong in a model call, as one clear error: which failures are worth a retry,
how a provider's exception reads as a ``SaleError`` naming the agent and the fix, and the
host-side deadline that ends a hosted call a provider keeps hanging."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from sale_tui.errors import MissingApiKeyError, ProviderError, SaleError, UnknownModelError
from sale_tui.roster import Agent
from sale_tui.stopping import raise_if_stopped

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


def own_error_inside(exc: BaseException) -> SaleError | None:
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


def is_transient(exc: BaseException) -> bool:
    if own_error_inside(exc) is not None:
        # A crashed engine worker restarts on the next call, but the same request would
        # most likely crash it the same way (a CPU fault, the OOM killer): no retry.
        return False
    if isinstance(exc, StreamBroken | DeadlinePassed) or "context window" in str(exc).lower():
        # litellm wraps the local engine's "exceed context window" in APIConnectionError;
        # the same request would fail the same way.
        return False
    return any(cls.__name__ in _TRANSIENT_NAMES for cls in type(exc).__mro__)


class DeadlinePassed(Exception):
    """A hosted call did not complete by its deadline (a hung or trickling provider)."""


def within(deadline: Callable[[], float], call: Callable[[], Any]) -> Any:
    """``call()`` in a daemon thread, waited for until ``deadline()`` (monotonic; it may move
    while the call streams) or the user's stop. httpx's timeouts are per read, so a provider
    that trickles a byte every few seconds would never time out, and a blocking read would
    hold Ctrl-C until it returned; here the caller's thread only waits on an event, so both
    end on time. A call given up on finishes (or hangs) in its own thread, which dies with
    the process."""
    outcome: dict[str, Any] = {}
    finished = threading.Event()

    def work() -> None:
        try:
            outcome["value"] = call()
        except BaseException as exc:  # handed to the caller's thread
            outcome["error"] = exc
        finally:
            finished.set()

    threading.Thread(target=work, name="hosted-model-call", daemon=True).start()
    while not finished.wait(0.1):
        raise_if_stopped()
        if time.monotonic() >= deadline():
            raise DeadlinePassed()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


class StreamBroken(Exception):
    """A stream failed after text was shown: retrying would repeat text, so we do not."""

    def __init__(self, cause: BaseException) -> None:
        super().__init__(str(cause))
        self.cause = cause


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else type(exc).__name__


def translate_error(
    exc: BaseException, agent: Agent, attempts: int, timeout_s: float = 0.0
) -> SaleError:
    """A provider exception as one clear ``SaleError`` naming the agent and the fix."""
    who = f"agent '{agent.name}' ({agent.model})"
    own = own_error_inside(exc)
    if own is not None:
        if not own.message.startswith("agent '"):
            own.message = f"{who}: {own.message}"
        return own
    if isinstance(exc, DeadlinePassed):
        return ProviderError(
            f"{who}: no complete answer within {timeout_s:g} s",
            fix="check the provider's status, or raise models.timeout_s in the config",
        )
    cause = exc.cause if isinstance(exc, StreamBroken) else exc
    names = {cls.__name__ for cls in type(cause).__mro__}
    message = _first_line(cause)
    if "AuthenticationError" in names:
        from sale_tui.models.client import environment_problem  # client imports this module

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
    if is_transient(cause):
        return ProviderError(
            f"{who}: provider error after {attempts} attempt(s): {message}",
            fix="try again later, or raise models.retries in the config",
        )
    return ProviderError(f"{who}: {message}", fix="check the request and the provider's status")
