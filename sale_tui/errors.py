"""The one error tree of sale-tui.

Everything the program raises on purpose is a ``SaleError``; the edges (CLI, TUI) translate it
into one line for the user plus an exit code. Each error carries the *fix* as its own field so
that the edges never have to guess it::

    SaleError                      exit 1 unless a subclass says otherwise
    ├── ConfigError                2  malformed TOML, unknown key, bad value
    ├── UsageError                 2  a bad flag or argument combination
    ├── ModelError                 3  a model could not be used
    │   ├── UnknownModelError      2  litellm does not know the model id
    │   ├── MissingApiKeyError     3  the provider's key is not in the environment
    │   ├── ProviderError          3  the provider failed (after retries, where retrying helps)
    │   └── LocalEngineError       3  llama-cpp-python missing, or weights not pulled
    ├── SandboxError               3  Docker unavailable, image missing, container failure
    ├── RepoError                  2  not a repo, no commits, HEAD moved, patch does not apply
    └── WeightsError               3  assembling local weights failed
        ├── ChecksumMismatchError  3  joined file does not match the official sha256
        └── DiskFullError          3  not enough space in the model cache

    StopRequested (a KeyboardInterrupt, so no ``except Exception`` takes it for a failure)
                                   130  the user stopped the job (F8, ctrl+q) during a call
"""

from __future__ import annotations


class SaleError(Exception):
    """Base of every deliberate sale-tui error: a message and, where known, the fix."""

    exit_code = 1

    def __init__(self, message: str, *, fix: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fix = fix

    def one_line(self) -> str:
        """The message and the fix on one line, as the CLI prints it."""
        return f"{self.message} — {self.fix}" if self.fix else self.message


class ConfigError(SaleError):
    exit_code = 2


class UsageError(SaleError):
    exit_code = 2


class ModelError(SaleError):
    exit_code = 3


class UnknownModelError(ModelError):
    exit_code = 2


class MissingApiKeyError(ModelError):
    pass


class ProviderError(ModelError):
    pass


class LocalEngineError(ModelError):
    pass


class SandboxError(SaleError):
    exit_code = 3


class RepoError(SaleError):
    exit_code = 2


class WeightsError(SaleError):
    exit_code = 3


class ChecksumMismatchError(WeightsError):
    pass


class DiskFullError(WeightsError):
    pass


class StopRequested(KeyboardInterrupt):
    """The user stopped the job while a model call was running; raised in the job's thread.

    A ``KeyboardInterrupt`` on purpose: it must cross every ``except Exception`` that treats a
    failing agent as one more loser (the auction, the agent loop) and reach the front end,
    which records the job as interrupted, exactly as Ctrl-C does in ``do``.
    """

    exit_code = 130

    def __init__(self, message: str = "stopped by the user") -> None:
        super().__init__(message)
        self.message = message
