"""`ConfigSpec`: a config class bound to a context, a description and overrides, before it is loaded."""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Generic, TypeVar

from pydantic import ValidationError

from betrue.config._naming import normalize_context, resolve_env_name
from betrue.config.sources import LoadPlan, loading
from betrue.config.types import EnvFile
from betrue.config.validation import ConfigError, ConfigReport, ConfigResult, issues_from_error

if TYPE_CHECKING:
    from betrue.config.config import Config

C = TypeVar("C", bound="Config", covariant=True)


@dataclass(frozen=True)
class EnvVar:
    """One field of a config as documented: its variable, type, default and description.

    `default` is already written for the environment (`true`, `a,b`, `***` for secrets);
    `env` is `None` for a field without an environment variable; `forced` marks a field whose
    value was fixed by `overrides` with `force=True`, so no variable can change it.
    """

    field: str
    env: str | None
    type: str
    required: bool
    default: str
    description: str
    example: str
    secret: bool
    forced: bool

    @property
    def documented(self) -> bool:
        """Whether the variable belongs in the docs: it exists and is not forced."""
        return self.env is not None and not self.forced


@dataclass(frozen=True, eq=False)
class ConfigSpec(Generic[C]):
    """A config class under a context, with a description and overrides: what a service declares.

    The server keeps one spec per added service, renders its docs without loading it, and
    loads it at start. `context` is normalised (`"game-db"` → `"GAME_DB"`); an empty
    `description` takes the class's (the first line of its docstring, else its name).
    `overrides` set values by field name: below the environment (they act as defaults),
    or above it with `force=True`.

    Example:
        >>> from betrue.config import Config, env
        >>> class HttpConfig(Config):
        ...     '''HTTP server.'''
        ...     port: int = env("HTTP_PORT", 3000, description="Port")
        >>> spec = HttpConfig.spec(context="game", description="Game HTTP server", overrides={"port": 3001})
        >>> spec.variables()[0].env, spec.variables()[0].default
        ('GAME_HTTP_PORT', '3001')
        >>> spec.load(environ={"GAME_HTTP_PORT": "4000"}).port
        4000
    """

    config: type[C]
    context: str = ""
    description: str = ""
    overrides: Mapping[str, object] = field(default_factory=dict)
    force: bool = False

    def __post_init__(self) -> None:
        unknown = sorted(set(self.overrides) - set(self.config.model_fields))
        if unknown:
            fields = ", ".join(self.config.model_fields) or "none"
            raise ValueError(f"{self.config.__name__} has no field {', '.join(unknown)} (its fields: {fields})")
        object.__setattr__(self, "context", normalize_context(self.context))
        object.__setattr__(self, "description", self.description or describe(self.config))
        object.__setattr__(self, "overrides", MappingProxyType(dict(self.overrides)))

    @property
    def heading(self) -> str:
        """The title of this config's tables: its description, and its context if any."""
        return f"{self.description} (context: {self.context})" if self.context else self.description

    def env_name(self, field_name: str) -> str | None:
        """The variable `field_name` is read from under this spec's context, or `None`."""
        meta = self.config._betrue_kinds()[field_name].meta
        return resolve_env_name(meta.template, self.context) if meta else None

    def variables(self) -> tuple[EnvVar, ...]:
        """Every field as documented under this spec, in declaration order."""
        rows = []
        kinds = self.config._betrue_kinds()
        for name, info in self.config.model_fields.items():
            kind = kinds[name]
            overridden = name in self.overrides
            required = info.is_required() and not overridden
            value = self.overrides[name] if overridden else info.get_default(call_default_factory=True)
            default = "" if required else kind.render(value)
            if not required and value is not None and default == "":
                default = '""'
            rows.append(
                EnvVar(
                    field=name,
                    env=self.env_name(name),
                    type=kind.label,
                    required=required,
                    default=default,
                    description=info.description or "",
                    example=kind.meta.example if kind.meta else "",
                    secret=kind.secret,
                    forced=overridden and self.force,
                )
            )
        return tuple(rows)

    def check(self, *, environ: Mapping[str, str] | None = None, env_file: EnvFile | None = None) -> ConfigResult[C]:
        """Load without raising: a result holding the config, or every issue found.

        `environ=None` reads `os.environ`; `env_file=None` takes the class's `model_config`
        `env_file` (none by default) and `()` reads no file. The environment wins over the file.
        """
        plan = LoadPlan(self.config, self.context, environ, env_file, self.force)
        try:
            with loading(plan):
                config = self.config(**self.overrides)
        except ValidationError as error:
            return ConfigResult(self, None, issues_from_error(self, error))
        config._betrue_spec = self
        return ConfigResult(self, config)

    def load(self, *, environ: Mapping[str, str] | None = None, env_file: EnvFile | None = None) -> C:
        """Load the config; raise `ConfigError` with the table of every problem.

        Example:
            >>> from betrue.config import Config, ConfigError, env
            >>> class Db(Config):
            ...     url: str = env("DB_{context}_URL", description="DSN")
            >>> Db.spec(context="game").load(environ={"DB_GAME_URL": "postgres://db"}).url
            'postgres://db'
        """
        result = self.check(environ=environ, env_file=env_file)
        if result.config is None:
            raise ConfigError(ConfigReport([result]))
        return result.config


def describe(config: type[Config]) -> str:
    """A config class's own description: the first paragraph of its docstring, else its name.

    >>> from betrue.config import Config
    >>> class HttpConfig(Config):
    ...     '''HTTP server.
    ...
    ...     Listens on a host and port.'''
    >>> describe(HttpConfig)
    'HTTP server'
    """
    doc = config.__dict__.get("__doc__")
    if not isinstance(doc, str) or not doc.strip():
        return config.__name__
    first = inspect.cleandoc(doc).split("\n\n", 1)[0]
    return " ".join(first.split()).removesuffix(".")
