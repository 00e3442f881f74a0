"""Docs of configs: a markdown table of variables per config, and a `.env.example` file."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from betrue.config._markdown import table

if TYPE_CHECKING:
    from betrue.config.config import Config
    from betrue.config.spec import ConfigSpec, EnvVar
    from betrue.config.validation import SpecLike

DOCS_COLUMNS = ("required", "default", "env", "description", "type")
_QUOTE_IF = frozenset(" \t#'\"=\\$`")


def docs_table(spec: SpecLike) -> str:
    """The variables of one config as a markdown table under a `## <description>` heading.

    A config class stands for its spec without context. Secrets show `***` as their default
    (or nothing when they have none); fields forced by overrides are left out. An `example`
    column appears when a variable has an example.

    Example:
        >>> from betrue.config import Config, docs_table, env
        >>> class HttpConfig(Config):
        ...     '''HTTP server.'''
        ...     port: int = env("HTTP_PORT", 3000, description="Port")
        >>> print(docs_table(HttpConfig.spec(context="game", description="Game HTTP server")))
        ## Game HTTP server (context: GAME)
        <BLANKLINE>
        | required | default | env              | description | type    |
        |----------|---------|------------------|-------------|---------|
        |          | 3000    | `GAME_HTTP_PORT` | Port        | integer |
    """
    spec = _as_spec(spec)
    variables = [v for v in spec.variables() if v.documented]
    if not variables:
        return f"## {spec.heading}\n\nNo environment variables."
    with_example = any(v.example for v in variables)
    headers = [*DOCS_COLUMNS, "example"] if with_example else list(DOCS_COLUMNS)
    rows = [_docs_row(v, with_example) for v in variables]
    return f"## {spec.heading}\n\n{table(headers, rows)}"


def docs_markdown(specs: Iterable[SpecLike]) -> str:
    """The docs tables of many configs, separated by blank lines.

    Example:
        >>> from betrue.config import Config, docs_markdown, env
        >>> class Http(Config):
        ...     port: int = env("HTTP_PORT", 3000)
        >>> docs_markdown([Http.spec(context="a"), Http.spec(context="b")]).count("## Http")
        2
    """
    return "\n\n".join(docs_table(spec) for spec in specs)


def env_example(specs: Iterable[SpecLike]) -> str:
    """A `.env.example` file for many configs: a comment per variable, secrets and required left empty.

    Example:
        >>> from pydantic import SecretStr
        >>> from betrue.config import Config, env, env_example
        >>> class Api(Config):
        ...     '''Upstream API.'''
        ...     token: SecretStr = env("API_TOKEN", SecretStr("dev"), description="Access token")
        >>> print(env_example([Api]), end="")
        # Upstream API
        <BLANKLINE>
        # Access token. Type: secret.
        API_TOKEN=
    """
    blocks = []
    for item in specs:
        spec = _as_spec(item)
        lines = [f"# {spec.heading}"]
        for variable in spec.variables():
            if variable.documented:
                lines += ["", _comment(variable), f"{variable.env}={_env_value(variable)}"]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n" if blocks else ""


def _as_spec(spec: SpecLike) -> ConfigSpec[Config]:
    return spec.spec() if isinstance(spec, type) else spec


def _docs_row(variable: EnvVar, with_example: bool) -> list[str]:
    row = [
        "yes" if variable.required else "",
        _portable(variable.default),
        f"`{variable.env}`",
        variable.description,
        variable.type,
    ]
    return [*row, variable.example] if with_example else row


def _portable(default: str) -> str:
    """An absolute path as the docs should show it: relative to the working directory, or inside its package.

    The docs are generated on one machine and read on others; ``/home/me/shop/static`` means nothing there.
    """
    if not default.startswith(("/", "\\")) and not (len(default) > 2 and default[1:3] in {":\\", ":/"}):
        return default
    path = Path(default)
    cwd = Path.cwd()
    packages = {Path(entry) for entry in sys.path if entry and os.path.isabs(entry)} - {cwd}
    # Inside an installed package first (the longest import root wins), then the working directory.
    roots = sorted(packages, key=lambda p: len(p.parts), reverse=True)
    bases = [(base, " (in its installed package)") for base in roots]
    for base, label in [*bases, (cwd, "")]:
        if path.is_relative_to(base) and path != base:
            return f"{path.relative_to(base).as_posix()}{label}"
    return default


def _comment(variable: EnvVar) -> str:
    parts = [variable.description.rstrip(".")] if variable.description else []
    parts.append(f"Type: {variable.type}")
    if variable.required:
        parts.append("Required")
    if variable.example:
        parts.append(f"Example: {variable.example}")
    return "# " + ". ".join(parts) + "."


def _env_value(variable: EnvVar) -> str:
    if variable.secret or variable.required:
        return ""
    value = variable.default
    if value == '""' or not _QUOTE_IF.intersection(value):
        return value
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'
