"""Shared vocabulary: the `Url` type and the shape of a `.env` file argument."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any, TypeAlias

from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError, core_schema

EnvFile: TypeAlias = str | os.PathLike[str] | Sequence[str | os.PathLike[str]]
"""One `.env` path or several (later files win), as pydantic-settings' `env_file` takes them."""

_SCHEMES = ("http://", "https://")


class Url(str):
    """An absolute http(s) URL; surrounding spaces and trailing `/` are removed.

    Example:
        >>> from betrue.config import Config, Url, env
        >>> class Upstream(Config):
        ...     url: Url = env("UPSTREAM_URL", description="Base URL of the upstream API")
        >>> Upstream.from_dict({"url": "https://api.example.com/v1/"}).url
        'https://api.example.com/v1'
    """

    __slots__ = ()

    @classmethod
    def parse(cls, value: str) -> Url:
        """Validate and normalise `value`; raise pydantic's `PydanticCustomError` when it is no URL."""
        text = value.strip()
        if not text.lower().startswith(_SCHEMES):
            raise PydanticCustomError("url_scheme", "URL should start with http:// or https://")
        if not text.split("://", 1)[1].strip("/"):
            raise PydanticCustomError("url_host", "URL should have a host after the scheme")
        return cls(text.rstrip("/"))

    @classmethod
    def __get_pydantic_core_schema__(cls, source: type[Any], handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(
            cls.parse,
            core_schema.str_schema(),
            serialization=core_schema.to_string_ser_schema(),
        )

    @classmethod
    def __get_pydantic_json_schema__(
        cls, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {"type": "string", "format": "uri", "pattern": "^https?://"}
