"""Command input and output validation: JSON Schema (jsonschema-rs) or pydantic models, compiled once at start."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from itertools import islice
from typing import Any, Literal

import jsonschema_rs
import orjson
import pydantic

from betrue.server.errors import ValidationError
from betrue.server.wire import encode_json

__all__ = [
    "ENGINES",
    "MAX_ERRORS",
    "Direction",
    "Engine",
    "SchemaError",
    "Validator",
    "compile_schema",
    "pointer",
    "required_message",
]

Direction = Literal["input", "output"]
Engine = Literal["jsonschema-rs", "jsonschema"]
"""What checks JSON Schema dicts: jsonschema-rs (the default, fast) or the pure-Python ``jsonschema`` (an extra)."""
ENGINES: tuple[Engine, ...] = ("jsonschema-rs", "jsonschema")

MAX_ERRORS = 100
"""Most field errors listed in one ``ValidationError``; a 1M-item array of wrong types must not echo 1M errors."""

_MAX_MESSAGE = 200
_Error = tuple[list[str | int], str, str]  # path, message, keyword
_MESSAGES = {"input": "Invalid input", "output": "Invalid output"}
# Pydantic's error types named with the JSON Schema keyword they correspond to, so both engines speak alike.
_PYDANTIC_KEYWORDS = {
    "missing": "required",
    "extra_forbidden": "additionalProperties",
    "model_type": "type",
    "model_attributes_type": "type",
    "dict_type": "type",
    "list_type": "type",
    "string_type": "type",
    "int_type": "type",
    "int_parsing": "type",
    "int_from_float": "type",
    "float_type": "type",
    "float_parsing": "type",
    "bool_type": "type",
    "bool_parsing": "type",
    "string_too_short": "minLength",
    "string_too_long": "maxLength",
    "string_pattern_mismatch": "pattern",
    "too_short": "minItems",
    "too_long": "maxItems",
    "greater_than": "exclusiveMinimum",
    "greater_than_equal": "minimum",
    "less_than": "exclusiveMaximum",
    "less_than_equal": "maximum",
    "multiple_of": "multipleOf",
    "literal_error": "enum",
    "enum": "enum",
}


class SchemaError(Exception):
    """A command's schema is unusable; raised at start, naming where the schema was given.

    Example:
        >>> compile_schema({"type": "strng"}, where="chat/send")
        Traceback (most recent call last):
        ...
        betrue.server.validation.SchemaError: chat/send: input schema is invalid at /type: ...
    """

    def __init__(self, where: str, problem: str) -> None:
        self.where = where
        self.problem = problem
        super().__init__(f"{where}: {problem}")


class Validator:
    """Checks values against one schema; ``compile_schema`` builds it. This base class lets anything through.

    ``validate`` returns the value the handler (or the caller) should see: the value itself for JSON Schema,
    a model instance for a pydantic input model, a JSON-able dict for a pydantic output model.
    """

    __slots__ = ("direction", "json_schema", "where")

    def __init__(self, json_schema: dict[str, Any], *, where: str, direction: Direction) -> None:
        self.json_schema = json_schema
        self.where = where
        self.direction = direction

    def validate(self, value: Any) -> Any:
        return value

    def __repr__(self) -> str:
        return f"{type(self).__name__}(where={self.where!r}, direction={self.direction!r})"


class _JsonSchemaValidator(Validator):
    __slots__ = ("_is_valid", "_validator")

    def __init__(self, json_schema: dict[str, Any], *, where: str, direction: Direction) -> None:
        super().__init__(json_schema, where=where, direction=direction)
        try:
            # Offline: a schema that needs the network to resolve a $ref fails here, not per request.
            self._validator = jsonschema_rs.validator_for(json_schema, validate_formats=True, offline=True)
        except jsonschema_rs.ValidationError as exc:
            at = f" at {pointer(exc.instance_path)}" if exc.instance_path else ""
            raise SchemaError(where, f"{direction} schema is invalid{at}: {exc.message}") from None
        except (jsonschema_rs.ReferencingError, ValueError) as exc:
            raise SchemaError(where, f"{direction} schema cannot be compiled: {exc}") from None
        self._is_valid = self._validator.is_valid

    def validate(self, value: Any) -> Any:
        try:
            if self._is_valid(value):
                return value
            details = _details(self._errors(value))
        except ValueError:
            # Not plain JSON data (a datetime, a dataclass, a model): check what the wire will carry.
            value = orjson.loads(encode_json(value))
            if self._is_valid(value):
                return value
            details = _details(self._errors(value))
        raise ValidationError(_MESSAGES[self.direction], details=details)

    def _errors(self, value: Any) -> Iterator[_Error]:
        for error in self._validator.iter_errors(value):
            keyword = error.kind.name
            path = list(error.instance_path)
            if keyword == "required":
                # Point at the missing field itself, as pydantic does.
                name = error.kind.as_dict()["property"]
                yield [*path, name], required_message(name), keyword
                continue
            if keyword == "additionalProperties":
                for name in error.kind.as_dict()["unexpected"]:
                    yield [*path, name], f"{orjson.dumps(name).decode()} is not an allowed property", keyword
            else:
                yield path, error.message, keyword


class _EngineValidator(Validator):
    """A JSON Schema dict checked by the pure-Python ``jsonschema`` engine (``_jsonschema_engine``)."""

    __slots__ = ("_check",)

    def __init__(self, json_schema: dict[str, Any], *, where: str, direction: Direction) -> None:
        from betrue.server import _jsonschema_engine as engine

        if not engine.available():
            raise SchemaError(where, "VALIDATION_ENGINE=jsonschema needs: pip install 'betrue-server[jsonschema]'")
        super().__init__(json_schema, where=where, direction=direction)
        try:
            self._check = engine.JsonSchemaEngineValidator(json_schema, direction=direction, required=required_message)
        except engine.EngineSchemaError as error:
            raise SchemaError(where, str(error)) from None

    def validate(self, value: Any) -> Any:
        checked, errors = self._check.check(value)
        if errors is None:
            return checked
        raise ValidationError(_MESSAGES[self.direction], details=_details(errors))


class _ModelValidator(Validator):
    __slots__ = ("_adapter", "model")

    def __init__(self, model: type[pydantic.BaseModel], *, where: str, direction: Direction) -> None:
        mode: Literal["validation", "serialization"] = "validation" if direction == "input" else "serialization"
        try:
            json_schema = model.model_json_schema(mode=mode)
        except pydantic.PydanticUserError as exc:
            problem = str(exc).split("\n", 1)[0]
            raise SchemaError(where, f"{direction} model {model.__qualname__} has no JSON Schema: {problem}") from None
        super().__init__(json_schema, where=where, direction=direction)
        self.model = model
        self._adapter: pydantic.TypeAdapter[pydantic.BaseModel] = pydantic.TypeAdapter(model)

    def validate(self, value: Any) -> Any:
        try:
            if self.direction == "input":
                return self.model.model_validate(value)
            # from_attributes: a handler may return any object with the fields (an ORM row, a dataclass).
            instance = self._adapter.validate_python(value, from_attributes=True)
        except pydantic.ValidationError as exc:
            raise ValidationError(_MESSAGES[self.direction], details=_details(_model_errors(exc))) from None
        # Dumped through the declared model, so a subclass instance cannot leak its extra fields.
        return self._adapter.dump_python(instance, mode="json")


def compile_schema(
    schema: Mapping[str, Any] | type[pydantic.BaseModel] | None,
    *,
    where: str,
    direction: Direction = "input",
    engine: Engine = "jsonschema-rs",
) -> Validator:
    """Build the validator for one command's input or output schema; call once, at start.

    ``schema`` is a JSON Schema (Draft 2020-12 unless it names another ``$schema``), a pydantic model class,
    or None for "anything". Formats (``email``, ``date-time``, ``uuid``…) are asserted. A schema that is not
    valid JSON Schema raises ``SchemaError`` naming ``where``. ``engine`` checks JSON Schema dicts (the app's
    ``VALIDATION_ENGINE``); both engines report the same keywords and pointers.

    Example:
        >>> check = compile_schema({"type": "object", "required": ["room"]}, where="chat/join")
        >>> check.validate({"room": "r1"})
        {'room': 'r1'}
        >>> check.validate({})
        Traceback (most recent call last):
        ...
        betrue.server.errors.ValidationError: Invalid input
    """
    if schema is None:
        return Validator({}, where=where, direction=direction)
    if isinstance(schema, type) and issubclass(schema, pydantic.BaseModel):
        return _ModelValidator(schema, where=where, direction=direction)
    if isinstance(schema, Mapping):
        if engine == "jsonschema":
            return _EngineValidator(_plain(schema), where=where, direction=direction)
        return _JsonSchemaValidator(_plain(schema), where=where, direction=direction)
    raise SchemaError(
        where, f"{direction} schema must be a JSON Schema dict, a pydantic model or None, not {type(schema).__name__}"
    )


def pointer(parts: Iterable[str | int]) -> str:
    """The JSON Pointer (RFC 6901) for a path; the root is the empty string.

    Example:
        >>> pointer(["items", 0, "a/b"])
        '/items/0/a~1b'
    """
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in parts)


def required_message(name: object) -> str:
    """The one message for a missing field, whichever engine found it.

    Example:
        >>> required_message("text")
        '"text" is a required property'
    """
    return f"{orjson.dumps(name).decode()} is a required property"


def _plain(schema: Any) -> Any:
    """A private copy in plain dicts and lists: jsonschema-rs needs them, and the caller may mutate theirs."""
    if isinstance(schema, Mapping):
        return {key: _plain(value) for key, value in schema.items()}
    if isinstance(schema, list | tuple):
        return [_plain(item) for item in schema]
    return schema


def _model_errors(exc: pydantic.ValidationError) -> Iterator[_Error]:
    for error in exc.errors(include_url=False, include_input=False, include_context=False):
        path = list(error["loc"])
        if error["type"] == "missing" and path:
            yield path, required_message(path[-1]), "required"
        else:
            yield path, error["msg"], _PYDANTIC_KEYWORDS.get(error["type"], error["type"])


def _details(errors: Iterator[_Error]) -> list[dict[str, str]]:
    """The ``details`` of a ValidationError: at most MAX_ERRORS entries, sorted by path, messages shortened."""
    listed = list(islice(errors, MAX_ERRORS + 1))
    omitted = listed[MAX_ERRORS:]
    # Sorted by path, indexes numerically; entries for one path keep the engine's order (sorted() is stable).
    listed = sorted(listed[:MAX_ERRORS], key=lambda error: [(0, p) if isinstance(p, int) else (1, p) for p in error[0]])
    details = [
        {"path": pointer(path), "message": _shorten(message), "keyword": keyword} for path, message, keyword in listed
    ]
    if omitted:
        details.append(
            {"path": "", "message": f"only the first {MAX_ERRORS} errors are listed", "keyword": "truncated"}
        )
    return details


def _shorten(message: str) -> str:
    # Library messages quote the offending value; a megabyte string must not come back in full.
    return message if len(message) <= _MAX_MESSAGE else message[: _MAX_MESSAGE - 1] + "…"
