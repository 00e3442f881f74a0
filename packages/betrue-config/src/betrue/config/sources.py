"""The settings source of a config: environment variables and `.env` files, under a context."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic.fields import FieldInfo
from pydantic_settings import DotEnvSettingsSource, EnvSettingsSource, PydanticBaseSettingsSource

from betrue.config._naming import normalize_context, resolve_env_name
from betrue.config.fields import env_meta
from betrue.config.types import EnvFile

if TYPE_CHECKING:
    from pydantic_settings import BaseSettings


def read_variables(
    settings_cls: type[BaseSettings], environ: Mapping[str, str] | None, env_file: EnvFile | None
) -> dict[str, str]:
    """The variables a config sees: the `.env` file(s) first, the environment over them.

    `environ=None` reads `os.environ`; `env_file=None` takes `env_file` from the class's
    `model_config` (none by default). Both are read by pydantic-settings itself, case-sensitively.
    """
    if env_file is None:
        dotenv = DotEnvSettingsSource(settings_cls, case_sensitive=True)
    else:
        files = [env_file] if isinstance(env_file, str | os.PathLike) else list(env_file)
        dotenv = DotEnvSettingsSource(settings_cls, env_file=[Path(f) for f in files], case_sensitive=True)
    variables = {name: value for name, value in dotenv.env_vars.items() if value is not None}
    if environ is None:
        process = EnvSettingsSource(settings_cls, case_sensitive=True).env_vars
        environ = {name: value for name, value in process.items() if value is not None}
    variables.update(environ)
    return variables


class ConfigEnvSource(PydanticBaseSettingsSource):
    """A pydantic-settings source giving each `env()` field the raw string of its variable.

    The variable's name is the field's template under `context` (see `env()`); arrays and
    booleans are parsed later by the config's validators, so a value from a dict and a value
    from the environment go through the same checks.

    Example:
        >>> from betrue.config import Config, env
        >>> class C(Config):
        ...     port: int = env("HTTP_PORT", 3000)
        >>> ConfigEnvSource(C, context="game", environ={"GAME_HTTP_PORT": "81"})()
        {'port': '81'}
    """

    def __init__(
        self,
        settings_cls: type[BaseSettings],
        *,
        context: str = "",
        environ: Mapping[str, str] | None = None,
        env_file: EnvFile | None = None,
    ) -> None:
        super().__init__(settings_cls)
        self.context = normalize_context(context)
        self.variables = read_variables(settings_cls, environ, env_file)

    def env_name(self, field: FieldInfo) -> str | None:
        """The variable `field` is read from under this source's context, if any."""
        meta = env_meta(field)
        return resolve_env_name(meta.template, self.context) if meta else None

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        name = self.env_name(field)
        if name is None:
            return None, field_name, False
        return self.variables.get(name), name, False

    def __call__(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for field_name, field in self.settings_cls.model_fields.items():
            value, _, _ = self.get_field_value(field, field_name)
            if value is not None:
                values[field_name] = value
        return values


@dataclass(frozen=True)
class LoadPlan:
    """How `ConfigSpec.check` wants one class loaded: under a context, from which variables, in which order."""

    config: type[BaseSettings]
    context: str
    environ: Mapping[str, str] | None
    env_file: EnvFile | None
    force: bool


_PLAN: ContextVar[LoadPlan | None] = ContextVar("betrue_config_load_plan", default=None)


@contextmanager
def loading(plan: LoadPlan) -> Iterator[None]:
    """Within the block, instantiating `plan.config` reads the variables as `plan` says."""
    token = _PLAN.set(plan)
    try:
        yield
    finally:
        _PLAN.reset(token)


def config_sources(
    settings_cls: type[BaseSettings],
    init_settings: PydanticBaseSettingsSource,
    dotenv_settings: PydanticBaseSettingsSource,
) -> tuple[PydanticBaseSettingsSource, ...]:
    """The sources of a config, highest priority first.

    Inside `loading()` the init values are the spec's overrides: below the variables, or above
    them when forced. Otherwise (`HttpConfig(**values)`) the values come first, then the variables
    without context, with pydantic-settings' `_env_file` or `model_config["env_file"]`.
    """
    plan = _PLAN.get()
    if plan is None or plan.config is not settings_cls:
        env_file = getattr(dotenv_settings, "env_file", None)
        return init_settings, ConfigEnvSource(settings_cls, env_file=env_file if env_file is not None else ())
    source = ConfigEnvSource(settings_cls, context=plan.context, environ=plan.environ, env_file=plan.env_file)
    return (init_settings, source) if plan.force else (source, init_settings)
