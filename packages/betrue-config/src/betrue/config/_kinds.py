"""What a field's type means for the environment: how to read it, check it, document it and print it."""

from __future__ import annotations

import collections.abc
import enum
import pathlib
import types
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import ByteSize, SecretStr
from pydantic.fields import FieldInfo
from pydantic_core import PydanticCustomError

from betrue.config.fields import EnvMeta, env_meta
from betrue.config.types import Url

_ARRAYS = (list, set, frozenset, tuple, collections.abc.Sequence, collections.abc.Set)
_NAMES: dict[object, str] = {
    str: "string",
    int: "integer",
    float: "number",
    bool: "boolean",
    Url: "url",
    SecretStr: "secret",
    ByteSize: "byte size (e.g. 64MiB)",
    pathlib.Path: "path",
}
_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off"})


@dataclass(frozen=True)
class FieldKind:
    """A field seen from the environment: its `env()` declaration and the shape of its type."""

    meta: EnvMeta | None
    item: object
    array: bool
    secret: bool
    label: str

    @property
    def splitter(self) -> str:
        return self.meta.splitter if self.meta else ","

    @property
    def choices(self) -> tuple[str | int, ...] | None:
        return self.meta.choices if self.meta else None

    def prepare(self, value: object) -> object:
        """Turn a raw value into what pydantic validates: split arrays, read booleans."""
        if self.array and isinstance(value, str):
            value = [part.strip() for part in value.split(self.splitter) if part.strip()]
        if self.item is bool:
            if isinstance(value, list | tuple | set | frozenset):
                return [_boolean(v) for v in value]
            return _boolean(value)
        return value

    def check_choices(self, value: object) -> object:
        """Raise pydantic's error for a value (or item) outside `choices`."""
        choices = self.choices
        if choices is None or value is None:
            return value
        items = value if self.array and isinstance(value, collections.abc.Iterable) else [value]
        for item in items:
            if item not in choices:
                raise PydanticCustomError("enum", "Input should be one of: {expected}", {"expected": _join(choices)})
        return value

    def render(self, value: object) -> str:
        """`value` written the way it is set in the environment; secrets as `***`."""
        if value is None:
            return ""
        if self.secret:
            return "***"
        if self.array and isinstance(value, collections.abc.Iterable) and not isinstance(value, str):
            return self.splitter.join(_scalar(v) for v in value)
        return _scalar(value)


def analyze(field: FieldInfo) -> FieldKind:
    """The `FieldKind` of a pydantic field.

    Example:
        >>> from betrue.config import Config, env
        >>> class C(Config):
        ...     hosts: list[str] = env("HOSTS", [], splitter=";")
        >>> analyze(C.model_fields["hosts"]).label
        'string[] (split by ";")'
    """
    meta = env_meta(field)
    annotation = _unwrap(field.annotation)
    item, array = annotation, False
    origin = get_origin(annotation)
    if origin in _ARRAYS or annotation in _ARRAYS:
        args = [a for a in get_args(annotation) if a is not Ellipsis]
        item, array = (_unwrap(args[0]) if args else str), True
    choices = meta.choices if meta else None
    label = f"enum: {_join(choices)}" if choices else _label(item)
    if array:
        label = label.replace(":", "[]:", 1) if ":" in label else f"{label}[]"
        label += f' (split by "{meta.splitter if meta else ","}")'
    return FieldKind(meta=meta, item=item, array=array, secret=item is SecretStr, label=label)


def _unwrap(annotation: object) -> object:
    """Strip `Annotated[...]` and `| None`."""
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin is Union or origin is types.UnionType:
            args = [a for a in get_args(annotation) if a is not type(None)]
            if len(args) != 1:
                return annotation
            annotation = args[0]
        else:
            return annotation


def _label(item: object) -> str:
    if get_origin(item) is Literal:
        return f"enum: {_join(get_args(item))}"
    if isinstance(item, type) and issubclass(item, enum.Enum):
        return f"enum: {_join([member.value for member in item])}"
    for known, name in _NAMES.items():
        if item is known:
            return name
    return str(getattr(item, "__name__", item))


def _join(values: collections.abc.Iterable[Any]) -> str:
    return ", ".join(_scalar(v) for v in values)


def _scalar(value: object) -> str:
    if isinstance(value, ByteSize):
        return _bytes(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, enum.Enum):
        return _scalar(value.value)
    if isinstance(value, SecretStr):
        return "***"
    return str(value)


def _bytes(value: int) -> str:
    """A byte count the way it is written in the environment: ``256MiB``, not ``268435456``."""
    for unit, size in (("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if value and value % size == 0:
            return f"{value // size}{unit}"
    return str(int(value))


def _boolean(value: object) -> object:
    if not isinstance(value, str):
        return value
    word = value.strip().lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise PydanticCustomError("bool_parsing", "Input should be true/false, 1/0, yes/no or on/off")
