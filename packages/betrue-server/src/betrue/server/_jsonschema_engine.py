"""The optional pure-Python engine: ``VALIDATION_ENGINE=jsonschema`` (the ``betrue-server[jsonschema]`` extra).

It checks the same things as the default jsonschema-rs engine and reports the same keywords and JSON
pointers (messages differ in wording); it is slower, and it is the reference implementation of the spec.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import orjson

from betrue.server.wire import encode_json

try:  # the extra; compile_schema says what to install when it is missing
    import jsonschema
    import referencing
    import referencing.exceptions
    import referencing.jsonschema
except ImportError:  # pragma: no cover - exercised only without the extra
    jsonschema = None

__all__ = ["EngineSchemaError", "JsonSchemaEngineValidator", "available"]

_Error = tuple[list[str | int], str, str]  # path, message, keyword


class EngineSchemaError(Exception):
    """The schema is unusable; ``validation`` turns it into a SchemaError naming the command."""


def available() -> bool:
    """Whether the ``jsonschema`` package is installed."""
    return jsonschema is not None


def _offline(uri: str) -> referencing.Resource[Any]:
    # Remote $refs are never fetched: compilation is offline and deterministic, as with jsonschema-rs.
    raise referencing.exceptions.NoSuchResource(uri)


def _validator_class(schema: Mapping[str, Any], direction: str) -> Any:
    named = schema.get("$schema")
    if named is None:
        return jsonschema.Draft202012Validator
    known = {
        str(cls.META_SCHEMA.get("$id") or cls.META_SCHEMA.get("id")).rstrip("#"): cls
        for cls in (
            jsonschema.Draft202012Validator,
            jsonschema.Draft201909Validator,
            jsonschema.Draft7Validator,
            jsonschema.Draft6Validator,
            jsonschema.Draft4Validator,
        )
    }
    found = known.get(str(named).rstrip("#"))
    if found is None:
        raise EngineSchemaError(f"{direction} schema cannot be compiled: unknown meta-schema {named}")
    return found


class JsonSchemaEngineValidator:
    """A JSON Schema checked by the ``jsonschema`` package; built by ``compile_schema(..., engine="jsonschema")``."""

    def __init__(self, json_schema: dict[str, Any], *, direction: str, required: Callable[[object], str]) -> None:
        self._required = required
        cls = _validator_class(json_schema, direction)
        try:
            cls.check_schema(json_schema)
        except jsonschema.SchemaError as exc:
            at = "/" + "/".join(str(p) for p in exc.absolute_path) if exc.absolute_path else ""
            at_text = f" at {at}" if at else ""
            raise EngineSchemaError(f"{direction} schema is invalid{at_text}: {exc.message}") from None
        registry: referencing.Registry[Any] = referencing.Registry(retrieve=_offline)  # type: ignore[call-arg]
        self._validator = cls(json_schema, registry=registry, format_checker=cls.FORMAT_CHECKER)
        try:
            # Resolve every $ref and compile every pattern now, so a bad schema fails the start, not a request.
            _resolve_refs(json_schema, registry, cls)
            _compile_patterns(json_schema)
        except referencing.exceptions.Unresolvable as exc:
            raise EngineSchemaError(f"{direction} schema cannot be compiled: unresolvable $ref {exc.ref}") from None
        except re.error as exc:
            raise EngineSchemaError(f"{direction} schema cannot be compiled: bad pattern: {exc}") from None

    def check(self, value: Any) -> tuple[Any, Iterator[_Error] | None]:
        """``(value as checked, None)`` when valid, else ``(value, its errors)``; non-JSON values as sent."""
        try:
            if self._validator.is_valid(value):
                return value, None
        except TypeError:
            pass
        plain = orjson.loads(encode_json(value))
        if self._validator.is_valid(plain):
            return plain, None
        return plain, self._errors(plain)

    def _errors(self, value: Any) -> Iterator[_Error]:
        reported: set[tuple[str | int, ...]] = set()
        for error in self._validator.iter_errors(value):
            path: list[str | int] = list(error.absolute_path)
            if error.validator == "required":
                # One error per missing name, none saying which: list them all once per object.
                if tuple(path) not in reported:
                    reported.add(tuple(path))
                    for name in error.validator_value:
                        if name not in error.instance:
                            yield [*path, name], self._required(name), "required"
                continue
            yield from _flatten(error, path)


def _flatten(error: Any, path: list[str | int]) -> Iterator[_Error]:
    keyword = str(error.validator)
    if keyword == "additionalProperties" and isinstance(error.instance, dict):
        known = error.schema.get("properties", {})
        patterns = list(error.schema.get("patternProperties", {}))
        for name in error.instance:
            if name not in known and not any(re.search(pattern, name) for pattern in patterns):
                yield [*path, name], f"{orjson.dumps(name).decode()} is not an allowed property", keyword
    else:
        yield path, error.message, keyword


def _resolve_refs(schema: Any, registry: referencing.Registry[Any], cls: Any) -> None:
    """Look every ``$ref`` of the schema up (relative to the root; a nested ``$id`` is not followed)."""
    specification = referencing.jsonschema.specification_with(cls.META_SCHEMA.get("$schema", ""))
    root = specification.create_resource(schema)
    resolver = registry.with_resource("", root).resolver(base_uri=str(schema.get("$id", "")))

    def walk(node: Any) -> None:
        if isinstance(node, Mapping):
            ref = node.get("$ref")
            if isinstance(ref, str):
                resolver.lookup(ref)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(schema)


def _compile_patterns(schema: Any) -> None:
    if isinstance(schema, Mapping):
        for key, value in schema.items():
            if key == "pattern" and isinstance(value, str):
                re.compile(value)
            elif key == "patternProperties" and isinstance(value, Mapping):
                for pattern in value:
                    re.compile(pattern)
            _compile_patterns(value)
    elif isinstance(schema, list):
        for item in schema:
            _compile_patterns(item)
