"""Typed configuration: one user file, one per-repo file, environment overrides.

Sources, later ones winning: the user file (``~/.config/sale-tui/config.toml`` or
``$SALE_TUI_HOME/config.toml`` or ``$SALE_TUI_CONFIG``), the repo file (``.sale-tui.toml``
found from the repo's folder up to the git root), and ``SALE_TUI__SECTION__KEY=value``
environment variables (values are read as TOML literals, falling back to plain strings).
Tables merge key by key; lists (such as ``agents``) replace.

The repo file comes with a clone, so it applies only once the user has trusted its exact bytes
(``sale-tui trust``, see trust.py); until then it is ignored whole and ``repo_config_notice``
gives the one line that says so. Any of its keys can send keys or code somewhere or spend
money (agents, api_base, the sandbox's network and limits, timeouts, budgets, weights).

Each source is validated on its own before merging, so an unknown key or a bad value is
reported with the file (or variable) that holds it. Every field's docstring is its
documentation: ``sale-tui config show --doc`` prints them.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError

from sale_tui import paths, trust
from sale_tui.config_agent import AgentConfig, _Section
from sale_tui.errors import ConfigError

ENV_PREFIX = "SALE_TUI__"
DOCKER_SIZE = r"^[0-9]+(\.[0-9]+)?\s*([bkmgtBKMGT][bB]?)?$"
"""A size as Docker takes it: bytes, or a number with b, k, m, g or t (1g, 1.5g, 512mb)."""


class ModelCallConfig(_Section):
    """How model calls are made."""

    retries: int = Field(default=3, ge=0, le=10)
    """Retries on transient provider errors (rate limit, connection, 5xx); never on auth or
    bad requests. They are the only retries: the provider SDK's own are off."""
    retry_wait_s: float = Field(default=1.0, ge=0)
    """First back-off wait in seconds; doubles on every retry."""
    timeout_s: float = Field(default=120.0, gt=0)
    """The most one hosted model call may wait, in seconds, its retries and waits included:
    a deadline kept on the host, so a provider that hangs or trickles bytes ends there. A
    streamed answer that keeps coming has it anew after each piece (10 times it in all).
    Local models are not cut off by it (they stop when you stop them)."""


class LocalConfig(_Section):
    """The embedded llama.cpp engine."""

    n_ctx: int = Field(default=4096, ge=512)
    """Context window given to local models, in tokens."""
    n_threads: int | None = Field(default=None, ge=1)
    """CPU threads for llama.cpp. Default: all cores."""
    engine: Literal["worker", "in-process"] = "worker"
    """Where llama.cpp runs: ``worker``, a child process per model (a crash or an OOM kill
    there is one failed call, and a stop cancels a call at once), or ``in-process``, in the
    app itself (only to measure what the process boundary costs)."""
    extra_buffers: Literal["auto", "on", "off"] = "auto"
    """llama.cpp's extra weight buffers (CPU repacking; AMX on Intel). ``auto``: off only when
    the installed llama.cpp has its AMX kernels, whose matrix multiply crashes on AMX CPUs
    (Sapphire Rapids and later); ``off`` if a local model crashes on your CPU anyway."""


