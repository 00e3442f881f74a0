"""`env()`: declare a config field read from an environment variable, and read that declaration back."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import Field
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from betrue.config._naming import check_env_template

_ENV = "env"
_SPLITTER = "splitter"
_CHOICES = "choices"


@dataclass(frozen=True)
class EnvMeta:
    """What `env()` recorded on a field: the env var name template, the splitter, the allowed values."""

    template: str
    splitter: str = ","
    choices: tuple[str | int, ...] | None = None
    example: str = ""


def env(
    name: str,
    default: Any = PydanticUndefined,
    *,
    description: str = "",
    example: str | None = None,
    splitter: str = ",",
    choices: Sequence[str | int] | None = None,
    default_factory: Callable[[], Any] | None = None,
    ge: float | None = None,
    le: float | None = None,
    min_length: int | None = None,
    max_length: int | None = None,
    pattern: str | None = None,
) -> Any:
    """A config field read from the environment variable `name`.

    Leave out `default` (and `default_factory`) to make the variable required. `name` may hold
    the placeholder `{context}` to say where the context goes (`DB_{context}_URL`); without it
    the context is a prefix. Arrays (`list[int]`, `tuple[Url, ...]`, …) are read from one
    variable split by `splitter`; `choices` restricts a value (or each item) to a list.
    It returns a pydantic `FieldInfo`, typed `Any` like `pydantic.Field`, so it fits any annotation.

    Example:
        >>> from typing import Literal
        >>> from betrue.config import Config, env
        >>> class HttpConfig(Config):
        ...     port: int = env("HTTP_PORT", 3000, description="Port to listen on", ge=1, le=65535)
        ...     origins: list[str] = env("WS_ORIGINS", [], description="Allowed origins", splitter=";")
        ...     mode: Literal["dev", "prod"] = env("APP_MODE", "prod", description="Run mode")
        >>> HttpConfig.load(environ={"HTTP_PORT": "8080", "WS_ORIGINS": "a.example; b.example"}).origins
        ['a.example', 'b.example']
    """
    check_env_template(name)
    if not splitter:
        raise ValueError(f"env({name!r}): the splitter must not be empty")
    if choices is not None and not choices:
        raise ValueError(f"env({name!r}): choices must not be empty")
    extra: dict[str, Any] = {_ENV: name}
    if splitter != ",":
        extra[_SPLITTER] = splitter
    if choices is not None:
        extra[_CHOICES] = list(choices)
    examples = [example] if example is not None else None
    if default_factory is not None:
        if default is not PydanticUndefined:
            raise ValueError(f"env({name!r}): give a default or a default_factory, not both")
        return Field(
            default_factory=default_factory,
            description=description or None,
            examples=examples,
            json_schema_extra=extra,
            ge=ge,
            le=le,
            min_length=min_length,
            max_length=max_length,
            pattern=pattern,
        )
    return Field(
        default,
        description=description or None,
        examples=examples,
        json_schema_extra=extra,
        ge=ge,
        le=le,
        min_length=min_length,
        max_length=max_length,
        pattern=pattern,
    )


def env_meta(field: FieldInfo) -> EnvMeta | None:
    """The `env()` declaration of `field`, or `None` for a field without an environment variable.

    Example:
        >>> from betrue.config import Config, env
        >>> class C(Config):
        ...     port: int = env("HTTP_PORT", 3000)
        >>> env_meta(C.model_fields["port"]).template
        'HTTP_PORT'
    """
    extra = field.json_schema_extra
    if not isinstance(extra, dict) or not isinstance(extra.get(_ENV), str):
        return None
    template = str(extra[_ENV])
    splitter = extra.get(_SPLITTER, ",")
    choices = extra.get(_CHOICES)
    example = field.examples[0] if field.examples else ""
    return EnvMeta(
        template=template,
        splitter=splitter if isinstance(splitter, str) and splitter else ",",
        choices=tuple(c for c in choices if isinstance(c, str | int)) if isinstance(choices, list) else None,
        example="" if example is None else str(example),
    )
