from __future__ import annotations

import dataclasses
import datetime
import functools
from types import MappingProxyType
from typing import Any

import pydantic
import pytest

from betrue.server import validation
from betrue.server.errors import ValidationError
from betrue.server.validation import ENGINES, MAX_ERRORS, Engine, SchemaError, compile_schema, pointer

MESSAGE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "room": {"type": "string", "minLength": 2},
        "text": {"type": "string", "maxLength": 10},
        "limit": {"type": "integer", "minimum": 1},
        "email": {"type": "string", "format": "email"},
        "items": {
            "type": "array",
            "items": {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]},
        },
    },
    "required": ["room", "text"],
    "additionalProperties": False,
}


@pytest.fixture(autouse=True, params=ENGINES)
def engine(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Engine:
    """Every test of this module runs with both engines: they must agree on all but the wording of messages."""
    chosen: Engine = request.param
    both = functools.partial(validation.compile_schema, engine=chosen)
    monkeypatch.setitem(globals(), "compile_schema", both)
    return chosen


def type_message(engine: Engine, value: str, expected: str) -> str:
    """The wording differs (jsonschema quotes like Python); the keyword and the pointer do not."""
    quote = '"' if engine == "jsonschema-rs" else "'"
    return f"{value} is not of type {quote}{expected}{quote}"


def details_of(validator: Any, value: Any) -> list[dict[str, str]]:
    with pytest.raises(ValidationError) as caught:
        validator.validate(value)
    assert caught.value.code == 400
    details: list[dict[str, str]] = caught.value.details
    return details


def test_valid_value_is_returned_as_is() -> None:
    check = compile_schema(MESSAGE_SCHEMA, where="chat/send")
    value = {"room": "r1", "text": "hi", "items": [{"name": "a"}]}
    assert check.validate(value) is value
    assert check.json_schema == MESSAGE_SCHEMA


def test_every_failing_field_is_listed_with_its_path(engine: Engine) -> None:
    check = compile_schema(MESSAGE_SCHEMA, where="chat/send")
    value = {
        "room": "r",
        "limit": 0,
        "email": "not-an-email",
        "items": [{"name": 1}, {}, {"name": "ok"}],
        "extra": True,
    }
    with pytest.raises(ValidationError) as caught:
        check.validate(value)
    assert caught.value.message == "Invalid input"
    assert [(d["path"], d["keyword"]) for d in caught.value.details] == [
        ("/email", "format"),
        ("/extra", "additionalProperties"),
        ("/items/0/name", "type"),
        ("/items/1/name", "required"),
        ("/limit", "minimum"),
        ("/room", "minLength"),
        ("/text", "required"),
    ]
    messages = {d["path"]: d["message"] for d in caught.value.details}
    assert messages["/items/0/name"] == type_message(engine, "1", "string")


def test_details_are_in_a_stable_order_with_numeric_indexes() -> None:
    check = compile_schema({"type": "array", "items": {"type": "integer"}}, where="stats/add")
    details = details_of(check, ["a"] * 12)
    assert [d["path"] for d in details] == [f"/{i}" for i in range(12)]
    assert details_of(check, ["a"] * 12) == details


def test_nested_paths_are_json_pointers(engine: Engine) -> None:
    schema = {
        "type": "object",
        "properties": {"a/b": {"type": "object", "properties": {"c~d": {"type": "array", "items": {"type": "null"}}}}},
    }
    details = details_of(compile_schema(schema, where="x/y"), {"a/b": {"c~d": [None, 0]}})
    assert details == [{"path": "/a~1b/c~0d/1", "message": type_message(engine, "0", "null"), "keyword": "type"}]


def test_root_errors_have_the_empty_path(engine: Engine) -> None:
    details = details_of(compile_schema({"type": "object"}, where="x/y"), [1])
    assert details == [{"path": "", "message": type_message(engine, "[1]", "object"), "keyword": "type"}]


def test_output_errors_say_output() -> None:
    check = compile_schema({"type": "integer"}, where="math/add", direction="output")
    with pytest.raises(ValidationError, match="Invalid output"):
        check.validate("3")


def test_errors_are_capped_and_messages_shortened() -> None:
    check = compile_schema({"type": "array", "items": {"type": "string"}}, where="bulk/put")
    details = details_of(check, list(range(MAX_ERRORS * 3)))
    assert len(details) == MAX_ERRORS + 1
    assert details[-1] == {
        "path": "",
        "message": f"only the first {MAX_ERRORS} errors are listed",
        "keyword": "truncated",
    }
    long_value = details_of(compile_schema({"type": "string"}, where="x/y"), ["x" * 100_000])
    assert len(long_value[0]["message"]) == 200


def test_non_json_python_values_are_checked_as_they_will_be_sent() -> None:
    check = compile_schema({"type": "object", "properties": {"at": {"type": "string"}}}, where="clock/now")
    at = datetime.datetime(2024, 5, 1, 12, 0, tzinfo=datetime.UTC)
    assert check.validate({"at": at}) == {"at": "2024-05-01T12:00:00+00:00"}
    strict = compile_schema({"type": "object", "properties": {"at": {"type": "integer"}}}, where="clock/now")
    assert [d["path"] for d in details_of(strict, {"at": at, "x": 1})] == ["/at"]


def test_formats_are_asserted() -> None:
    check = compile_schema({"type": "string", "format": "date-time"}, where="x/y")
    assert check.validate("2024-05-01T12:00:00Z") == "2024-05-01T12:00:00Z"
    assert details_of(check, "yesterday")[0]["keyword"] == "format"


def test_explicit_draft_is_honoured() -> None:
    draft7 = {"$schema": "http://json-schema.org/draft-07/schema#", "items": [{"type": "string"}]}
    check = compile_schema(draft7, where="legacy/cmd")
    assert check.validate(["a", 1]) == ["a", 1]
    assert details_of(check, [1])[0]["path"] == "/0"


def test_schema_is_copied_and_any_mapping_is_accepted() -> None:
    schema = {"type": "object", "required": ["a"]}
    check = compile_schema(MappingProxyType(schema), where="x/y")
    schema["required"] = ["b"]
    assert check.validate({"a": 1}) == {"a": 1}
    assert check.json_schema == {"type": "object", "required": ["a"]}


@pytest.mark.parametrize(
    ("schema", "fragment"),
    [
        ({"type": "strng"}, "input schema is invalid at /type"),
        ({"properties": {"a": {"minimum": "one"}}}, "at /properties/a/minimum"),
        ({"pattern": "("}, "at /pattern"),
        ({"$ref": "#/$defs/missing"}, "/$defs/missing"),
        ({"$ref": "https://example.com/remote.json"}, "https://example.com/remote.json"),
        ({"$schema": "https://example.com/my-meta"}, "https://example.com/my-meta"),
    ],
)
def test_bad_schema_fails_at_start_naming_where(schema: dict[str, Any], fragment: str) -> None:
    with pytest.raises(SchemaError) as caught:
        compile_schema(schema, where="chat/send")
    assert str(caught.value).startswith("chat/send: ")
    assert fragment in str(caught.value)
    assert caught.value.where == "chat/send"
    assert not isinstance(caught.value, ValidationError)


def test_output_schema_errors_say_output() -> None:
    with pytest.raises(SchemaError, match=r"^chat/send: output schema is invalid"):
        compile_schema({"type": 1}, where="chat/send", direction="output")


def test_unknown_schema_kind_is_a_schema_error() -> None:
    with pytest.raises(SchemaError, match=r"^chat/send: input schema must be .* not str"):
        compile_schema("string", where="chat/send")  # type: ignore[arg-type]


def test_none_lets_anything_through() -> None:
    check = compile_schema(None, where="echo/any")
    marker = object()
    for value in (None, 1, "x", [1], {"a": {"b": 1}}, marker):
        assert check.validate(value) is value
    assert check.json_schema == {}


class Item(pydantic.BaseModel):
    name: str
    qty: int = pydantic.Field(ge=1)


class Order(pydantic.BaseModel):
    id: int
    items: list[Item]
    note: str | None = None


class OrderWithSecret(Order):
    secret: str


def test_pydantic_input_gives_the_handler_a_model() -> None:
    check = compile_schema(Order, where="shop/order")
    order = check.validate({"id": 1, "items": [{"name": "tea", "qty": 2}]})
    assert isinstance(order, Order)
    assert order.items[0] == Item(name="tea", qty=2)


def test_pydantic_input_errors_use_the_same_shape() -> None:
    check = compile_schema(Order, where="shop/order")
    details = details_of(check, {"items": [{"name": 5, "qty": 0}, {"qty": 1}]})
    assert details == [
        {"path": "/id", "message": '"id" is a required property', "keyword": "required"},
        {"path": "/items/0/name", "message": "Input should be a valid string", "keyword": "type"},
        {"path": "/items/0/qty", "message": "Input should be greater than or equal to 1", "keyword": "minimum"},
        {"path": "/items/1/name", "message": '"name" is a required property', "keyword": "required"},
    ]
    assert details_of(check, [1]) == [
        {"path": "", "message": "Input should be a valid dictionary or instance of Order", "keyword": "type"}
    ]


def test_pydantic_output_accepts_a_model_or_a_dict_and_returns_json() -> None:
    check = compile_schema(Order, where="shop/order", direction="output")
    expected = {"id": 1, "items": [{"name": "tea", "qty": 2}], "note": None}
    assert check.validate(Order(id=1, items=[Item(name="tea", qty=2)])) == expected
    assert check.validate({"id": 1, "items": [{"name": "tea", "qty": 2}], "ignored": True}) == expected


def test_pydantic_output_does_not_leak_subclass_fields() -> None:
    check = compile_schema(Order, where="shop/order", direction="output")
    assert "secret" not in check.validate(OrderWithSecret(id=1, items=[], secret="s3cr3t"))


def test_pydantic_output_reads_attributes_of_other_objects() -> None:
    @dataclasses.dataclass
    class Row:
        id: int
        items: list[dict[str, Any]]

    check = compile_schema(Order, where="shop/order", direction="output")
    assert check.validate(Row(id=2, items=[{"name": "a", "qty": 1}]))["items"] == [{"name": "a", "qty": 1}]


def test_pydantic_output_errors_say_output() -> None:
    check = compile_schema(Order, where="shop/order", direction="output")
    with pytest.raises(ValidationError) as caught:
        check.validate({"id": "x", "items": []})
    assert caught.value.message == "Invalid output"
    assert caught.value.details == [
        {
            "path": "/id",
            "message": "Input should be a valid integer, unable to parse string as an integer",
            "keyword": "type",
        }
    ]


def test_pydantic_json_schema_is_for_docs() -> None:
    assert compile_schema(Order, where="shop/order").json_schema == Order.model_json_schema()
    output = compile_schema(Order, where="shop/order", direction="output").json_schema
    assert output == Order.model_json_schema(mode="serialization")
    assert output["required"] == ["id", "items"]


def test_pydantic_model_without_a_schema_fails_at_start() -> None:
    class Broken(pydantic.BaseModel):
        thing: Undefined  # type: ignore[name-defined]  # noqa: F821

    with pytest.raises(SchemaError, match=r"^shop/broken: input model .*Broken has no JSON Schema"):
        compile_schema(Broken, where="shop/broken")


def test_pointer_escapes_per_rfc_6901() -> None:
    assert pointer([]) == ""
    assert pointer(["a", 0, "b/c", "d~e", ""]) == "/a/0/b~1c/d~0e/"


def test_a_nested_unresolvable_ref_fails_at_start_not_at_a_request() -> None:
    schema = {"type": "object", "properties": {"a": {"$ref": "#/$defs/missing"}}}
    with pytest.raises(SchemaError, match=r"^chat/send: input schema .*/\$defs/missing"):
        compile_schema(schema, where="chat/send")
    defined = {"$defs": {"n": {"type": "integer"}}, "properties": {"a": {"$ref": "#/$defs/n"}}}
    assert compile_schema(defined, where="chat/send").validate({"a": 1}) == {"a": 1}