class AuctionConfig(_Section):
    """The SALE mechanism (see docs/ARCHITECTURE.md)."""

    max_bid_tokens: int = Field(default=128, ge=16, le=4096)
    """Hard cap on a bid's length in tokens; also the length that normalises the cost term.
    Every juror reads every bid, so the cap sets most of the auction's tokens (issue 16:
    at 256, the Qwen bids took 210-240 tokens, and the jury read each of them twice)."""
    memory_k: int = Field(default=8, ge=0, le=64)
    """How many similar past jobs a refining agent retrieves (one plan pair each)."""
    refine: bool = True
    """Let agents cheaper than the provisional winner refine their bids from memory."""
    w_cost: float = Field(default=0.5, ge=0)
    """w_c: weight of the cost term, which is price x bid tokens relative to the priciest agent
    writing a full-length bid (so it lies in [0, w_c])."""
    w_entropy: float = Field(default=0.25, ge=-10, le=10)
    """w_h: weight of the bid's normalised mean token entropy (in [0, 1]) in the value."""
    jury_weights: dict[str, float] = Field(default_factory=dict)
    """w_j per juror name, on the juror's 0-5 score. Jurors not listed get
    ``default_juror_weight``."""
    default_juror_weight: float | None = Field(default=None, ge=0)
    """Weight of an unlisted juror. Default: 1 / (5 x jury size), so the jury adds at most 1."""
    use_fitted_weights: bool = True
    """Use the weights last fitted (by ``sale-tui calibrate`` or an automatic refit)."""
    refit_every: int = Field(default=20, ge=0)
    """Refit the weights after a job once this many new outcomes have been recorded since the
    last fit (0: never on its own; ``sale-tui calibrate`` still does). A refit is adopted only
    when it routes the held-out jobs at least as well as the weights in use."""
    job_budget_usd: float | None = Field(default=None, gt=0)
    """Cap in $ per job (auction + estimated execution). ``--budget`` overrides it."""
    session_budget_usd: float | None = Field(default=None, gt=0)
    """Cap in $ for everything one sale-tui process (one TUI session) spends."""
    execution_tokens_per_bid_token: float = Field(default=40.0, gt=0)
    """For the budget check: estimated execution tokens per token of the winning plan."""
    mode: Literal["auto", "always", "never"] = "auto"
    """``auto``: no bids or jury when the agents' records on similar past jobs leave no doubt;
    ``always``: auction every job; ``never``: route from the records (``--auction``)."""
    explore: float = Field(default=0.1, ge=0, le=1)
    """In ``auto``: the share of jobs auctioned although the memory is sure (it keeps learning)."""
    route_min_jobs: int = Field(default=4, ge=1)
    """Similar past jobs with a known outcome an agent needs before the memory routes to it."""
    jury: Literal["pairwise", "panel"] = "pairwise"
    """``pairwise``: each juror scores each plan in its own one-token call (the paper's jury);
    ``panel``: one call per juror scores every plan (docs/BENCHMARKS.md compares them)."""
    w_memory: float = Field(default=1.0, ge=0)
    """w_m: weight of a bidder's success rate on similar past jobs (0-1) in the value."""
    track_k: int = Field(default=8, ge=1, le=64)
    """How many similar past jobs with a known outcome make an agent's track record."""
    track_floor: float = Field(default=0.0, ge=-1, le=1)
    """The least cosine similarity a past job needs to count in a track record."""
    approve_plan: bool = False
    """Wait for the user's word (approve, edit, reject) on the winning plan before it runs."""


class MemoryConfig(_Section):
    """The SQLite auction memory."""

    path: str | None = None
    """Where the memory file lives. Default: ``<data dir>/memory.db``."""


class SandboxConfig(_Section):
    """Where winning agents work: one Docker container per job."""

    image: str = "sale-tui-sandbox:1"
    """The sandbox image (``sale-tui sandbox build`` makes it)."""
    network: bool = False
    """Give containers a network. Off by default: nothing leaves the sandbox."""
    memory: str = Field(default="1g", pattern=DOCKER_SIZE)
    """Memory limit per container (Docker syntax: 512m, 2g)."""
    cpus: float = Field(default=1.0, gt=0)
    """CPU limit per container."""
    pids: int = Field(default=256, ge=16)
    """Process limit per container (stops fork bombs)."""
    work_size: str = Field(default="2g", pattern=DOCKER_SIZE)
    """Size cap of the in-memory work area holding the repo snapshot."""
    command_timeout_s: float = Field(default=120.0, gt=0)
    """Each command in the sandbox is killed after this many seconds."""
    output_cap_bytes: int = Field(default=200_000, ge=1000)
    """Output of one command is cut after this many bytes."""


class Settings(_Section):
    """Everything sale-tui can be configured with."""

    agents: tuple[AgentConfig, ...] = ()
    """The roster. Empty means the embedded local roster (SmolLM2-135M, Qwen2.5-Coder-0.5B
    and 1.5B)."""
    models: ModelCallConfig = ModelCallConfig()
    """Model call behaviour."""
    local: LocalConfig = LocalConfig()
    """Local engine settings."""
    auction: AuctionConfig = AuctionConfig()
    """The auction's weights, caps and budgets."""
    memory: MemoryConfig = MemoryConfig()
    """The auction memory."""
    sandbox: SandboxConfig = SandboxConfig()
    """The Docker sandbox's image and limits."""


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return _parse_toml(path.read_bytes(), path)
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from exc


def _parse_toml(data: bytes, path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"config error in {path}: not UTF-8 text (byte {exc.start})",
            fix="save the file as UTF-8",
        ) from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            f"config error in {path}: malformed TOML ({exc})",
            fix="fix the syntax at that line (https://toml.io)",
        ) from exc


def repo_config(cwd: Path | None = None) -> trust.RepoConfig | None:
    """The repo file for the folder ``cwd`` (default: the current one), read once, with its
    trust state; None when there is none."""
    path = paths.find_repo_config(cwd)
    return trust.read_repo_config(path) if path is not None else None


def keys_set(data: bytes) -> list[str]:
    """The dotted keys a config sets, for the notice (``agents`` counts its entries)."""
    try:
        parsed = tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError):
        return []
    keys: list[str] = []
    for name, value in parsed.items():
        if isinstance(value, dict):
            keys.extend(f"{name}.{key}" for key in value)
        elif isinstance(value, list):
            keys.append(f"{name} ({len(value)})")
        else:
            keys.append(name)
    return keys


