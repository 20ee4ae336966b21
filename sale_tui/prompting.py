"""Prompt templates: the one home of jinja2.

Templates live in the top-level ``prompts/`` folder (shipped in the wheel as the
``sale_tui.prompts`` package data); a file of the same name in the user's
``<config dir>/prompts/`` overrides the shipped one. Undefined variables are errors.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import jinja2

from sale_tui import paths
from sale_tui.errors import ConfigError

SUFFIX = ".j2"
_VARS = re.compile(r"\{#-?\s*vars:\s*(?P<names>[\w,\s]*?)\s*-?#\}")


def shipped_dir() -> Path:
    """The shipped templates: ``prompts/`` beside the package, or inside it when installed."""
    try:
        return paths.shipped_folder("prompts", f"*{SUFFIX}")
    except FileNotFoundError as exc:
        raise ConfigError(
            "the prompt templates are missing from the installation", fix="reinstall sale-tui"
        ) from exc


def user_dir() -> Path:
    return paths.config_dir() / "prompts"


class PromptLibrary:
    """Renders a role's template: ``library.render("bid", job=..., ...)``."""

    def __init__(self, override_dir: Path | None = None) -> None:
        self.override_dir = override_dir if override_dir is not None else user_dir()
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader([str(self.override_dir), str(shipped_dir())]),
            undefined=jinja2.StrictUndefined,
            keep_trailing_newline=False,
            autoescape=False,
        )

    def roles(self) -> list[str]:
        return sorted(p.name.removesuffix(SUFFIX) for p in shipped_dir().glob(f"*{SUFFIX}"))

    def source_of(self, role: str) -> Path:
        override = self.override_dir / f"{role}{SUFFIX}"
        return override if override.is_file() else shipped_dir() / f"{role}{SUFFIX}"

    def declared_variables(self, role: str) -> set[str]:
        match = _VARS.search(self.source_of(role).read_text())
        if not match:
            return set()
        return {name.strip() for name in match.group("names").split(",") if name.strip()}

    def render(self, role: str, /, **variables: Any) -> str:
        try:
            template = self.env.get_template(f"{role}{SUFFIX}")
            return template.render(**variables).strip()
        except jinja2.TemplateNotFound as exc:
            raise ConfigError(
                f"no prompt template for role '{role}'",
                fix=f"add {role}{SUFFIX} to {self.override_dir}",
            ) from exc
        except jinja2.UndefinedError as exc:
            raise ConfigError(
                f"prompt template {self.source_of(role)}: {exc.message}",
                fix="use only the variables listed on its first line",
            ) from exc
        except jinja2.TemplateSyntaxError as exc:
            raise ConfigError(
                f"prompt template {exc.filename}:{exc.lineno}: {exc.message}",
                fix="fix the Jinja2 syntax",
            ) from exc
