"""`Config`: the base class of a service's configuration, on pydantic-settings."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Self

from pydantic import PrivateAttr, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from betrue.config._kinds import FieldKind, analyze
from betrue.config.fields import env_meta
from betrue.config.sources import config_sources
from betrue.config.spec import ConfigSpec
from betrue.config.types import EnvFile


class Config(BaseSettings):
    """Base class of a config: fields declared with `env()`, read from the environment.

    The first line of a subclass's docstring is its description (the title of its tables).
    A loaded config is read-only; `repr()` and the docs mask `SecretStr` fields.

    Example:
        >>> from typing import Literal
        >>> from pydantic import SecretStr
        >>> from betrue.config import Config, Url, env
        >>> class HttpConfig(Config):
        ...     '''HTTP server.'''
        ...     host: str = env("HTTP_HOST", "127.0.0.1", description="Interface to listen on")
        ...     port: int = env("HTTP_PORT", 3000, description="Port")
        ...     upstream: Url = env("UPSTREAM_URL", description="Where calls go")
        ...     token: SecretStr = env("API_TOKEN", description="Token for the upstream")
        >>> config = HttpConfig.load(
        ...     context="game",
        ...     overrides={"port": 3001},
        ...     environ={"GAME_UPSTREAM_URL": "https://api.example.com/", "GAME_API_TOKEN": "t0ken"},
        ... )
        >>> config
        HttpConfig(host='127.0.0.1', port=3001, upstream='https://api.example.com', token=SecretStr('**********'))
    """

    model_config = SettingsConfigDict(frozen=True, extra="forbid", validate_default=True, case_sensitive=True)

    __betrue_kinds__: ClassVar[tuple[object, dict[str, FieldKind]] | None] = None
    _betrue_spec: ConfigSpec[Config] | None = PrivateAttr(default=None)

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        seen: dict[str, str] = {}
        for name, info in cls.model_fields.items():
            meta = env_meta(info)
            if meta is None:
                continue
            if meta.template in seen:
                raise TypeError(
                    f"{cls.__name__}: fields {seen[meta.template]!r} and {name!r} both read {meta.template}"
                )
            seen[meta.template] = name

    @classmethod
    def _betrue_kinds(cls) -> dict[str, FieldKind]:
        """How each field is read from the environment (computed once per class, again after a rebuild)."""
        fields = cls.model_fields
        cached = cls.__dict__.get("__betrue_kinds__")
        if cached is None or cached[0] is not fields:
            cached = (fields, {name: analyze(info) for name, info in fields.items()})
            cls.__betrue_kinds__ = cached
        return cached[1]

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """`HttpConfig(**values)`: the values, then the variables without context (and `_env_file`)."""
        return config_sources(settings_cls, init_settings, dotenv_settings)

    @field_validator("*", mode="before")
    @classmethod
    def _betrue_prepare(cls, value: object, info: ValidationInfo) -> object:
        kind = cls._betrue_kinds().get(info.field_name or "")
        return kind.prepare(value) if kind else value

    @field_validator("*", mode="after")
    @classmethod
    def _betrue_check_choices(cls, value: object, info: ValidationInfo) -> object:
        kind = cls._betrue_kinds().get(info.field_name or "")
        return kind.check_choices(value) if kind else value

    @classmethod
    def spec(
        cls,
        *,
        context: str | None = None,
        description: str | None = None,
        overrides: Mapping[str, object] | None = None,
        force: bool = False,
    ) -> ConfigSpec[Self]:
        """This class under a context, a description and overrides, not loaded yet.

        Example:
            >>> from betrue.config import Config, env
            >>> class Db(Config):
            ...     url: str = env("DB_{context}_URL", "postgres://localhost")
            >>> Db.spec(context="game").env_name("url"), Db.spec().env_name("url")
            ('DB_GAME_URL', 'DB_URL')
        """
        return ConfigSpec(cls, context or "", description or "", overrides or {}, force)

    @classmethod
    def load(
        cls,
        *,
        context: str | None = None,
        description: str | None = None,
        overrides: Mapping[str, object] | None = None,
        force: bool = False,
        environ: Mapping[str, str] | None = None,
        env_file: EnvFile | None = None,
    ) -> Self:
        """Read the config from the environment (and `.env` files); raise `ConfigError` on problems.

        Precedence, highest first: `overrides` when `force=True`, the environment (`environ`,
        default `os.environ`), the `.env` file(s) (`env_file`, default the class's
        `model_config["env_file"]`, `()` for none), `overrides`, the field defaults.

        Example:
            >>> from betrue.config import Config, env
            >>> class Http(Config):
            ...     port: int = env("HTTP_PORT", 3000)
            >>> Http.load(context="game", environ={"GAME_HTTP_PORT": "81", "HTTP_PORT": "82"}).port
            81
        """
        spec = cls.spec(context=context, description=description, overrides=overrides, force=force)
        return spec.load(environ=environ, env_file=env_file)

    @classmethod
    def from_dict(cls, data: Mapping[str, object], *, description: str | None = None) -> Self:
        """Build the config from `data` and the field defaults only: no environment, no file.

        Arrays may be given as lists or as strings split by their splitter.

        Example:
            >>> from betrue.config import Config, env
            >>> class Http(Config):
            ...     port: int = env("HTTP_PORT", 3000)
            ...     hosts: list[str] = env("HTTP_HOSTS", [])
            >>> Http.from_dict({"hosts": "a,b"})
            Http(port=3000, hosts=['a', 'b'])
        """
        spec = cls.spec(description=description, overrides=data, force=True)
        return spec.load(environ={}, env_file=())

    @property
    def config_spec(self) -> ConfigSpec[Self]:
        """The spec this config was loaded from (context, description, overrides)."""
        spec = self._betrue_spec
        if spec is None or spec.config is not type(self):
            return type(self).spec()
        return spec  # type: ignore[return-value]  # the private attribute is typed with the base class