def check_repo_file(config: trust.RepoConfig) -> Settings:
    """Validate a repo file on its own, raising ``ConfigError`` as loading it would."""
    return _validate(_parse_toml(config.data, config.path), str(config.path))


def repo_config_notice(config: trust.RepoConfig | None) -> str | None:
    """One line for a repo file that is not applied, with the command that applies it."""
    if config is None or config.trusted:
        return None
    where = config.path.parent
    if config.state == "unreadable":
        return (
            f"ignoring {config.path}: not a regular file inside {where}, or over "
            f"{trust.CONFIG_LIMIT_BYTES // 1000} KB"
        )
    keys = keys_set(config.data)
    shown = ", ".join(keys[:6]) + (", …" if len(keys) > 6 else "")
    why = "it changed since you trusted it" if config.state == "changed" else "not trusted"
    return (
        f"ignoring {config.path} ({why}{'; it sets ' + shown if shown else ''}): "
        f"read it, then `sale-tui trust --repo {where}` to apply it"
    )


def _env_overrides(environ: Mapping[str, str]) -> dict[str, Any]:
    overrides: dict[str, Any] = {}
    for name, raw in environ.items():
        if not name.startswith(ENV_PREFIX):
            continue
        keys = [part.lower() for part in name[len(ENV_PREFIX) :].split("__") if part]
        if not keys:
            continue
        try:
            value: Any = tomllib.loads(f"v = {raw}")["v"]
        except tomllib.TOMLDecodeError:
            value = raw
        target = overrides
        for key in keys[:-1]:
            target = target.setdefault(key, {})
        target[keys[-1]] = value
    return overrides


def _merge(base: dict[str, Any], top: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in top.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _dotted(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _validate(data: Mapping[str, Any], source: str) -> Settings:
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()
        # A misspelt key also makes the real key "missing": report the misspelling first.
        first = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
        key = _dotted(tuple(first["loc"]))
        if first["type"] == "missing":
            raise ConfigError(
                f"config error in {source}: '{key}' is required",
                fix="add it (see `sale-tui config show --doc`)",
            ) from exc
        if first["type"] == "extra_forbidden":
            known = _known_keys(tuple(first["loc"][:-1]))
            raise ConfigError(
                f"config error in {source}: unknown key '{key}'",
                fix=f"remove it or use one of: {', '.join(known)}",
            ) from exc
        raise ConfigError(
            f"config error in {source}: '{key}' {first['msg'].lower()} (got {first['input']!r})",
            fix="see `sale-tui config show --doc` for what each key takes",
        ) from exc


def _known_keys(parent: tuple[int | str, ...]) -> list[str]:
    model: type[BaseModel] = Settings
    for part in parent:
        if isinstance(part, int):
            continue
        annotation = model.model_fields[str(part)].annotation
        inner = getattr(annotation, "__args__", (annotation,))[0]
        if isinstance(inner, type) and issubclass(inner, BaseModel):
            model = inner
    return sorted(model.model_fields)


def load_settings(
    *,
    user_file: Path | None = None,
    repo_file: Path | None = None,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> Settings:
    """Load and validate the merged configuration; raises ``ConfigError`` naming the source."""
    environ = os.environ if environ is None else environ
    user_file = user_file or paths.user_config_file()
    repo_file = repo_file or paths.find_repo_config(cwd)
    merged: dict[str, Any] = {}
    sources: list[tuple[str, dict[str, Any]]] = []
    if user_file.is_file():
        sources.append((str(user_file), _read_toml(user_file)))
    if repo_file is not None:
        repo = trust.read_repo_config(repo_file)
        if repo.trusted:  # an untrusted one is ignored whole: repo_config_notice says so
            sources.append((str(repo_file), _parse_toml(repo.data, repo_file)))
    env_data = _env_overrides(environ)
    if env_data:
        sources.append((f"environment variables {ENV_PREFIX}*", env_data))
    for source, data in sources:
        _validate(data, source)
        merged = _merge(merged, data)
    settings = _validate(merged, " + ".join(s for s, _ in sources) or "defaults")
    names = [agent.name for agent in settings.agents]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ConfigError(
            f"config error: agent name '{duplicates[0]}' is used twice",
            fix="give every [[agents]] entry a unique name",
        )
    return settings


def field_docs(model: type[BaseModel] = Settings, prefix: str = "") -> list[tuple[str, str, str]]:
    """(dotted key, default, description) for every field, for ``config show --doc``."""
    rows: list[tuple[str, str, str]] = []
    for name, info in model.model_fields.items():
        key = f"{prefix}{name}"
        description = " ".join((info.description or "").split())
        annotation = info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            rows.append((key, "", description))
            rows.extend(field_docs(annotation, key + "."))
        elif model is Settings and name == "agents":
            rows.append((key, "[]", description))
            rows.extend(field_docs(AgentConfig, "agents[]."))
        else:
            default = "(required)" if info.is_required() else repr(info.default)
            rows.append((key, default, description))
    return rows
